"""The TF Python runtimes' worker process, run by the interpreter of the TF version under test.

One worker per TF version hosts both Python loaders ("python": tf.saved_model.load and the
signatures; "python-session": the TF1 session loader, the C++ loader TF Java and the C API use);
another, in the same virtualenv, that version's TFLite (tflite.py); another, in a virtualenv of TF_PYTHON
beside ai-edge-litert X, LiteRT X (litert.py).
It imports only what that venv has: TensorFlow, numpy and this package's runtime-neutral modules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import worker


class PythonHost(worker.Host):
    def start(self, message: dict) -> dict:
        import logging

        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        logging.getLogger("absl").setLevel(logging.ERROR)  # "Importing a function ... custom gradients", per load
        threads = message["threads"]  # fixed before TensorFlow runs anything: part of what makes runs comparable
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        self.threads = threads
        import importlib

        from ..runs.venvs import modules

        # TensorFlow, Keras, tf-keras, numpy as this interpreter imports them, and what the kind names beside
        # them (litert.py: ai_edge_litert): a package that does not import is the worker's error, at start.
        also = {name: importlib.import_module(name).__version__ for name in message.get("modules", ())}
        return modules() | also

    def open(self, saved_model: Path, message: dict):
        from .python_runtime import EagerSession, GraphSession

        loader = message["loader"]  # the kind's (python.py, tflite.py, litert.py)
        if loader == "eager":  # re-exports only where that is what is checked (WorkerRuntime.run)
            return EagerSession(saved_model, worker.tags_of(message), reexport=message.get("reexport", False),
                                restoring=message.get("op") == "restore" and message.get("way") == "saver")
        if loader in ("tflite", "litert"):
            from .tflite_session import TFLiteSession, litert_interpreter, tf_lite_interpreter

            interpreter = litert_interpreter if loader == "litert" else tf_lite_interpreter
            return TFLiteSession(saved_model, self.threads, worker.tags_of(message), interpreter)
        return GraphSession(saved_model, self.threads, worker.tags_of(message))

    def echo(self, array: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        return tf.constant(array).numpy()


HOST = PythonHost  # what harness.testing.planted_worker wraps (test-only)

if __name__ == "__main__":
    worker.serve(PythonHost())
