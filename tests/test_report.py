"""The console summary, the JSON report, JUnit and merging CI shards: pure functions on JSON dicts."""

import copy
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from harness.plan import compare
from harness.reports import report, report_files
from harness.runs import runner
from harness.runs.expectations import Expectation

from .conftest import ROOT
from .synthetic import RUNTIMES, ci_sized, small_run, standard


def matrix_rows(text: str, runtimes) -> dict[tuple[str, str], list[str]]:
    """(exporter, case) -> the symbols of the console matrix, read back by column position."""
    lines = text.splitlines()
    rule = next(i for i, l in enumerate(lines) if set(l.replace(" ", "")) == {"-"})
    starts = [0] + [i + 2 for i, (a, b) in enumerate(zip(lines[rule], lines[rule][1:])) if a == " " and b == " " and
                    lines[rule][i + 2] == "-"]
    rows = {}
    for line in lines[rule + 1:]:
        if not line.strip():
            break
        fields = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        exporter, case, symbols = fields[0], fields[1], fields[2:]
        assert len(symbols) == len(runtimes), line
        rows[(exporter, case)] = symbols
    return rows


def test_the_matrix_says_what_each_cell_holds():
    s = standard()
    r = s.report()
    text = report.table(r["results"], r["runtimes"])
    rows = matrix_rows(text, RUNTIMES)
    assert len(rows) == 1 + len({(e, c) for e, c, _ in s.expected})  # the setup row, then one row per export
    symbol = {"exact": "=", "xfail": "x", "fail": "FAIL", "xpass": "XPASS", "blocked": "-", "na": "n/a", "none": "."}
    for (exporter, case, runtime), state in s.expected.items():
        got = rows[(exporter, case)][RUNTIMES.index(runtime)]
        if state == "within":
            assert got == f"~{max(s.ulps[(exporter, case, runtime)])}", (exporter, case, runtime)
        else:
            assert got == symbol[state], (exporter, case, runtime, state)
    assert rows[("", report.SETUP_ROW)] == ["", "", "", "x"]  # java-1.2.0 cannot start (listed); the others started
    # Rows in canonical order: exporters by version, then cases.
    order = [k for k in rows if k[1] != report.SETUP_ROW]
    assert order == sorted(order, key=lambda k: (report.version_key(k[0]), k[1]))


def test_console_details_unexpected_results_and_one_paragraph_per_expected_entry():
    r = standard().report()
    text = report.table(r["results"], r["runtimes"])
    assert "Legend: = bit-exact" in text
    failing = [x for x in r["results"] if x["outcome"] in ("FAIL", "XPASS")]
    unexpected = text[text.index("Unexpected results"):text.index("Expected failures")]
    for x in failing:  # each one, with its id and detail
        assert f"{x['outcome']:5} {x['id']}: {x['detail']}" in unexpected
    assert ("listed as expected failure in expectations/expected_failures.toml (*.keras3_archive.checkpoint.saver): it passes "
            "now; remove the entry (python -m harness expectations update)") in unexpected
    expected = text[text.index("Expected failures"):]
    entries = {(x["runtime"], x["expectation"]["case"]) for x in r["results"] if x["outcome"] == "XFAIL"}
    assert expected.count("  XFAIL ") == len(entries)
    assert "XFAIL java-1.1.0/*.keras3_module.train.loss x1: Keras 3 variables in a tf.Module" in expected
    assert text.splitlines()[-1] == report.summary_line(r["results"])
    passed = sum(x["outcome"] == "PASS" for x in r["results"])
    assert text.splitlines()[-1].startswith(f"{passed} passed, {len(failing)} failed, ")
    assert "PASS" not in unexpected.replace("XPASS", "")  # passing checks are not listed one by one


def test_the_ci_subset_fits_in_a_hundred_lines():
    r = ci_sized(40).report()
    assert len(r["results"]) > 800  # as many checks as the table this summary replaces
    text = report.table(r["results"], r["runtimes"])
    assert len(text.splitlines()) <= 100, len(text.splitlines())
    assert max(map(len, text.splitlines()[:50])) <= 100


def test_cell_state_takes_the_worst_outcome_and_the_largest_ulp():
    def res(outcome, verdict=None, ulp=0):
        return {"outcome": outcome, "comparison": {"verdict": verdict, "max_ulp": ulp} if verdict else None}

    exact, within = res("PASS", "bit-exact"), res("PASS", "within-tolerance", 7)
    assert report.cell_state([exact, within, res("PASS", "within-tolerance", 3), res("N/A")]) == ("within", 7)
    assert report.cell_state([exact, res("N/A")]) == ("exact", 0)
    assert report.cell_state([res("PASS")]) == ("pass", 0)
    assert report.cell_state([res("N/A"), res("N/A")]) == ("na", 0)
    assert report.cell_state([]) == ("none", 0)
    assert report.cell_state([exact, res("XFAIL"), res("BLOCKED")])[0] == "xfail"
    assert report.cell_state([exact, res("BLOCKED")])[0] == "blocked"
    assert report.cell_state([res("XFAIL"), res("XPASS")])[0] == "xpass"
    assert report.cell_state([res("XPASS"), res("FAIL", "diverged", 9)])[0] == "fail"
    assert report.cell_symbol("within", 7) == "~7" and report.cell_symbol("within", 2**63 - 1) == "~9e18"


def test_outcome_names_are_the_runners():
    assert (report.PASS, report.FAIL, report.XFAIL, report.XPASS, report.BLOCKED, report.NOT_APPLICABLE) == \
        (runner.PASS, runner.FAIL, runner.XFAIL, runner.XPASS, runner.BLOCKED, runner.NOT_APPLICABLE)


def results_objects():
    """Result objects as the runner makes them (classified), for to_json / to_junit."""
    entry = Expectation("*.keras3_module.train.loss", "Could not find", "Keras 3 in a tf.Module",
                        ("https://github.com/tensorflow/tensorflow/issues/72963",), ROOT / "expectations/expected_failures.toml",
                        runtime="java-1.1.0")
    exact = compare.compare({"step 0": 1.0}, {"step 0": 1.0})
    return [
        runner.Result("java-1.2.0", "", "setup", False, "java-1.2.0: cannot resolve", outcome="FAIL"),
        runner.Result("python-2.21.0", "mlp.tf_keras", "train.loss", True, exact.summary(), exact, outcome="PASS"),
        runner.Result("java-1.1.0", "mlp.keras3_module", "train.loss", False, "Could not find variable", outcome="XFAIL",
                      expectation=entry),
        runner.Result("java-1.1.0", "mlp.keras3_module", "predict", None, "blocked by mlp.keras3_module.train.loss",
                      outcome="BLOCKED"),
        runner.Result("java-1.1.0", "mlp.tf_keras", "train.loss", True, "ok", exact, outcome="XPASS", expectation=entry),
        runner.Result("java-1.1.0", "mlp.tf_keras", "checkpoint.signature", None, "no save", outcome="N/A"),
    ]


def test_junit_from_json_of_results_objects():
    results = results_objects()
    as_json = report.to_json(results, {}, 1.0, runtimes=["python-2.21.0", "java-1.1.0", "java-1.2.0"])
    suites = {s.get("name"): s for s in ET.fromstring(report.junit_from_json(as_json).split("\n", 1)[1])}
    assert list(suites) == ["python-2.21.0", "java-1.1.0", "java-1.2.0"]  # column order
    java = suites["java-1.1.0"]
    assert (java.get("tests"), java.get("failures"), java.get("skipped")) == ("4", "1", "3")
    xpass = java.find("testcase[@classname='java-1.1.0.mlp.tf_keras'][@name='train.loss']/failure")
    assert xpass.get("message") == "expected to fail (expected_failures.toml: *.keras3_module.train.loss) but passed: remove the entry"
    xfail = java.find("testcase[@classname='java-1.1.0.mlp.keras3_module'][@name='train.loss']/skipped")
    assert xfail.get("message").startswith("expected failure: Keras 3 in a tf.Module https://github.com/")
    setup = suites["java-1.2.0"].find("testcase[@classname='java-1.2.0.runtime'][@name='setup']/failure")
    assert setup.text == "java-1.2.0: cannot resolve"
    results[1].exporter = "2.15.1"  # with an exporter, its cases are told apart from the same case of another
    python = ET.fromstring(report.junit_from_json(report.to_json(results, {}, 0.0)).split("\n", 1)[1]).find(
        "testsuite[@name='python-2.21.0']")
    assert python.find("testcase").get("classname") == "python-2.21.0.mlp.tf_keras@2.15.1"


def test_to_json_keeps_the_meaning_and_adds_exporter_and_columns():
    results = results_objects()
    out = report.to_json(results, {"cpu": "x"}, 3.14159, runtimes=["python-2.21.0", "java-1.1.0", "java-1.2.0"])
    assert out["seconds"] == 3.1 and out["ok"] is False and out["summary"] == dict(report.counts(results))
    assert out["runtimes"] == ["python-2.21.0", "java-1.1.0", "java-1.2.0"] and out["trajectories"] == []
    assert "drift" not in out
    by_id = {r["id"]: r for r in out["results"]}
    assert set(by_id) == {f"{r.runtime}/{r.test_id}" for r in results}  # no exporter yet: the ids of today
    r = by_id["java-1.1.0/mlp.keras3_module.train.loss"]
    assert r["exporter"] == "" and r["expectation"]["links"] == ["https://github.com/tensorflow/tensorflow/issues/72963"]
    assert by_id["python-2.21.0/mlp.tf_keras.train.loss"]["comparison"]["verdict"] == "bit-exact"
    json.dumps(out)  # serialisable as is
    # With an exporter (the runner's next Result field), ids lead with it.
    res = results[1]
    res.exporter = "2.15.1"
    assert report.result_json(res)["id"] == "2.15.1/python-2.21.0/mlp.tf_keras.train.loss"


def test_a_run_writes_json_junit_and_html_from_results(tmp_path):
    results = results_objects()
    runtimes = ["python-2.21.0", "java-1.1.0", "java-1.2.0"]
    json_path, junit_path = report_files.write(tmp_path, results, {"cpu": "x"}, 2.0, runtimes=runtimes)
    written = json.loads(json_path.read_text())
    assert written == json.loads(json.dumps(report.to_json(results, {"cpu": "x"}, 2.0, runtimes=runtimes)))
    assert junit_path.read_text() == report.junit_from_json(written)
    assert "mlp.keras3_module" in (tmp_path / "index.html").read_text()
    text = report.table(results, runtimes)  # the console summary straight from Result objects
    assert text.splitlines()[-1] == report.summary_line(results) == report.summary_line(written["results"])
    assert "FAIL  java-1.2.0/setup: java-1.2.0: cannot resolve" in text


def shards_by_case(full: dict, n: int) -> list[dict]:
    """Splits a report as CI would: each shard runs some exports in every runtime (and sets every runtime up)."""
    cases = sorted({(x["exporter"], x["case"]) for key in ("results", "trajectories", "drift") for x in full[key] if x["case"]})
    shards = []
    for i in range(n):
        mine = set(cases[i::n])
        take = lambda x: (x.get("exporter", ""), x["case"]) in mine  # noqa: E731
        results = [r for r in full["results"] if take(r) or not r["case"]]  # setup: in every shard
        seconds = round(full["seconds"] - 0.1 * (n - 1), 1) if i == n - 1 else 0.1  # adds up to the whole's
        shards.append(report.to_json(results, full["environment"], seconds, runtimes=full["runtimes"],
                                     trajectories=[t for t in full["trajectories"] if take(t)],
                                     drift=[d for d in full["drift"] if take(d)]))
    return shards


def test_merging_shards_gives_the_unsharded_report():
    full = standard().report()
    shards = shards_by_case(full, 3)
    assert all(s["results"] != full["results"] for s in shards)
    merged = report.merge(shards)
    assert merged == full
    assert report.merge(shards[::-1]) == full  # the order of the inputs does not matter
    assert report.junit_from_json(merged) == report.junit_from_json(full)
    assert sum(r["id"] == "java-1.2.0/setup" for r in merged["results"]) == 1


def test_merge_recomputes_ok_and_unites_environments():
    full = standard().report()
    shards = shards_by_case(full, 2)
    for shard in shards:
        shard["ok"], shard["summary"] = True, {}  # what a shard says of itself is not trusted
    merged = report.merge(shards)
    assert merged["ok"] is False and merged["summary"] == full["summary"]
    for shard in shards:
        shard["results"] = [r for r in shard["results"] if r["outcome"] not in ("FAIL", "XPASS")]
    assert report.merge(shards)["ok"] is True

    # Shards by runtime: each knows its own runtimes; on another CPU, the CPU becomes the list of both.
    a, b = copy.deepcopy(full), copy.deepcopy(full)
    a["environment"]["runtimes"] = {"java-1.1.0": {"tensorflow": "2.18.0"}}
    b["environment"]["runtimes"] = {"python-2.21.0": {"tensorflow": "2.21.0"}}
    b["environment"]["cpu"] = "Other CPU"
    env = report.merge([a, b])["environment"]
    assert env["runtimes"] == {"java-1.1.0": {"tensorflow": "2.18.0"}, "python-2.21.0": {"tensorflow": "2.21.0"}}
    assert env["cpu"] == ["Synthetic CPU @ 1 GHz", "Other CPU"] and env["tensorflow_python"] == "2.21.0"
    assert report.merge([a, b])["seconds"] == round(a["seconds"] + b["seconds"], 1)


def test_the_first_copy_of_a_duplicated_result_stays_unless_a_later_one_fails():
    full = standard().report()
    copies = [copy.deepcopy(full) for _ in range(3)]
    for i, c in enumerate(copies):
        next(r for r in c["results"] if r["id"] == "java-1.2.0/setup")["detail"] = f"copy {i}"
    merged = report.merge(copies)
    assert next(r for r in merged["results"] if r["id"] == "java-1.2.0/setup")["detail"] == "copy 0"


def test_merge_keeps_the_columns_the_shards_name_in_their_order():
    full = standard().report()
    shards = shards_by_case(full, 2)
    for shard in shards:
        shard["runtimes"] = shard["runtimes"][::-1]
    merged = report.merge(shards)
    assert merged["runtimes"] == full["runtimes"][::-1] != full["runtimes"]
    assert merged["results"] == report.canonical(full["results"], merged["runtimes"])


def test_a_failing_copy_of_a_duplicated_result_wins():
    full = standard().report()
    a, b = copy.deepcopy(full), copy.deepcopy(full)
    setup = next(r for r in b["results"] if r["id"] == "java-1.2.0/setup")
    setup["outcome"], setup["expectation"] = "FAIL", None
    for first, second in ((a, b), (b, a)):
        merged = report.merge([first, second])
        assert next(r for r in merged["results"] if r["id"] == "java-1.2.0/setup")["outcome"] == "FAIL"
        assert merged["ok"] is False and len(merged["results"]) == len(full["results"])


def test_columns_of_a_report_written_before_the_runtimes_key():
    r = standard().report()
    assert r["results"][0]["runtime"] == "java-1.2.0"  # its setup result comes first
    old = {k: v for k, v in r.items() if k != "runtimes"}
    assert report.columns(old) == list(RUNTIMES)  # as the runtimes ran the exports, the reference first
    assert report.to_json(old["results"], {}, 0.0)["runtimes"] == list(RUNTIMES)


def test_canonical_order():
    r = standard().report()
    keys = [(report.version_key(x["exporter"]), x["case"], r["runtimes"].index(x["runtime"])) for x in r["results"]]
    assert keys == sorted(keys)
    assert report.version_key("2.9.0") < report.version_key("2.15.1") < report.version_key("2.21.0")
    first = next(x for x in r["results"] if x["case"])
    assert first["check"] == "reference"  # checks keep the runner's order
    assert [t["role"] for t in r["trajectories"][:2]] == ["reference", "runtime"]


def harness(*args):
    code = ("import sys; from harness.cli.main import main; status = main(sys.argv[1:]); "
            "assert 'tensorflow' not in sys.modules, 'report must not need TensorFlow'; sys.exit(status)")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_report_command_merges_shards_without_tensorflow(tmp_path):
    full = standard().report()
    paths = []
    for i, shard in enumerate(shards_by_case(full, 2)):
        paths.append(tmp_path / f"shard{i}.json")
        paths[-1].write_text(json.dumps(shard))
    done = harness("report", *paths, "--out", tmp_path / "merged")
    assert done.returncode == 1, done.stderr  # the synthetic report has unexpected results
    assert json.loads((tmp_path / "merged" / "conformance.json").read_text()) == json.loads(json.dumps(full))
    assert (tmp_path / "merged" / "junit.xml").read_text() == report.junit_from_json(full)
    assert (tmp_path / "merged" / "index.html").read_text().count("<svg") >= 1
    assert done.stdout.startswith("Conformance: ") and report.summary_line(full["results"]) in done.stdout

    ok = {**full, "results": [r for r in full["results"] if r["outcome"] not in ("FAIL", "XPASS")]}
    (tmp_path / "ok.json").write_text(json.dumps(ok))
    done = harness("report", tmp_path / "ok.json", "--out", tmp_path / "single")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "single").iterdir()) == ["index.html"]  # one input: nothing to merge

    (tmp_path / "bad.json").write_text("{}")
    done = harness("report", tmp_path / "bad.json", "--out", tmp_path / "bad")
    assert done.returncode == 2 and f"{tmp_path / 'bad.json'}: not a conformance report" in done.stderr


@pytest.mark.parametrize("n", [1, 4])
def test_merge_of_one_report_is_itself(n):
    full = standard().report()
    assert report.merge(shards_by_case(full, n)) == full


def test_trajectories_carry_role_check_first_step_and_exact_losses():
    import numpy as np

    losses = [np.float32(0.1), np.float32(1 / 3)]
    results = [runner.Result("python-2.21.0", "m.r", "reference", True, notes={"losses": losses}, exporter="2.21.0"),
               runner.Result("java-1.1.0", "m.r", "train.loss", True, notes={"losses": losses}, exporter="2.21.0"),
               runner.Result("java-1.1.0", "m.r", "restore.saver.loss", True,
                             notes={"losses": losses[1:], "first_step": 5}, exporter="2.21.0"),
               runner.Result("java-1.1.0", "m.r", "predict", True, exporter="2.21.0")]  # no losses: no trajectory
    got = report.trajectories_of(results)
    assert [(t["runtime"], t["check"], t["role"], t["first_step"]) for t in got] == [
        ("python-2.21.0", "reference", "reference", 0), ("java-1.1.0", "train.loss", "runtime", 0),
        ("java-1.1.0", "restore.saver.loss", "runtime", 5)]
    assert got[0]["losses"] == [float(np.float32(0.1)), float(np.float32(1 / 3))] and got[0]["dtype"] == "float32"
    assert all(t["exporter"] == "2.21.0" and t["case"] == "m.r" for t in got)


def test_reproducible_keeps_results_and_drops_only_what_may_differ(tmp_path):
    full = standard().report()
    assert any(r["outcome"] == "XFAIL" for r in full["results"])
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    a, b = copy.deepcopy(full), copy.deepcopy(full)
    a["seconds"], b["seconds"] = 1.0, 2.0
    passed = next(i for i, r in enumerate(full["results"]) if r["outcome"] == "PASS")
    a["results"][passed]["detail"] += f" see {out_a}/work"
    b["results"][passed]["detail"] += f" see {out_b}/work"
    xfail = next(i for i, r in enumerate(full["results"]) if r["outcome"] == "XFAIL")
    a["results"][xfail]["detail"], b["results"][xfail]["detail"] = "missing spec/kernel", "missing spec/bias"
    assert report.reproducible(a, out_a) == report.reproducible(b, out_b)  # timings, folders, wording
    kept = report.reproducible(a, out_a)
    assert "seconds" not in kept and "see <out>/work" in kept["results"][passed]["detail"]
    assert "detail" not in kept["results"][xfail] and kept["results"][xfail]["outcome"] == "XFAIL"
    unsettled = {(r["exporter"], r["case"]) for r in full["results"] if r["outcome"] == "XFAIL"}
    assert kept["trajectories"] == [t for t in full["trajectories"] if (t["exporter"], t["case"]) not in unsettled]
    assert kept["trajectories"]  # the others stay
    for change in ("outcome", "comparison"):  # a difference in what a check found is never dropped
        c = copy.deepcopy(a)
        passing = next(r for r in c["results"] if r["outcome"] == "PASS" and r.get("comparison"))
        passing[change] = "FAIL" if change == "outcome" else None
        assert report.reproducible(c, out_a) != kept
    settled = next(t for t in a["trajectories"] if (t["exporter"], t["case"]) not in unsettled)
    settled["losses"][0] += 1.0
    assert report.reproducible(a, out_a) != kept


SMALL_COLUMNS = ["python-2.21.0", "java-1.1.0", "java-1.2.0"]

# The console summary of synthetic.small_run(), as a reader sees it: the format is specified here.
SMALL_TABLE = """\
Conformance: 3 exports x 3 runtimes (one symbol per export and runtime: all its checks)

                         python  java   java
exporter  export         2.21.0  1.1.0  1.2.0
--------  -------------  ------  -----  -----
          runtime setup                 x
2.9.0     m.a            =       ~3     .
2.21.0    m.b            =       FAIL   .
2.21.0    m.c            ok      XPASS  .

Legend: = bit-exact; ~N within tolerance, at most N ulp;
        dN drift: another TF (or TFLite) rounds differently, within the band, at most N ulp;
        ok passed, nothing compared; x expected failure; FAIL failed;
        XPASS listed as expected failure but passed; - blocked by an earlier failure;
        n/a not applicable; . not run (setup row: blank = started).
Tolerance: 0 ulp unless expectations/tolerances.toml gives the case its own (harness/plan/compare.py);
a runtime of another TF than the exporter's may drift within the cross-version band of each dtype.

Unexpected results (2):
  FAIL  2.21.0/java-1.1.0/m.b.train.loss: diverged at step 2
  XPASS 2.21.0/java-1.1.0/m.c.train.loss: ok
        listed as expected failure in expectations/expected_failures.toml (m.c.*): it passes now; remove the entry (python -m harness expectations update)

Expected failures (expectations/expected_failures.toml):
  XFAIL java-1.2.0/setup x1: not on Maven Central https://example.org/a
        e.g. java-1.2.0/setup: Maven: 404
  XFAIL java-1.1.0/m.c.* x1: Could not find variable https://example.org/b https://example.org/c
        e.g. 2.21.0/java-1.1.0/m.c.predict: FAILED_PRECONDITION: Could not find variable d/k

5 passed, 2 failed, 2 expected failures, 1 blocked, 1 not applicable"""

SMALL_JUNIT = """\
<?xml version='1.0' encoding='utf-8'?>
<testsuites name="tf-training-conformance">
  <testsuite name="python-2.21.0" tests="4" failures="0" skipped="1">
    <testcase classname="python-2.21.0.m.a@2.9.0" name="train.loss" />
    <testcase classname="python-2.21.0.m.b@2.21.0" name="train.loss" />
    <testcase classname="python-2.21.0.m.c@2.21.0" name="load" />
    <testcase classname="python-2.21.0.m.c@2.21.0" name="restore">
      <skipped message="no restore signature" />
    </testcase>
  </testsuite>
  <testsuite name="java-1.1.0" tests="6" failures="2" skipped="2">
    <testcase classname="java-1.1.0.m.a@2.9.0" name="train.loss" />
    <testcase classname="java-1.1.0.m.a@2.9.0" name="predict" />
    <testcase classname="java-1.1.0.m.b@2.21.0" name="train.loss">
      <failure message="diverged at step 2">diverged at step 2</failure>
    </testcase>
    <testcase classname="java-1.1.0.m.b@2.21.0" name="predict">
      <skipped message="blocked by train.loss" />
    </testcase>
    <testcase classname="java-1.1.0.m.c@2.21.0" name="train.loss">
      <failure message="expected to fail (expected_failures.toml: m.c.*) but passed: remove the entry" />
    </testcase>
    <testcase classname="java-1.1.0.m.c@2.21.0" name="predict">
      <skipped message="expected failure: Could not find variable https://example.org/b https://example.org/c" />
    </testcase>
  </testsuite>
  <testsuite name="java-1.2.0" tests="1" failures="0" skipped="1">
    <testcase classname="java-1.2.0.runtime" name="setup">
      <skipped message="expected failure: not on Maven Central https://example.org/a" />
    </testcase>
  </testsuite>
</testsuites>
"""


def test_the_console_summary_of_a_small_run_reads_exactly_so():
    assert report.table(small_run(), SMALL_COLUMNS) == SMALL_TABLE
    # Without exporters (a user's export checked by `certify`), the exporter column goes.
    results = [r for r in small_run() if r.exporter == "2.9.0"]
    for r in results:
        r.exporter = ""
    lines = report.table(results, SMALL_COLUMNS[:2]).splitlines()
    assert lines[2:6] == ["        python  java",
                          "export  2.21.0  1.1.0",
                          "------  ------  -----",
                          "m.a     =       ~3"]


def test_junit_of_a_small_run_reads_exactly_so():
    assert report.junit_from_json(report.to_json(small_run(), {}, 0.0, runtimes=SMALL_COLUMNS)) == SMALL_JUNIT


def test_a_cell_within_tolerance_shows_its_ulps_in_at_most_five_characters():
    assert [report.cell_symbol("within", n) for n in (0, 9_999, 10_000, 123_456_789)] == ["~0", "~9999", "~1e04", "~1e08"]


def test_versions_order_as_pypi_orders_them():
    versions = ["2.22.0", "", "2.22.0rc0", "2.9.0", "2.15.1", "not-a-version"]
    assert sorted(versions, key=report.version_key) == ["", "not-a-version", "2.9.0", "2.15.1", "2.22.0rc0", "2.22.0"]


def test_column_titles_split_at_the_version():
    assert [report.column_title(rt) for rt in ("java-1.1.0+native-1.2.0", "python-session-2.21.0", "java-plain")] == [
        ("java", "1.1.0+native-1.2.0"), ("python-session", "2.21.0"), ("java-plain", "")]


def test_a_report_that_lacks_a_field_is_named_with_what_it_lacks():
    full = standard().report()
    assert report.problem(full) is None
    assert report.problem([]) == "not a JSON object"
    assert report.problem({"results": []}) == "no environment, seconds, trajectories"
    broken = copy.deepcopy(full)
    del broken["results"][3]["exporter"]
    assert report.problem(broken) == "results[3] has no exporter (written by another version of the harness?)"
    broken = copy.deepcopy(full)
    del broken["trajectories"][0]["first_step"], broken["trajectories"][0]["role"]
    assert report.problem(broken).startswith("trajectories[0] has no role, first_step")
    broken = {**copy.deepcopy(full), "drift": {}}
    assert report.problem(broken) == "'drift' is not a list"


def test_report_command_in_process(tmp_path, capsys):
    """`report` / `merge` as main() runs them: merged files, console summary, exit status, bad input."""
    from harness.cli.main import main

    full = report.to_json(small_run(), {"cpu": "x"}, 1.5, runtimes=SMALL_COLUMNS, trajectories=[])
    full = json.loads(json.dumps(full))
    shards = [{**full, "results": [r for r in full["results"] if r["case"] in cases]} for cases in (("", "m.a"), ("m.b", "m.c"))]
    paths = []
    for i, shard in enumerate(shards):
        paths.append(tmp_path / f"shard{i}.json")
        paths[-1].write_text(json.dumps(shard))
    assert main(["merge", *map(str, paths), "--out", str(tmp_path / "merged")]) == 1  # FAIL and XPASS in it
    out = capsys.readouterr().out
    assert out.startswith(SMALL_TABLE)
    merged = json.loads((tmp_path / "merged" / "conformance.json").read_text())
    assert merged == {**full, "seconds": 3.0}  # the shards' seconds add up
    assert (tmp_path / "merged" / "junit.xml").read_text() == SMALL_JUNIT
    assert out.splitlines()[-1] == "reports: " + " ".join(str(tmp_path / "merged" / f) for f in
                                                        ("conformance.json", "junit.xml", "index.html"))

    ok = {**full, "results": [r for r in full["results"] if r["outcome"] not in report.FAILING]}
    (tmp_path / "ok.json").write_text(json.dumps(ok))
    assert main(["report", str(tmp_path / "ok.json"), "--out", str(tmp_path / "single")]) == 0
    assert sorted(p.name for p in (tmp_path / "single").iterdir()) == ["index.html"]
    capsys.readouterr()

    (tmp_path / "old.json").write_text(json.dumps({**full, "trajectories": [{"case": "m.a"}]}))
    assert main(["report", str(tmp_path / "ok.json"), str(tmp_path / "old.json"), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'old.json'}: not a conformance report (trajectories[0] has no exporter")
    assert not (tmp_path / "bad").exists()  # nothing written from bad input
    assert main(["report", str(tmp_path / "missing.json"), "--out", str(tmp_path / "bad")]) == 2
    assert f"{tmp_path / 'missing.json'}: not a conformance report" in capsys.readouterr().err


def test_the_console_summary_follows_the_columns_it_is_given_and_fits_each_title():
    results = small_run() + [runner.Result("python-session-2.21.0", "m.a", "train.loss", True, "ok",
                                           compare.Comparison(compare.BIT_EXACT), "PASS", exporter="2.9.0")]
    columns = ["java-1.2.0", "python-session-2.21.0", "java-1.1.0", "python-2.21.0"]
    lines = report.table(results, columns).splitlines()
    assert lines[2].split() == ["java", "python-session", "java", "python"]  # as given, not as the results ran
    assert lines[3].split() == ["exporter", "export", "1.2.0", "2.21.0", "1.1.0", "2.21.0"]
    # Each column as wide as its widest line: "python-session" over "2.21.0", "runtime setup" among the exports.
    assert [len(rule) for rule in lines[4].split()] == [len("exporter"), len("runtime setup"), 5, len("python-session"), 5, 6]


def test_only_an_xpass_is_told_to_remove_its_entry_and_examples_are_cut_at_300_characters():
    results = small_run()
    for r in results:
        if r.outcome == "XFAIL" and r.case:
            r.detail = "x" * 400
    listed_but_other_error = next(r for r in results if r.outcome == "FAIL")
    listed_but_other_error.expectation = next(r.expectation for r in results if r.outcome == "XFAIL" and r.case)
    text = report.table(results, SMALL_COLUMNS)
    assert text.count("it passes now; remove the entry") == 1
    assert f"e.g. 2.21.0/java-1.1.0/m.c.predict: {'x' * 300}\n" in text


def test_problem_names_an_item_that_is_not_an_object_and_merge_needs_a_report():
    full = standard().report()
    assert report.problem({**full, "results": [3]}) == "results[0] has no fields (written by another version of the harness?)"
    with pytest.raises(ValueError, match="^merge needs at least one report$"):
        report.merge([])


def test_trajectories_and_drift_are_ordered_reference_first_then_by_column():
    # The reference's runtime is not the first column, and the columns are not in alphabetical order.
    columns = ["python-session-2.21.0", "java-1.1.0", "python-2.21.0"]
    ran = (("java-1.1.0", "train.loss"), ("python-2.21.0", "reference"), ("python-session-2.21.0", "train.loss"))
    results = [runner.Result(rt, "m.r", check, True, notes={"losses": [np.float32(1)]}, exporter=e)
               for e in ("2.21.0", "2.9.0") for rt, check in ran]
    drift = [{"exporter": e, "case": "m.r", "runtime": rt, "baseline_runtime": f"python-{e}", "verdict": "bit-exact",
              "max_ulp": 0} for e in ("2.21.0", "2.9.0") for rt in ("python-2.21.0", "java-1.1.0", "python-session-2.21.0")]
    out = report.to_json(results, {}, 0.0, runtimes=columns, trajectories=report.trajectories_of(results), drift=drift)
    assert [(t["exporter"], t["runtime"]) for t in out["trajectories"]] == [
        (e, rt) for e in ("2.9.0", "2.21.0") for rt in ("python-2.21.0", "python-session-2.21.0", "java-1.1.0")]
    assert [(d["exporter"], d["runtime"]) for d in out["drift"]] == [(e, rt) for e in ("2.9.0", "2.21.0") for rt in columns]


def test_trajectories_skip_results_without_losses_wherever_they_are():
    results = [runner.Result("java-1.1.0", "m.r", "predict", True, exporter="2.21.0"),
               runner.Result("java-1.1.0", "m.r", "train.loss", True, notes={"losses": []}, exporter="2.21.0"),
               runner.Result("java-1.1.0", "m.r", "load", True, exporter="2.21.0"),
               runner.Result("java-1.1.0", "m.r", "resume.loss", True, notes={"losses": [np.float64(2)]}, exporter="2.21.0")]
    got = report.trajectories_of(results)
    assert [(t["check"], t["dtype"], t["losses"]) for t in got] == [("train.loss", "float32", []),
                                                                   ("resume.loss", "float64", [2.0])]


def test_report_command_prints_the_reports_columns_and_names_an_unreadable_file(tmp_path, capsys):
    from harness.cli.main import main

    columns = ["java-1.2.0", "java-1.1.0", "python-2.21.0"]
    full = json.loads(json.dumps(report.to_json(small_run(), {}, 1.0, runtimes=columns, trajectories=[])))
    (tmp_path / "r.json").write_text(json.dumps(full))
    assert main(["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().out.splitlines()[2].split() == ["java", "java", "python"]
    (tmp_path / "dir.json").mkdir()
    assert main(["report", str(tmp_path / "dir.json"), "--out", str(tmp_path / "out")]) == 2
    assert "Is a directory" in capsys.readouterr().err


def _whole_and_partial() -> tuple[list, dict, dict]:
    """The results of a run that passed, and its report whole and as an interrupted run writes it."""
    full = standard().report()
    passed = [r for r in full["results"] if r["outcome"] not in ("FAIL", "XPASS")]
    return passed, *(report.to_json(passed, full["environment"], 1.0, runtimes=full["runtimes"], interrupted=stopped)
                     for stopped in (False, True))


def test_an_interrupted_run_writes_a_partial_report_that_report_and_merge_read(tmp_path):
    """Ctrl-C: the exports that finished, marked partial and not ok whatever their results; a merge with
    a partial shard is partial; `report` says so and exits 1, even when what finished passed."""
    passed, whole, partial = _whole_and_partial()
    assert whole["ok"] is True and "partial" not in whole and "interrupted" not in whole
    assert (partial["ok"], partial["partial"], partial["interrupted"]) == (False, True, True)
    assert report.problem(partial) is None
    assert {k: v for k, v in partial.items() if k not in ("ok", "partial", "interrupted")} == \
        {k: v for k, v in whole.items() if k != "ok"}
    exports = len({(r["exporter"], r["case"]) for r in passed if r["case"]})
    assert exports > 1
    assert report.partial_note(passed) == \
        f"interrupted: a partial report, of the {exports} export(s) that finished before the run was stopped"
    for shards in ([partial, whole], [whole, partial]):
        merged = report.merge(shards)
        assert (merged["ok"], merged["partial"], merged["interrupted"]) == (False, True, True)
    assert "partial" not in report.merge([whole, whole])


    (tmp_path / "partial.json").write_text(json.dumps(partial))
    done = harness("report", tmp_path / "partial.json", "--out", tmp_path / "out")  # as a user runs it
    assert done.returncode == 1, done.stderr
    assert done.stdout.rstrip().endswith(report.partial_note(passed))
    page = (tmp_path / "out" / "index.html").read_text()
    assert "<title>TF training conformance: PARTIAL</title>" in page and ">PARTIAL</span>" in page
    assert f'<p class="partial">{report.partial_note(passed)}</p>' in page


def test_report_command_in_process_says_partial_and_exits_1_only_for_a_partial_report(tmp_path, capsys, monkeypatch):
    from harness.cli.main import main
    from harness.reports import html_report

    rendered = []  # each index.html written once, after the merged files
    render = html_report.render
    monkeypatch.setattr(html_report, "render", lambda merged, out: rendered.append(out) or render(merged, out))

    passed, whole, partial = _whole_and_partial()
    for name, body in (("whole", whole), ("partial", partial)):
        (tmp_path / f"{name}.json").write_text(json.dumps(body))
    assert main(["report", str(tmp_path / "partial.json"), "--out", str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [f"reports: {tmp_path / 'out' / 'index.html'}", report.partial_note(passed)]
    assert main(["report", str(tmp_path / "whole.json"), "--out", str(tmp_path / "whole")]) == 0
    out = capsys.readouterr().out
    assert "interrupted:" not in out and out.splitlines()[-1] == f"reports: {tmp_path / 'whole' / 'index.html'}"
    assert ">OK</span>" in (tmp_path / "whole" / "index.html").read_text()
    # A merge with a partial shard: partial, exit 1, the merged files and the note, and one index.html.
    assert main(["merge", str(tmp_path / "whole.json"), str(tmp_path / "partial.json"), "--out", str(tmp_path / "m")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == ["reports: " + " ".join(str(tmp_path / "m" / f) for f in ("conformance.json", "junit.xml", "index.html")),
                          report.partial_note(passed + passed)]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["conformance.json", "index.html", "junit.xml"]
    assert json.loads((tmp_path / "m" / "conformance.json").read_text())["partial"] is True
    assert rendered == [tmp_path / "out", tmp_path / "whole", tmp_path / "m"]


def test_the_legend_packs_items_up_to_the_width_never_splits_one_and_keeps_the_first_beside_the_lead():
    assert report._packed(["ab", "cd"], "L: ", 10) == ["L: ab; cd."]  # exactly the width: one line
    assert report._packed(["ab", "cd"], "L: ", 9) == ["L: ab;", "   cd."]
    assert report._packed(["a-long-first-item", "b"], "L: ", 5) == ["L: a-long-first-item;", "   b."]
    legend = ("Legend: " + report.table(small_run(), SMALL_COLUMNS).split("\nLegend: ")[1].split("\nTolerance: ")[0]).splitlines()
    assert len(legend) > 1 and all(len(line) <= 100 for line in legend), legend
