"""-j N: cases on N worker sets give the same report as -j 1 (apart from timings)."""

import json
import subprocess
import sys

import pytest

from harness.reports import report

from .conftest import CACHE, ROOT

pytestmark = pytest.mark.java


def test_parallel_run_reports_what_a_serial_run_reports(tmp_path, bundles):
    reports = {}
    for jobs in (1, 2):
        out = tmp_path / f"j{jobs}"
        done = subprocess.run([sys.executable, "-m", "harness", "conformance", "--spec", "mlp_regression", "--java",
                               "1.1.0", "-j", str(jobs), "--out", str(out), "--cache-dir", str(CACHE)],
                              cwd=ROOT, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
        reports[jobs] = report.reproducible(json.loads((out / "conformance.json").read_text()), out)
    assert len(reports[1]["results"]) > 0
    assert reports[1] == reports[2]


def test_a_worker_over_its_memory_budget_is_restarted_between_cases(tmp_path):
    import numpy as np

    from harness import runtimes
    from harness.runs.versions import TF_PYTHON

    name = f"python-{TF_PYTHON}"
    workers = runtimes.WorkerSet([name], CACHE, tmp_path, threads=1)
    try:
        workers.start(lambda runtime, error: pytest.fail(f"{runtime}: {error}"))
        worker = workers.runtimes[name].worker
        first = worker.pid
        assert worker.rss() > 0
        assert workers.recycle(budget=1 << 40) == [] and worker.pid == first  # under its budget: kept
        assert workers.recycle(budget=1) == [worker.name] and worker.pid is None  # over it: ended
        array = np.arange(6, dtype=np.float32)
        assert np.array_equal(workers.runtimes[name].echo(array), array)  # and back on the next request
        assert worker.pid not in (None, first)
        second = worker.pid
        assert 0 < runtimes.available_memory() < 1 << 50
        assert workers.recycle(budget=1 << 40, low=1 << 50) == [worker.name]  # the machine is short: all go
        workers.runtimes[name].echo(array)
        assert worker.pid not in (None, second)
    finally:
        workers.stop()
