"""Runtimes: what loads an export and trains it. The one place a kind of runtime is defined.

A runtime is a kind and a version, named "<kind>-<version>":

  python-2.21.0          TF Python 2.21.0: tf.saved_model.load and the signatures (the reference)
  python-session-2.21.0  TF Python 2.21.0: the TF1 session loader (the C++ loader TF Java and the C API use)
  java-1.1.0             TF Java 1.1.0, driven through JPype
  java-plain-1.1.0       TF Java 1.1.0 with no Python at all: java/'s TrainExport program, one JVM per run

Every runtime but plain Java runs in a worker process (worker.py has the protocol), started once
per harness session and reused for every case; the two Python kinds of one TF version share a
worker, run by that version's interpreter (venvs.py). To add a kind: a worker module serving a
worker.Host (or a class with start/run/stop, as PlainJavaRuntime), and an entry in KINDS. To
add a version: versions.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import faults, ipc
from .errors import HarnessError
from .interface import ZOO, Interface
from .trajectory import RESTORE_WAYS, Failure, Restore, RuntimeFailure, Trajectory
from .worker import STAGE_MARK

ROOT = Path(__file__).resolve().parent.parent
# A worker grows with every SavedModel it loads (TF keeps traced functions): a Python worker of the full
# matrix reached 2-3 GiB after ~70 exports and 8 of them exhausted 24 GiB (measured). Above this, a worker
# is restarted between cases (a TF Python worker starts in ~5-10 s).
WORKER_MEMORY = 3 << 29  # 1.5 GiB
# With N worker sets of ~7 workers each, per-worker budgets alone can still add up past the machine: when
# less than this is available, every worker of a set is restarted between its cases.
LOW_MEMORY = 4 << 30  # 4 GiB
DEFAULT_CALL_TIMEOUT = 900.0  # seconds one request may take before its worker is ended (generous: a cold load)


@dataclass(frozen=True)
class Kind:
    worker: str | None  # the module a worker process runs (None: the runtime runs its own processes)
    language: str  # kinds of one language and version share a worker
    what: str


KINDS = {
    "python": Kind("harness.python_worker", "python", "tf.saved_model.load and the signatures"),
    "python-session": Kind("harness.python_worker", "python", "the TF1 session loader (as TF Java and the C API)"),
    "java": Kind("harness.java_worker", "java", "TF Java through JPype"),
    "java-plain": Kind(None, "java", "TF Java from a plain Java program (java/, TrainExport): no Python, no JPype"),
}


def parse(name: str) -> tuple[str, str]:
    """"python-session-2.21.0" -> ("python-session", "2.21.0")."""
    for kind in sorted(KINDS, key=len, reverse=True):
        if name.startswith(kind + "-") and name[len(kind) + 1:]:
            return kind, name[len(kind) + 1:]
    raise HarnessError(f"runtime {name!r} is not <kind>-<version> with a kind in {sorted(KINDS)}")


def tensorflow_of(name: str) -> str:
    """The TensorFlow version a runtime runs ("" if unknown): TF Java versions bundle a native TF."""
    from .versions import TF_JAVA_NATIVE

    kind, version = parse(name)
    return TF_JAVA_NATIVE.get(version, "") if KINDS[kind].language == "java" else version


def names(tf_versions, java_versions, plain_java_versions=()) -> list[str]:
    """The runtimes of a matrix, in report column order."""
    return [f"{kind}-{v}" for v in tf_versions for kind in ("python", "python-session")] + \
        [f"java-{v}" for v in java_versions] + [f"java-plain-{v}" for v in plain_java_versions]


_resolved: dict[tuple, object] = {}
_resolving: dict[tuple, threading.Lock] = {}
_locks = threading.Lock()


def _once(key: tuple, make: Callable[[], object]):
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

    def __init__(self, language: str, version: str, cache_dir: Path, log: Path, threads: int,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT):
        self.language, self.version, self.cache_dir, self.log = language, version, cache_dir, log
        self.threads, self.call_timeout = threads, call_timeout
        self.name = f"{language}-{version}"
        self.process: subprocess.Popen | None = None
        self.channel: ipc.Channel | None = None
        self.facts: dict | None = None
        self.lock = threading.RLock()  # one request (or start) at a time per worker
        self.killed = False  # by kill(): never started again

    def _command_and_start(self) -> tuple[list[str], dict]:
        if self.language == "java":
            from . import javac, maven

            def resolve() -> list[str]:
                classpath = maven.classpath(self.version, self.cache_dir)
                return [*classpath, str(javac.classes(classpath, self.cache_dir))]

            return [sys.executable, "-m", "harness.java_worker"], {
                "op": "start", "classpath": _once(("classpath", self.version, str(self.cache_dir)), resolve)}
        from . import venvs

        return [str(venvs.interpreter(self.version, self.cache_dir)), "-m", "harness.python_worker"], {
            "op": "start", "threads": self.threads}

    def start(self) -> dict:
        """Starts the process and its runtime; HarnessError says why it cannot."""
        with self.lock:
            return self._start()

    def _start(self) -> dict:
        if self.process is not None:
            return self.facts
        if self.killed:
            raise HarnessError(f"{self.name}: not started again: the run was interrupted")
        command, hello = self._command_and_start()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ INFO/WARNING lines go to the log anyway
        if self.language == "java":
            # glibc serves large blocks (a 64 MiB tensor) with fresh mmaps, whose first touch costs as much
            # as three copies of the data; from the heap, a freed tensor's memory is reused warm.
            env.setdefault("MALLOC_MMAP_THRESHOLD_", str(1 << 30))
            env.setdefault("MALLOC_TRIM_THRESHOLD_", str(1 << 31))
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
        what = "the JVM" if self.language == "java" else f"TensorFlow {self.version}"
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
            raise HarnessError(f"{self.name}: worker error: {reply['error']}\n{reply.get('traceback', '')}")
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


class Runtime:
    """A runtime on its worker: runs the plan (trajectory.py), or serves a live session call by call."""

    def __init__(self, name: str, worker: Worker):
        self.name, self.worker = name, worker
        self.kind, self.version = parse(name)

    def start(self) -> dict:
        return self.worker.start()

    def run(self, saved_model: Path, data: dict[str, np.ndarray], steps: range, workdir: Path,
            interface: Interface = ZOO, restore: Restore | None = None) -> Trajectory:
        """The plan on `saved_model`, then its restore part if asked (one request per way, so a crash
        there loses only that way); a failure (a worker crash or timeout too) is in the Trajectory."""
        fault = faults.active(self.kind)  # None, unless a test planted one (faults.ENV)
        message = {"op": "run", "loader": self.kind, "saved_model": str(saved_model), "data": data,
                   "threads": self.worker.threads, "steps": (steps.start, steps.stop), "workdir": str(workdir),
                   "interface": interface.to_dict(), "fault": fault.name if fault else None}
        trajectory = self._request(message, steps.start)
        faults.damage_returned(fault, trajectory)
        if trajectory.failure and trajectory.failure.stage == "load" or restore is None:
            return trajectory
        for way in RESTORE_WAYS:
            prefix = getattr(restore, way)
            if prefix is not None:
                prefix = faults.damage_given(fault, way, prefix, workdir / f"restored-{way}")
                part = self._request({**message, "op": "restore", "way": way, "prefix": prefix,
                                      "steps": restore.steps, "workdir": str(workdir / f"restored-{way}")},
                                     restore.steps[0])
                faults.damage_returned(fault, part)
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

    def open_session(self, saved_model: Path, fault: str | None = None, tags=("serve",)) -> "SessionProxy":
        """A live session on `saved_model`'s meta graph tagged `tags`, in the worker (the SignatureSession
        protocol, trajectory.py).

        `fault`: a test-only planted fault of the runtime (java_worker.FAULTS)."""
        return SessionProxy(self, self.session_request("open", None, str(saved_model), fault=fault, tags=tags))

    def session_request(self, action: str, key: int | None, *args, fault: str | None = None, tags=("serve",)):
        try:
            reply = self.worker.request({"op": "session", "loader": self.kind, "action": action, "id": key,
                                         "args": args, "threads": self.worker.threads, "session_fault": fault,
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
        with `plain_java` ({"jar", "inputs"}: TrainExport's jar and .npy inputs), each beside a plain-Java step."""
        return self.worker.request({
            "op": "bench", "loader": self.kind, "saved_model": str(saved_model), "data": data, "calls": calls,
            "warmup": warmup, "sample_every": sample_every, "threads": self.worker.threads,
            "interface": interface.to_dict(), "plain_java": plain_java})

    def stop(self) -> None:
        self.worker.stop()


class PlainJavaRuntime:
    """TF Java V run by the TrainExport program in a JVM of its own per run: what a Java team runs.

    Its outputs must equal the JPype runtime's bit for bit (runner.check_export checks it)."""

    def __init__(self, name: str, cache_dir: Path, threads: int, call_timeout: float = DEFAULT_CALL_TIMEOUT):
        from .plain_java import Running

        self.name, self.cache_dir, self.threads, self.call_timeout = name, cache_dir, threads, call_timeout
        self.kind, self.version = parse(name)
        self.running = Running()  # its JVMs that run now

    def start(self) -> dict:
        from . import maven, plain_java

        maven.classpath(self.version, self.cache_dir)
        return {"jar": str(plain_java.jar(maven.api_version(self.version), self.cache_dir)), "java": plain_java.java_executable()}

    def run(self, saved_model: Path, data: dict[str, np.ndarray], steps: range, workdir: Path,
            interface: Interface = ZOO, restore=None) -> Trajectory:
        from . import plain_java

        trajectory = Trajectory(steps.start)
        # TrainExport trains from the export as shipped; restoring is the JPype runtime's check (same TF Java).
        trajectory.notes["no_restore"] = "the plain-Java program trains from the export; java-V checks restoring"
        try:
            done = plain_java.run(saved_model, data, interface, steps, workdir, self.version, self.cache_dir, self.threads,
                                  timeout=self.call_timeout, running=self.running)
        except plain_java.PlainJavaFailure as e:
            trajectory.failure = Failure(_plain_java_stage(str(e), interface), str(e))
            return trajectory
        trajectory.losses, trajectory.predictions = list(done.losses), done.predictions
        trajectory.metrics, trajectory.weights = done.metrics, done.weights
        trajectory.saver_checkpoint, trajectory.signature_checkpoint = done.saver_checkpoint, done.signature_checkpoint
        trajectory.notes["command"] = done.command
        trajectory.notes["tensorflow"] = done.tensorflow
        return trajectory

    def kill(self) -> None:
        """Ctrl-C: ends its JVMs now, and every JVM it would start from now on."""
        self.running.end()

    def stop(self) -> None:
        pass


def _plain_java_stage(message: str, interface: Interface) -> str:
    """The plan's stage a TrainExport failure happened in, from the message it prints."""
    if "cannot load the SavedModel" in message:
        return "load"
    if "Session.save(" in message:
        return "save"
    for stage, signature in (("predict", interface.predict), ("save_signature", interface.save),
                             ("weights", interface.get_weights)):
        if signature and f"signature {signature} " in message:
            return stage
    return "train"


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


class WorkerSet:
    """The runtimes one thread of cases uses: one worker per (language, version), shared by its kinds."""

    def __init__(self, runtime_names: list[str], cache_dir: Path, log_dir: Path, threads: int,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT, index: int = 0):
        self.workers: dict[tuple[str, str], Worker] = {}
        self.runtimes: dict[str, Runtime | PlainJavaRuntime] = {}
        for name in runtime_names:
            kind, version = parse(name)
            if KINDS[kind].worker is None:
                self.runtimes[name] = PlainJavaRuntime(name, cache_dir, threads, call_timeout)
                continue
            key = (KINDS[kind].language, version)
            if key not in self.workers:
                self.workers[key] = Worker(*key, cache_dir, log_dir / f"{key[0]}-{version}.{index}.log", threads,
                                           call_timeout)
            self.runtimes[name] = Runtime(name, self.workers[key])

    def start(self, on_error: Callable[[str, HarnessError], None]) -> dict[str, dict]:
        """Starts every worker, side by side; returns runtime -> facts of those that started (on_error for the others)."""
        # What starts: each worker once (it serves every kind of its language and version); plain Java itself.
        starter = {name: getattr(runtime, "worker", runtime) for name, runtime in self.runtimes.items()}
        outcome: dict[Worker | PlainJavaRuntime, dict | HarnessError] = {}

        def one(thing: Worker | PlainJavaRuntime) -> None:
            try:
                outcome[thing] = thing.start()
            except HarnessError as e:
                outcome[thing] = e

        things = list(dict.fromkeys(starter.values()))
        with ThreadPoolExecutor(max(1, len(things))) as pool:
            list(pool.map(one, things))
        facts = {}
        for name in self.runtimes:
            got = outcome[starter[name]]
            if isinstance(got, HarnessError):
                on_error(name, got)
            else:
                facts[name] = got
        return facts

    def recycle(self, budget: int = WORKER_MEMORY, low: int = LOW_MEMORY) -> list[str]:
        """Ends the workers whose RSS exceeds `budget` bytes, or all that run when the machine has less
        than `low` bytes available (they start again on their next request); returns their names.
        Called between cases: never under a live session."""
        short = available_memory() < low
        over = [w for w in self.workers.values() if w.rss() > (0 if short else budget)]
        for worker in over:
            worker.stop()
        return [w.name for w in over]

    def stop(self) -> None:
        stop([self])

    def kill(self) -> None:
        """Ctrl-C: every process of the set ends now (SIGKILL), and none starts again."""
        for worker in self.workers.values():
            worker.kill()
        for runtime in self.runtimes.values():
            if isinstance(runtime, PlainJavaRuntime):
                runtime.kill()


def available_memory() -> int:
    """MemAvailable of /proc/meminfo in bytes (a very large number where there is no /proc)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def stop(sets: list[WorkerSet]) -> None:
    """Ends every worker of `sets`: all are told first (their input closes), then each is waited for."""
    workers = [w for s in sets for w in s.workers.values()]
    for worker in workers:
        worker.close_input()
    for worker in workers:
        worker.stop()


def single(name: str, cache_dir: Path, log_dir: Path, threads: int = 1,
           call_timeout: float = DEFAULT_CALL_TIMEOUT) -> Runtime:
    """One runtime on a worker of its own (tests, replay, benchmarks)."""
    return WorkerSet([name], cache_dir, log_dir, threads, call_timeout).runtimes[name]
