"""The two Python runtimes: the TF2 object loader and the TF1 session loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from . import trajectory



class EagerSession:
    """`tf.saved_model.load`, calling the signatures: what Python users do. The reference."""

    def __init__(self, saved_model: Path):
        self.loaded = tf.saved_model.load(str(saved_model))
        self.signatures = self.loaded.signatures

    def call(self, signature, feeds):
        outputs = self.signatures[signature](**{k: tf.constant(v) for k, v in feeds.items()})
        return {k: v.numpy() for k, v in outputs.items()}

    def save_variables(self, directory: Path) -> str:
        # Re-export: what a Python user does to ship a model trained further.
        tf.saved_model.save(self.loaded, str(directory), signatures=dict(self.signatures))
        return str(directory / "variables" / "variables")

    def close(self):
        pass


class GraphSession:
    """The TF1 session loader: the same C++ SavedModel loader that TF Java and the C API use."""

    def __init__(self, saved_model: Path, threads: int):
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
        self.session = tf.compat.v1.Session(graph=tf.Graph(), config=config)
        meta_graph = tf.compat.v1.saved_model.loader.load(self.session, ["serve"], str(saved_model))
        self.signatures = meta_graph.signature_def
        self.saver = meta_graph.saver_def

    def call(self, signature, feeds):
        sig = self.signatures[signature]
        fetches = {k: t.name for k, t in sig.outputs.items()}
        return self.session.run(fetches, {sig.inputs[k].name: v for k, v in feeds.items()})

    def save_variables(self, directory: Path) -> str:
        directory.mkdir(parents=True, exist_ok=True)
        prefix = str(directory / "variables")
        self.session.run(self.saver.save_tensor_name, {self.saver.filename_tensor_name: np.array(prefix.encode())})
        return prefix

    def close(self):
        self.session.close()


def runtime_name(kind: str) -> str:
    """"python-2.21.0", "python-session-2.21.0": the expectations file of each is named after it."""
    return f"{kind}-{tf.__version__}"


class PythonRuntime:
    """A runtime of the harness process itself: "python" (TF2 loader) or "python-session" (TF1 loader)."""

    def __init__(self, kind: str, threads: int):
        if kind not in ("python", "python-session"):
            raise ValueError(kind)
        self.kind, self.threads = kind, threads
        self.name = runtime_name(kind)

    def start(self) -> dict:
        return {"tensorflow": tf.__version__}

    def run(self, saved_model: Path, data, steps: range, workdir: Path, save_signature: bool = True):
        if self.kind == "python":
            opener = lambda: EagerSession(saved_model)  # noqa: E731
        else:
            opener = lambda: GraphSession(saved_model, self.threads)  # noqa: E731
        return trajectory.run(opener, data, steps, workdir, save_signature)

    def stop(self) -> None:
        pass
