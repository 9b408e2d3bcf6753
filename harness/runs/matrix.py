"""A run: exports x runtimes, on N worker sets in parallel (`-j N`).

Each worker set holds one worker per (language, version) of the run; one thread per set takes the
next export and runs all its checks there, so N cases run at once, each on its own processes.
Results come back in export order whatever finished first: the report does not depend on N.

Ctrl-C (KeyboardInterrupt in the main thread; SIGTERM raises it too, cli/main.py) kills every worker and plain-Java JVM at once, lets the
threads see their processes die, and raises Interrupted with the results of the exports that had
finished: the caller reports those, marked partial.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from .runner import Export, Result, check_export
from .timing import Clock
from ..runtimes import DEFAULT_CALL_TIMEOUT, WorkerSet, stop


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: `results` of the exports that finished before it (and the setup's), `facts`."""

    def __init__(self, results: list[Result], facts: dict[str, dict]):
        super().__init__()
        self.results, self.facts = results, facts


class Starting:
    """`count` worker sets starting in the background: a run starts them first, so TensorFlows and JVMs come
    up while this process imports its own TensorFlow and reads the exports (the run's fixed cost overlaps)."""

    def __init__(self, runtime_names: list[str], count: int, *, cache_dir: Path, log_dir: Path, threads: int,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT, kinds: dict | None = None):
        self.runtime_names, self.log_dir = runtime_names, log_dir
        self.sets = [WorkerSet(runtime_names, cache_dir, log_dir, threads, call_timeout, i, kinds)
                     for i in range(max(1, count))]
        self.errors: dict[str, str] = {}
        self._began = time.perf_counter()
        self._pool = ThreadPoolExecutor(len(self.sets), thread_name_prefix="start")
        self._started = [self._pool.submit(s.start, self._failed) for s in self.sets]

    def _failed(self, name: str, e: Exception) -> None:  # one line in the report; the whole message in a log
        text = str(e)
        if "\n" in text:
            log = self.log_dir / f"{name}.setup.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(text)
            text = f"{text.splitlines()[0]} (log: {log})"
        self.errors.setdefault(name, text)

    def wait(self, timings: dict) -> dict[str, dict]:
        """Waits until every set has started; facts per runtime of the first set."""
        started = [f.result() for f in self._started]
        self._pool.shutdown()
        timings["worker starts"] = time.perf_counter() - self._began  # wall: the sets start side by side
        timings["starts"] = {name: max(s.start_seconds[name] for s in self.sets) for name in self.runtime_names}
        return {name: started[0].get(name) or {"error": self.errors.get(name, "did not start")}
                for name in self.runtime_names}

    def kill(self) -> None:
        """Ctrl-C or an error before the run: every process ends now (a start under way sees it die)."""
        for s in self.sets:
            s.kill()
        self._pool.shutdown(wait=True)
        stop(self.sets)


def run(exports: list[Export], runtime_names: list[str], *, jobs: int, cache_dir: Path, workdir: Path, log_dir: Path,
        threads: int,
        call_timeout: float = DEFAULT_CALL_TIMEOUT, tolerance=lambda runtime, test_id, exporter: 0.0,
        band=lambda runtime, exporter: None, kinds: dict | None = None,
        on_started: Callable[[Export], None] = lambda export: None,
        on_finished: Callable[[Export, list[Result]], None] = lambda export, results: None,
        timings: dict | None = None, starting: Starting | None = None) -> tuple[list[Result], dict[str, dict]]:
    """Every check of every export; returns the results and, per runtime, its facts (or why it did not start).

    `starting`: the worker sets, started ahead (Starting); by default started here, min(jobs, exports) of them.
    `timings`, if given, gets "cases" (per export, runtime and stage, timing.Clock.rows), "case seconds" (each
    export's wall), "worker starts" (the wall seconds until every set had started, from Starting's creation)
    and "starts" (per runtime, the slowest set's seconds)."""
    timings = {} if timings is None else timings
    timings.setdefault("cases", [])
    timings.setdefault("case seconds", [])
    count = max(1, min(jobs, len(exports)))
    starting = starting or Starting(runtime_names, count, cache_dir=cache_dir, log_dir=log_dir, threads=threads,
                                    call_timeout=call_timeout, kinds=kinds)
    sets, errors = starting.sets, starting.errors
    stopping = threading.Event()
    pool = ThreadPoolExecutor(count)  # not `with`: its exit waits for the cases, Ctrl-C must not
    facts: dict[str, dict] = {}
    setup: list[Result] = []
    futures = []
    try:
        facts = starting.wait(timings)  # JVMs and TensorFlows start side by side
        if len(sets) > count:  # started ahead for more exports than there turned out to be
            stop(sets[count:])
            sets = sets[:count]
        ready = [name for name in runtime_names if name not in errors]
        setup = [Result(name, "", "setup", False, errors[name]) for name in runtime_names if name in errors]
        free: queue.Queue[WorkerSet] = queue.Queue()
        for s in sets:
            free.put(s)

        def one(export: Export) -> list[Result] | None:
            """The export's results; None when the run was interrupted before they were complete."""
            if stopping.is_set():
                return None
            workers = free.get()
            try:
                on_started(export)
                clock, began = Clock(), time.perf_counter()
                out = _check(export, workers, ready, errors, workdir, tolerance, band, clock)
                timings["cases"] += clock.rows(export.exporter, export.name)
                timings["case seconds"].append({"exporter": export.exporter, "case": export.name,
                                                "seconds": round(time.perf_counter() - began, 3)})
            except Exception:
                if stopping.is_set():  # its workers were killed under it: what it raised is not a result
                    return None
                raise
            finally:
                workers.recycle()  # memory stays bounded over a long run
                free.put(workers)
            if stopping.is_set():  # it may have seen its workers die: not a result either
                return None
            on_finished(export, out)
            return out

        futures = [pool.submit(one, export) for export in exports]
        results = list(setup)
        for future in futures:
            results += future.result()
        return results, facts
    except KeyboardInterrupt:
        # a second Ctrl-C (or a SIGTERM after it) must not cut the cleanup short
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            stopping.set()  # before the kill: a case that sees its workers die knows it is not a result
            for s in sets:
                s.kill()
            pool.shutdown(wait=True, cancel_futures=True)
            finished = [f.result() for f in futures if not f.cancelled()]
            raise Interrupted(setup + [r for out in finished if out is not None for r in out], facts) from None
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    finally:
        pool.shutdown(wait=True)
        stop(sets)  # every worker told at once: their shutdowns overlap


def _check(export: Export, workers: WorkerSet, ready: list[str], errors: dict, workdir: Path, tolerance,
           band, clock: Clock) -> list[Result]:
    python = export.reference_runtime
    if python not in ready:  # no reference, nothing to compare with
        why = errors.get(python, f"{python} is not among the runtimes of this run")
        return [Result(python, export.name, "reference", False, f"the reference runtime is not available: {why}",
                       exporter=export.exporter)]
    return check_export(export, [workers.runtimes[name] for name in ready], workers.runtimes[python],
                        workdir / export.exporter / export.name, tolerance, band, clock)
