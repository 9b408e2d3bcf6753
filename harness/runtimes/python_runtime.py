"""The two Python loaders as sessions: the TF2 object loader and the TF1 session loader.

Run inside a Python worker (python_worker.py) for the TF version under test; the stateful tests
also use EagerSession in the harness process itself (the pinned TF).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..plan.trajectory import with_variables


class EagerSession:
    """`tf.saved_model.load`, calling the signatures: what Python users do. The reference."""

    def __init__(self, saved_model: Path, tags=("serve",), reexport: bool = True, restoring: bool = False):
        """`restoring`: the first thing done is restore_variables, which loads the export with those variables:
        the load here is skipped (a restored part, after the plan's run loaded the same export)."""
        self.saved_model, self.reexport = Path(saved_model), reexport
        # Another tag set than serve only where the export has it: the reference's re-exports are tagged serve.
        self.tags = list(tags) if set(tags) != {"serve"} and set(tags) in _tag_sets(saved_model) else None
        if not restoring:
            self.loaded = tf.saved_model.load(str(saved_model), tags=self.tags)
            self.signatures = self.loaded.signatures

    def call(self, signature, feeds):
        outputs = self.signatures[signature](**{k: tf.constant(v) for k, v in feeds.items()})
        return {k: v.numpy() for k, v in outputs.items()}

    def save_variables(self, directory: Path) -> str:
        prefix = directory / "variables" / "variables"
        if self.reexport:  # what a Python user does to ship a model trained further
            tf.saved_model.save(self.loaded, str(directory), signatures=dict(self.signatures))
        else:  # the checkpoint of that re-export alone: what is read back as variables
            tf.train.Checkpoint(root=self.loaded).write(str(prefix))
        return str(prefix)

    def restore_variables(self, prefix: str) -> None:
        # The TF2 loader has no saver: what a Python user does is load the export with those variables.
        scratch = Path(tempfile.mkdtemp(prefix="restore-"))
        try:
            self.loaded = tf.saved_model.load(str(with_variables(self.saved_model, prefix, scratch / "export")), tags=self.tags)
            self.signatures = self.loaded.signatures
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def close(self):
        pass


def _tag_sets(saved_model: Path) -> list[set]:
    from ..certify.discover import read_saved_model

    return [set(m.meta_info_def.tags) for m in read_saved_model(saved_model)[1].meta_graphs]


class GraphSession:
    """The TF1 session loader: the same C++ SavedModel loader that TF Java and the C API use."""

    def __init__(self, saved_model: Path, threads: int, tags=("serve",)):
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
        self.session = tf.compat.v1.Session(graph=tf.Graph(), config=config)
        meta_graph = tf.compat.v1.saved_model.loader.load(self.session, list(tags), str(saved_model))
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

    def restore_variables(self, prefix: str) -> None:
        self.session.run(self.saver.restore_op_name, {self.saver.filename_tensor_name: np.array(prefix.encode())})

    def close(self):
        self.session.close()
