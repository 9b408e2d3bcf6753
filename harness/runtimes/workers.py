"""Worker processes: one per runtime kind and version (shared by kinds that say so), started once per
harness session and reused for every case. worker.py is what runs inside; ipc.py carries the frames.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np

from . import ipc
from .. import resources
from ..errors import HarnessBug, HarnessError, one_line
from ..plan.interface import ZOO, Interface
from ..plan.trajectory import RESTORE_WAYS, Failure, Restore, RuntimeFailure, Trajectory
from .worker import STAGE_MARK
from .base import DEFAULT_CALL_TIMEOUT, Runtime, Setting

@dataclass(frozen=True)
class WorkerStart:
    command: list[str]
    hello: dict  # the start message
    what: str  # what starts, for errors: "the JVM", "TensorFlow 2.21.0"
    env: dict = field(default_factory=dict)  # set unless the harness's environment has it


_resolved: dict[tuple, object] = {}
_resolving: dict[tuple, threading.Lock] = {}
_locks = threading.Lock()


def once(key: tuple, make: Callable[[], object]):
    """make() once per harness process, its error too: worker sets starting side by side (-j N) wait for
    one Maven resolution (of a version that does not resolve, a few seconds of network each) instead of N."""
    with _locks:
        lock = _resolving.setdefault(key, threading.Lock())
    with lock:
        if key not in _resolved:
            try:
                _resolved[key] = make()
            except HarnessError as e:
                _resolved[key] = e
    found = _resolved[key]
    if isinstance(found, HarnessError):
        raise found
    return found


class WorkerLost(Exception):
    """The worker died or timed out: args are (the stage it was in, what happened)."""


class Worker:
    """One worker process, started on first use; after a crash or a timeout the next request starts a new one."""

    def __init__(self, name: str, starting: Callable[[], "WorkerStart"], log: Path, threads: int,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT):
        self.name, self.starting, self.log = name, starting, log
        self.threads, self.call_timeout = threads, call_timeout
        self.process: subprocess.Popen | None = None
        self.channel: ipc.Channel | None = None
        self.facts: dict | None = None
        self.lock = threading.RLock()  # one request (or start) at a time per worker
        self.killed = False  # by kill(): never started again

    def start(self) -> dict:
        """Starts the process and its runtime; HarnessError says why it cannot."""
        with self.lock:
            return self._start()

    def _start(self) -> dict:
        if self.process is not None:
            return self.facts
        if self.killed:
            raise HarnessError(f"{self.name}: not started again: the run was interrupted")
        starting = self.starting()
        command, hello, what = starting.command, starting.hello, starting.what
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(resources.import_root()), env.get("PYTHONPATH", "")] if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ INFO/WARNING lines go to the log anyway
        for key, value in starting.env.items():
            env.setdefault(key, value)
        # Large arrays travel in shared memory: one arena per direction, new for each process (ipc.py).
        requests, replies = ipc.Arena.create(f"{self.name}-requests"), ipc.Arena.create(f"{self.name}-replies")
        fds = tuple(a.fd for a in (requests, replies) if a is not None)
        if fds:
            env[ipc.ENV] = ",".join(map(str, fds))
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                                            start_new_session=True,  # its own group: a timeout ends it and its children
                                            pass_fds=fds)
        self.channel = ipc.Channel(self.process.stdin, self.process.stdout, requests, replies)
        if self.killed:  # Ctrl-C came while it was being started: kill() may have missed it
            self._end()
            raise HarnessError(f"{self.name}: not started: the run was interrupted")
        try:
            reply = self._exchange(hello, self.call_timeout)
        except (EOFError, BrokenPipeError, ipc.Timeout):
            self._end()
            raise HarnessError(f"{self.name}: the worker died while starting {what}; see {self.log}") from None
        if "error" in reply:
            self._end()
            raise HarnessError(f"{self.name}: {what} cannot start: {reply['error']}")
        self.facts = reply
        return reply

    def request(self, message: dict, timeout: float | None = None):
        """The worker's reply; WorkerLost (with the stage it was in) if it dies or times out."""
        with self.lock:
            self.start()
            mark = self.log.stat().st_size
            limit = timeout or self.call_timeout
            try:
                reply = self._exchange(message, limit)
            except (EOFError, BrokenPipeError):
                code = self.process.wait()
                self._forget()
                stage, tail = self._crash_report(mark)
                raise WorkerLost(stage, f"worker died (exit code {code}) during {stage}: {tail}") from None
            except ipc.Timeout:
                self._end()
                stage, _ = self._crash_report(mark)
                raise WorkerLost(stage, f"timeout: no answer within {limit:g} s (during {stage}); worker ended") from None
        if isinstance(reply, dict) and "error" in reply:  # the worker could not serve it at all: a harness bug
            raise HarnessBug(f"{self.name}: a bug in the harness's worker: {one_line(reply['error'])} "
                             f"(traceback: {self.log})")
        return reply

    def close_input(self) -> None:
        """Tells the worker to exit (it does once it has read everything): stop() then waits for it."""
        if self.process is not None:
            try:
                self.process.stdin.close()
            except OSError:  # it has gone already
                pass

    def stop(self) -> None:
        if self.process is not None:
            self.close_input()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._end()
            self._forget()

    def kill(self) -> None:
        """Ctrl-C: ends the process now and for good. Without the lock (a request may hold it): the
        thread waiting on the reply sees the worker die; stop() reaps it."""
        self.killed = True
        process = self.process
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def rss(self) -> int:
        """The worker's resident set size in bytes (0 when it is not running or /proc is missing)."""
        try:
            with open(f"/proc/{self.pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, TypeError, ValueError):
            return 0

    def _exchange(self, message: dict, timeout: float):
        self.channel.send(message)
        return self.channel.receive(timeout)

    def _end(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self._forget()

    def _forget(self) -> None:
        """The process has ended: its pipes and shared memory go with it."""
        if self.process is not None:
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:  # a broken pipe with data still buffered
                    pass
        if self.channel is not None:
            self.channel.close()
        self.process = self.channel = None
        self.facts = None

    def _crash_report(self, mark: int) -> tuple[str, str]:
        with open(self.log, "rb") as log:
            log.seek(mark)
            lines = log.read().decode(errors="replace").splitlines()
        stages = [l[len(STAGE_MARK):] for l in lines if l.startswith(STAGE_MARK)]
        tail = " | ".join(l for l in lines[-5:] if not l.startswith(STAGE_MARK))
        return (stages[-1] if stages else "load"), tail[-800:]


class WorkerRuntime(Runtime):
    """A kind whose runtime lives in a worker process (worker.py has the protocol), started once per harness
    session and reused for every case: runs the plan, or serves a live session call by call. Kinds with
    the same worker_key share one worker (the two Python loaders of one TF version)."""

    worker_module: ClassVar[str]  # the module the worker process runs (a worker.Host)
    loader: ClassVar[str] = ""  # what the worker opens, when it serves several kinds (python_worker)

    def __init__(self, name: str, version: str, setting: Setting):
        super().__init__(name, version, setting)
        key = self.worker_key(version)
        if key not in setting.workers:
            label = f"{key[0]}-{version}"
            setting.workers[key] = Worker(label, self.worker_start, setting.log_dir / f"{label}.{setting.index}.log",
                                          setting.threads, setting.call_timeout)
        self.worker = setting.workers[key]

    @classmethod
    def worker_key(cls, version: str) -> tuple[str, str]:
        """Kinds with the same key share a worker: (a name for its logs, the version)."""
        return (cls.kind, version)

    def worker_start(self) -> "WorkerStart":
        """How to start the worker: its command line, the start message, extra environment."""
        raise NotImplementedError

    def start(self) -> dict:
        return self.worker.start()

    def run(self, saved_model: Path, data: dict[str, np.ndarray], steps: range, workdir: Path,
            interface: Interface = ZOO, restore: Restore | None = None, variables_only: bool = False) -> Trajectory:
        """The plan on `saved_model`, then its restore part if asked (one request per way, so a crash
        there loses only that way); a failure (a worker crash or timeout too) is in the Trajectory.

        Python's saver re-exports the SavedModel (what a Python user ships) in the plan's own run only: that
        re-export is what checkpoint.saver and resume check. The restored parts' saves, and a run with
        `variables_only`, are only read back as variables: there it writes the same checkpoint alone
        (the same keys and values; a re-export costs ~0.3 s of tracing)."""
        message = {"op": "run", "loader": self.loader, "saved_model": str(saved_model), "data": data,
                   "threads": self.worker.threads, "steps": (steps.start, steps.stop), "workdir": str(workdir),
                   "interface": interface.to_dict(), "reexport": not variables_only}
        trajectory = self._request(message, steps.start)
        if trajectory.failure and trajectory.failure.stage == "load" or restore is None:
            return trajectory
        for way in RESTORE_WAYS:
            prefix = getattr(restore, way)
            if prefix is not None:
                part = self._request({**message, "op": "restore", "reexport": False, "way": way, "prefix": prefix,
                                      "steps": restore.steps, "workdir": str(workdir / f"restored-{way}")},
                                     restore.steps[0])
                trajectory.restored[way] = part
                leaked = part.notes.get("unreleased_native_pointers")
                if leaked is not None:
                    trajectory.notes["unreleased_native_pointers"] = \
                        trajectory.notes.get("unreleased_native_pointers", 0) + leaked
        return trajectory

    def _request(self, message: dict, first_step: int) -> Trajectory:
        try:
            return self.worker.request(message)
        except WorkerLost as e:
            trajectory = Trajectory(first_step)
            trajectory.failure = Failure(*e.args)
            return trajectory

    def open_session(self, saved_model: Path, tags=("serve",)) -> "SessionProxy":
        """A live session on `saved_model`'s meta graph tagged `tags`, in the worker (the SignatureSession
        protocol, trajectory.py)."""
        return SessionProxy(self, self.session_request("open", None, str(saved_model), tags=tags))

    def session_request(self, action: str, key: int | None, *args, tags=("serve",)):
        try:
            reply = self.worker.request({"op": "session", "loader": self.loader, "action": action, "id": key,
                                         "args": args, "threads": self.worker.threads,
                                         "interface": {"tags": list(tags)}})
        except WorkerLost as e:
            raise RuntimeFailure(f"{self.name}: {e.args[1]}") from None
        if "failure" in reply:
            raise RuntimeFailure(reply["failure"])
        return reply["value"]

    def echo(self, array: np.ndarray) -> np.ndarray:
        """The array after a round trip through the runtime's tensors (transfer tests and benchmarks)."""
        return self.worker.request({"op": "echo", "array": array})

    def bench(self, saved_model: Path, data: dict[str, np.ndarray], calls: int, warmup: int = 0,
              sample_every: int = 0, interface: Interface = ZOO, plain_java: dict | None = None) -> dict:
        """`calls` timed train steps of the plan in the worker, on one session (worker.bench has the fields);
        with `plain_java` ({"jar", "inputs"}: TrainExport's jar and .npy inputs), each beside a plain-Java step.
        RuntimeFailure when the runtime fails the step itself (worker.bench_or_failure)."""
        reply = self.worker.request({
            "op": "bench", "loader": self.loader, "saved_model": str(saved_model), "data": data, "calls": calls,
            "warmup": warmup, "sample_every": sample_every, "threads": self.worker.threads,
            "interface": interface.to_dict(), "plain_java": plain_java})
        if "failure" in reply:
            raise RuntimeFailure(f"{self.name}: {reply['failure']}")
        return reply

    def bench_step(self, saved_model: Path, data: dict[str, np.ndarray], calls: int, interface: Interface = ZOO) -> dict:
        us = self.bench(saved_model, data, calls, warmup=calls, interface=interface)["ns"] / 1000.0
        return {"calls": calls, "median_us": round(float(np.median(us)), 1), "mean_us": round(float(us.mean()), 1),
                "min_us": round(float(us.min()), 1)}

    def stop(self) -> None:
        self.worker.stop()


class SessionProxy:
    """A session living in a worker, driven call by call."""

    def __init__(self, runtime: Runtime, key: int):
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
        """Closes the session; returns how many native pointers its calls left alive (Java; must be 0)."""
        return self.runtime.session_request("close", self.key)


