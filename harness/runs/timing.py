"""Where a run's seconds go: per case and runtime, the seconds of each stage; the fixed cost apart.

A case's stages (check_export):
  reference, reference.repeat   the Python reference's uninterrupted run and its repeat (harness-driven calls)
  <worker stage>                load, train, predict, save, save_signature, weights, and restore.<way>.<stage>
                                of the restored parts, timed inside the runtime's worker (worker.run_plan)
  transfer                      a request's time beyond the worker's own stages: frames, shared memory, waiting
  resume                        Python resuming from what this runtime saved (charged to this runtime)
  compare                       the checks' comparisons, checkpoints read back included
The fixed cost (cli): worker starts (from the run's start, the sets side by side), and beside them this
process's imports and exports (built or found in the cache, validated). Report writing comes after the
report is made, so it is not in it (the HTML page takes ~5 s of matplotlib here).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from contextlib import contextmanager


class Clock:
    """Seconds per (runtime, stage), added from any thread."""

    def __init__(self):
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self._lock = threading.Lock()

    def add(self, runtime: str, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[(runtime, stage)] += seconds

    @contextmanager
    def stage(self, runtime: str, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(runtime, stage, time.perf_counter() - started)

    @contextmanager
    def checks(self, runtime: str):
        """The checks' own time (compare): the block's, without the resume it ran (a stage of its own)."""
        started, resumed = time.perf_counter(), self.seconds.get((runtime, "resume"), 0.0)
        try:
            yield
        finally:
            self.add(runtime, "compare",
                     time.perf_counter() - started - (self.seconds.get((runtime, "resume"), 0.0) - resumed))

    def request(self, runtime: str, seconds: float, worker_stages: dict[str, float]) -> None:
        """A run that took `seconds` here, of which its worker reports `worker_stages` (none: a runtime
        without a worker, the C program or plain Java, whose whole run is one stage)."""
        if not worker_stages:
            self.add(runtime, "run", seconds)
            return
        for stage, s in worker_stages.items():
            self.add(runtime, stage, s)
        self.add(runtime, "transfer", max(0.0, seconds - sum(worker_stages.values())))

    def rows(self, exporter: str, case: str) -> list[dict]:
        return [{"exporter": exporter, "case": case, "runtime": runtime, "stage": stage, "seconds": round(s, 4)}
                for (runtime, stage), s in sorted(self.seconds.items())]


class NoClock(Clock):
    """What check_export times with when nobody asked (tests, certify's probes): nothing is kept."""

    def add(self, runtime: str, stage: str, seconds: float) -> None:
        pass


class Stopwatch:
    """In a worker: the seconds of each stage named by on_stage (the time until the next stage or the end)."""

    def __init__(self, on_stage):
        self.on_stage, self.seconds = on_stage, defaultdict(float)
        self._stage, self._since = None, 0.0

    def __call__(self, stage: str) -> None:
        self._lap()
        self._stage, self._since = stage, time.perf_counter()
        self.on_stage(stage)

    def _lap(self) -> None:
        if self._stage is not None:
            self.seconds[self._stage] += time.perf_counter() - self._since

    def stop(self) -> dict[str, float]:
        self._lap()
        self._stage = None
        return dict(self.seconds)


def table(timings: dict) -> str:
    """Stage x runtime seconds of a report's timings, each stage's share of the cases' total, the fixed cost apart."""
    rows = timings.get("cases", [])
    runtimes = sorted({r["runtime"] for r in rows})
    by = defaultdict(float)
    for r in rows:
        stage = r["stage"]
        if stage.startswith("restore.") and stage.count(".") >= 2:  # restore.<way>.<stage>: the part as one row
            stage = ".".join(stage.split(".")[:2])
        by[(stage, r["runtime"])] += r["seconds"]
    total = sum(by.values()) or 1.0
    stages = sorted({s for s, _ in by}, key=lambda s: -sum(v for (t, _), v in by.items() if t == s))
    width = max([len("stage"), *map(len, stages)])
    lines = [f"{'stage':<{width}}  " + "  ".join(f"{rt:>22}" for rt in runtimes) + "   share",
             "-" * (width + 2 + 24 * len(runtimes) + 7)]
    for s in stages:
        cells = "  ".join(f"{by.get((s, rt), 0.0):>21.1f}s" for rt in runtimes)
        lines.append(f"{s:<{width}}  {cells}  {100 * sum(by.get((s, rt), 0.0) for rt in runtimes) / total:5.1f}%")
    cases = len({(r["exporter"], r["case"]) for r in rows})
    lines.append(f"cases: {cases}, {total:.1f} s of stages in all (summed over -j sets)")
    fixed, starts = timings.get("fixed", {}), timings.get("starts", {})
    if fixed:  # the workers start first, so this process's imports and exports run beside them
        lines.append(f"fixed: worker starts {fixed.get('worker starts', 0.0):.1f} s wall, beside this process's "
                     f"imports {fixed.get('imports', 0.0):.1f} s and exports {fixed.get('exports', 0.0):.1f} s")
    if starts:
        lines.append("  starts: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(starts.items(), key=lambda kv: -kv[1])))
    return "\n".join(lines)
