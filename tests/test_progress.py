"""Progress: one line per export in logs, a live bar on a terminal; counts stay right across threads."""

import io
import re
import threading

from harness.reports import progress
from harness.runs import runner

from .synthetic import standard


class Terminal(io.StringIO):
    def isatty(self):
        return True


def results_of(case: str) -> list[dict]:
    r = standard().report()
    return [x for x in r["results"] if x["case"] == case and x["exporter"] == "2.21.0"]


def test_plain_lines_one_per_export(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    out = io.StringIO()  # not a terminal
    cases = ["cnn.tf_keras", "mlp_regression.tf_keras", "mlp_regression.keras3_module"]
    with progress.Progress(len(cases), out) as p:
        for case in cases:
            p.started(f"{case}@2.21.0")
            p.finished(f"{case}@2.21.0", results_of(case))
    lines = out.getvalue().splitlines()
    assert len(lines) == len(cases)
    for i, (line, case) in enumerate(zip(lines, cases), 1):
        mine = results_of(case)
        passed = sum(x["outcome"] == "PASS" for x in mine)
        failed = sum(x["outcome"] in ("FAIL", "XPASS") for x in mine)
        assert re.fullmatch(rf"\[{i}/3\] {re.escape(case)}@2\.21\.0: {passed} passed, {failed} failed(, .*)? \(\d+\.\d s\)", line), line
    assert "expected failures" in lines[2] and "blocked" in lines[2]


def test_ci_gets_plain_lines_even_on_a_terminal(monkeypatch):
    monkeypatch.setenv("CI", "true")
    out = Terminal()
    with progress.Progress(1, out) as p:
        p.started("a")
        p.finished("a", [])
    assert out.getvalue() == "[1/1] a: 0 passed, 0 failed (0.0 s)\n"


def test_unclassified_results_count_by_passed():
    results = [runner.Result("python", "a", "load", True), runner.Result("python", "a", "train.loss", False, "x"),
               runner.Result("python", "a", "predict", None, "blocked", outcome="BLOCKED")]
    assert progress.tally(results) == "1 passed, 1 failed, 1 blocked"


def test_threads_finishing_together(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    out = io.StringIO()
    total, ok = 60, [{"outcome": "PASS"}] * 3
    with progress.Progress(total, out) as p:
        def work(i):
            p.started(f"case{i}")
            p.finished(f"case{i}", ok + ([{"outcome": "FAIL"}] if i % 7 == 0 else []))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(total)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == total  # no line lost or interleaved
    assert sorted(int(re.match(r"\[(\d+)/60\]", l)[1]) for l in lines) == list(range(1, total + 1))
    assert p.done == total and p.counts["PASS"] == 3 * total and p.counts["FAIL"] == len(range(0, total, 7))
    assert not p.running


def test_live_bar_on_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    out = Terminal()
    with progress.Progress(2, out) as p:
        assert p.live
        p.started("cnn.tf_keras@2.21.0")
        p.finished("cnn.tf_keras@2.21.0", results_of("cnn.tf_keras"))
        p.started("lstm.keras3_archive@2.21.0")
        p.finished("lstm.keras3_archive@2.21.0", results_of("lstm.keras3_archive"))
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # without the terminal's control codes
    assert "FAILED cnn.tf_keras@2.21.0" in screen  # a failing export is printed above the bar
    assert "2/2" in screen and "done" in screen
    passed = sum(x["outcome"] == "PASS" for c in ("cnn.tf_keras", "lstm.keras3_archive") for x in results_of(c))
    assert f"{passed} passed" in screen
    assert "[1/2]" not in screen  # not the plain lines
