"""A runtime kind added as docs/contributing.md says a newcomer adds one: this module, and its line in the registry
(test_architecture installs it with monkeypatch). It is the TF1 session loader again, under a name of
its own, so the conformance checks must all pass bit-exactly on it."""

import sys

from harness.runtimes import Capabilities, WorkerRuntime, WorkerStart


class SessionAgain(WorkerRuntime):
    kind = "session-again"
    what = "the TF1 session loader, in a worker of its own (a test's kind)"
    capabilities = Capabilities(sessions=True)
    worker_module = "harness.runtimes.python_worker"
    loader = "graph"

    def worker_start(self) -> WorkerStart:
        return WorkerStart([sys.executable, "-m", self.worker_module], {"op": "start", "threads": self.setting.threads},
                           f"TensorFlow {self.version} (the harness's own)")
