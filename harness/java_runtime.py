"""The harness side of the TF Java runtime: one worker process per session, restarted after a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import ipc, maven
from .errors import HarnessError
from .java_worker import STAGE_MARK
from .trajectory import Failure, Trajectory


class JavaRuntime:
    def __init__(self, version: str, cache_dir: Path, log_dir: Path, threads: int):
        self.version = version
        self.name = f"java-{version}"
        self.cache_dir, self.log_dir, self.threads = cache_dir, log_dir, threads
        self.process: subprocess.Popen | None = None
        self.facts: dict = {}  # versions reported by the JVM side

    def start(self) -> dict:
        """Resolves the jars and starts the worker and its JVM; HarnessError says why it cannot."""
        if self.process is None:
            classpath = maven.classpath(self.version, self.cache_dir)
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.log = self.log_dir / f"{self.name}.worker.log"
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen([sys.executable, "-m", "harness.java_worker"], stdin=subprocess.PIPE,
                                                stdout=subprocess.PIPE, stderr=log, env=env)
            try:
                reply = self._request({"op": "start", "classpath": classpath})
            except (EOFError, BrokenPipeError):
                self.process.wait()
                self.process = None
                raise HarnessError(f"{self.name}: the worker died while starting the JVM; see {self.log}") from None
            if "error" in reply:
                self.stop()
                raise HarnessError(f"{self.name}: the JVM cannot start: {reply['error']}")
            self.facts = reply
        return self.facts

    def run(self, saved_model: Path, data: dict[str, np.ndarray], steps: range, workdir: Path,
            save_signature: bool = True) -> Trajectory:
        self.start()
        mark = self.log.stat().st_size
        try:
            reply = self._request({"op": "run", "saved_model": str(saved_model), "data": data, "threads": self.threads,
                                   "steps": (steps.start, steps.stop), "workdir": str(workdir),
                                   "save_signature": save_signature})
        except (EOFError, BrokenPipeError):
            code = self.process.wait()
            self.process = None  # the next case starts a fresh worker
            stage, tail = self._crash_report(mark)
            trajectory = Trajectory(steps.start)
            trajectory.failure = Failure(stage, f"TF Java worker died (exit code {code}) during {stage}: {tail}")
            return trajectory
        if isinstance(reply, dict):  # the worker could not run the plan at all: a harness bug, not a finding
            raise HarnessError(f"{self.name}: worker error: {reply['error']}\n{reply.get('traceback', '')}")
        return reply

    def open_session(self, saved_model: Path) -> "JavaSessionProxy":
        """A live TF Java session on `saved_model`, driven call by call (see JavaSessionProxy)."""
        self.start()
        return JavaSessionProxy(self, self.session_request("open", None, str(saved_model)))

    def session_request(self, action: str, key: int | None, *args):
        try:
            reply = self._request({"op": "session", "action": action, "id": key, "args": args, "threads": self.threads})
        except (EOFError, BrokenPipeError):
            self.process.wait()
            self.process = None
            raise JavaFailure(f"TF Java worker died during {action}; see {self.log}") from None
        if "error" in reply:
            raise HarnessError(f"{self.name}: worker error: {reply['error']}")
        if "failure" in reply:
            raise JavaFailure(reply["failure"])
        return reply["value"]

    def echo(self, array: np.ndarray) -> np.ndarray:
        """The array after a round trip through a TF Java tensor (transfer tests and benchmarks)."""
        self.start()
        reply = self._request({"op": "echo", "array": array})
        if isinstance(reply, dict):
            raise HarnessError(f"{self.name}: worker error: {reply['error']}")
        return reply

    def stop(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=60)
            self.process = None

    def _request(self, message: dict):
        ipc.send(self.process.stdin, message)
        return ipc.receive(self.process.stdout)

    def _crash_report(self, mark: int) -> tuple[str, str]:
        with open(self.log, "rb") as log:
            log.seek(mark)
            lines = log.read().decode(errors="replace").splitlines()
        stages = [l[len(STAGE_MARK):] for l in lines if l.startswith(STAGE_MARK)]
        tail = " | ".join(l for l in lines[-5:] if not l.startswith(STAGE_MARK))
        return (stages[-1] if stages else "load"), tail[-800:]


class JavaFailure(Exception):
    """TF Java failed at something it was asked to do: a finding, not a harness error."""


class JavaSessionProxy:
    """The SignatureSession protocol (trajectory.py) for a session living in the Java worker."""

    def __init__(self, runtime: JavaRuntime, key: int):
        self.runtime, self.key = runtime, key

    def call(self, signature: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.runtime.session_request("call", self.key, signature, feeds)

    def save_variables(self, directory: Path) -> str:
        return self.runtime.session_request("save_variables", self.key, directory)

    def restore_variables(self, prefix: str) -> None:
        self.runtime.session_request("restore_variables", self.key, prefix)

    def export(self, directory: Path) -> str:
        return self.runtime.session_request("export", self.key, directory)

    def close(self) -> int:
        """Closes the session; returns how many native pointers its calls left alive (must be 0)."""
        return self.runtime.session_request("close", self.key)
