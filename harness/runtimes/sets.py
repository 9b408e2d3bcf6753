"""Worker sets: the runtimes one thread of cases uses (`-j N` runs N sets side by side)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from ..errors import HarnessError
from .base import DEFAULT_CALL_TIMEOUT, Runtime, Setting
from .registry import KINDS, parse
from .workers import Worker

# A worker grows with every SavedModel it loads (TF keeps traced functions): a Python worker of the full
# matrix reached 2-3 GiB after ~70 exports and 8 of them exhausted 24 GiB (measured). Above this, a worker
# is restarted between cases (a TF Python worker starts in ~5-10 s).
WORKER_MEMORY = 3 << 29  # 1.5 GiB
# With N worker sets of ~7 workers each, per-worker budgets alone can still add up past the machine: when
# less than this is available, every worker of a set is restarted between its cases.
LOW_MEMORY = 4 << 30  # 4 GiB


class WorkerSet:
    """The runtimes one thread of cases uses, each made by its kind (registry.py); kinds that share a
    worker (WorkerRuntime.worker_key) get one."""

    def __init__(self, runtime_names: list[str], cache_dir: Path, log_dir: Path, threads: int,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT, index: int = 0, kinds: dict | None = None):
        """`kinds`: kinds to use in place of the registry's (a test's planted fault, faults.planted_kinds)."""
        setting = Setting(cache_dir, log_dir, threads, call_timeout, index)
        self.workers: dict[tuple[str, str], Worker] = setting.workers
        self.runtimes: dict[str, Runtime] = {}
        self.start_seconds: dict[str, float] = {}  # runtime -> seconds its worker (or itself) took to start
        for name in runtime_names:
            kind, version = parse(name)
            self.runtimes[name] = {**KINDS, **(kinds or {})}[kind](name, version, setting)

    def start(self, on_error: Callable[[str, HarnessError], None]) -> dict[str, dict]:
        """Starts every worker, side by side; returns runtime -> facts of those that started (on_error for the others)."""
        # What starts: each worker once (it serves every kind that shares it); other kinds themselves.
        starter = {name: getattr(runtime, "worker", runtime) for name, runtime in self.runtimes.items()}
        outcome: dict[object, dict | HarnessError] = {}
        took: dict[object, float] = {}

        def one(thing) -> None:
            started = time.perf_counter()
            try:
                outcome[thing] = thing.start()
            except HarnessError as e:
                outcome[thing] = e
            took[thing] = time.perf_counter() - started

        things = list(dict.fromkeys(starter.values()))
        with ThreadPoolExecutor(max(1, len(things))) as pool:
            list(pool.map(one, things))
        facts = {}
        for name in self.runtimes:
            self.start_seconds[name] = took[starter[name]]
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
           call_timeout: float = DEFAULT_CALL_TIMEOUT, kinds: dict | None = None) -> Runtime:
    """One runtime on a worker of its own (tests, replay, benchmarks)."""
    return WorkerSet([name], cache_dir, log_dir, threads, call_timeout, kinds=kinds).runtimes[name]
