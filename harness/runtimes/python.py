"""TF Python X's two loaders, in one worker run by X's interpreter (venvs.py); python_worker.py serves them.

  python-X          tf.saved_model.load and the signatures: the reference of every export X wrote
  python-session-X  the TF1 session loader: the C++ loader TF Java and the C API use
"""

from __future__ import annotations

from .base import Capabilities
from .workers import WorkerRuntime, WorkerStart


class _Python(WorkerRuntime):
    worker_module = "harness.runtimes.python_worker"
    loader: str  # which session python_worker opens: "eager" (EagerSession) or "graph" (GraphSession)

    @classmethod
    def worker_key(cls, version: str) -> tuple[str, str]:
        return ("python", version)  # both loaders of one TF version share a worker

    def worker_start(self) -> WorkerStart:
        from ..runs import venvs

        return WorkerStart([str(venvs.interpreter(self.version, self.setting.cache_dir)), "-m", self.worker_module],
                           {"op": "start", "threads": self.setting.threads}, f"TensorFlow {self.version}")


class Python(_Python):
    kind = "python"
    what = "tf.saved_model.load and the signatures (the reference)"
    loader = "eager"
    capabilities = Capabilities(sessions=True, benchmark_step=True)


class PythonSession(_Python):
    kind = "python-session"
    what = "the TF1 session loader (the C++ loader TF Java and the C API use)"
    loader = "graph"
    capabilities = Capabilities(sessions=True, benchmark_step=True)
