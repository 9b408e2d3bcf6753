"""-j N: cases on N worker sets give the same report as -j 1 (apart from timings)."""

import json
import subprocess
import sys

import pytest

from harness import report

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
