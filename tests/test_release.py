"""Release comparison on synthetic results: new failures, fixes and drift are found where they are, and only there."""

from harness.plan import compare
from harness.runs import release
from harness.runs.runner import FAIL, PASS, Result

B, C = "2.20.0", "2.21.0"


def result(exporter, runtime, case, check, passed, ulp=0):
    verdict = compare.BIT_EXACT if ulp == 0 else (compare.WITHIN if passed else compare.DIVERGED)
    comparison = compare.Comparison(verdict, max_ulp=ulp)
    return Result(runtime, case, check, passed, verdict, comparison, PASS if passed else FAIL, exporter=exporter)


def test_new_failures_fixes_and_drift():
    results = [
        # baseline world: B exports in B's runtimes and in Java
        result(B, f"python-session-{B}", "mlp.tf_keras", "train.loss", True),
        result(B, "java-1.1.0", "mlp.tf_keras", "train.loss", True),
        result(B, "java-1.1.0", "cnn.tf_keras", "train.loss", False, ulp=9),
        result(B, f"python-{C}", "mlp.tf_keras", "train.loss", True, ulp=0),
        result(B, f"python-{C}", "cnn.tf_keras", "train.loss", False, ulp=3),  # the candidate trains B's cnn differently
        result(B, f"python-{B}", "cnn.tf_keras", "reference", True),
        # candidate world
        result(C, f"python-session-{C}", "mlp.tf_keras", "train.loss", False, ulp=2),  # newly failing
        result(C, "java-1.1.0", "mlp.tf_keras", "train.loss", True),  # unchanged
        result(C, "java-1.1.0", "cnn.tf_keras", "train.loss", True),  # fixed
    ]
    changes = release.changes(results, B, C)
    assert [(label, got.runtime, got.case) for label, _, got in changes.new_failures] == [
        (f"exported by {C}", f"python-session-{C}", "mlp.tf_keras")]
    assert [(got.runtime, got.case) for _, _, got in changes.fixed] == [("java-1.1.0", "cnn.tf_keras")]
    assert {(d["case"], d["runtime"], d["max_ulp"]) for d in changes.drift} == {
        ("mlp.tf_keras", f"python-{C}", 0), ("cnn.tf_keras", f"python-{C}", 3)}
    assert [d["case"] for d in changes.drifted] == ["cnn.tf_keras"]
    text = release.summary(changes)
    assert "New failures: 1" in text and "Fixed: 1" in text and "1 of 2 cells differ" in text


def test_a_candidate_that_cannot_train_an_older_export_is_a_new_failure():
    results = [result(B, f"python-session-{B}", "lstm.tf_keras", "train.loss", True),
               result(B, f"python-session-{C}", "lstm.tf_keras", "train.loss", False)]
    changes = release.changes(results, B, C)
    assert [(label, got.runtime) for label, _, got in changes.new_failures] == [
        (f"exported by {B}, trained by {C}", f"python-session-{C}")]


def test_drift_is_the_largest_ulp_per_export_and_runtime():
    results = [result(B, "java-1.0.0", "mlp.tf_keras", check, True, ulp) for check, ulp in
               (("train.loss", 1), ("predict", 4), ("checkpoint.saver", 0))]
    results.append(result(B, f"python-{B}", "mlp.tf_keras", "reference", True))  # the reference itself is not drift
    (cell,) = release.drift(results)
    assert (cell["runtime"], cell["max_ulp"], cell["verdict"]) == ("java-1.0.0", 4, compare.WITHIN)


def test_the_release_verdict_exits_1_on_a_new_failure_and_on_drift_only_when_asked(tmp_path, capsys):
    import argparse
    import json

    from harness.cli.main import _release_verdict

    steady = [result(B, "java-1.1.0", "mlp.tf_keras", "train.loss", True),
              result(C, "java-1.1.0", "mlp.tf_keras", "train.loss", True),
              result(B, f"python-{C}", "mlp.tf_keras", "train.loss", True, ulp=2)]  # drift: 2 ulp
    broken = steady + [result(B, "java-1.1.0", "cnn.tf_keras", "train.loss", True),
                       result(C, "java-1.1.0", "cnn.tf_keras", "train.loss", False, ulp=50)]
    fixed = [result(B, "java-1.1.0", "cnn.tf_keras", "train.loss", False, ulp=50),
             result(C, "java-1.1.0", "cnn.tf_keras", "train.loss", True)]
    for results, fail_on_drift, status in ((steady, False, 0), (steady, True, 1), (broken, False, 1), (fixed, True, 0)):
        args = argparse.Namespace(candidate=C, baseline=B, fail_on_drift=fail_on_drift)
        assert _release_verdict(args, results, tmp_path) == status, (len(results), fail_on_drift)
        written = json.loads((tmp_path / "release.json").read_text())
        assert (written["candidate"], written["baseline"]) == (C, B)
        assert written["new_failures"] == ([f"{C}/java-1.1.0/cnn.tf_keras.train.loss"] if results is broken else [])
        assert written["fixed"] == ([f"{C}/java-1.1.0/cnn.tf_keras.train.loss"] if results is fixed else [])
        assert [(d["case"], d["max_ulp"]) for d in written["drift"]] == ([] if results is fixed else [("mlp.tf_keras", 2)])
        changes = release.changes(results, B, C)  # per family and route, as the summary tells them
        assert [written["families"], written["routes"]] == json.loads(json.dumps((changes.families, changes.routes)))
        assert written["families"] and written["routes"]
        assert f"Release check: candidate TF {C} against baseline TF {B}" in capsys.readouterr().out


def test_the_summary_tells_per_route_what_each_world_can_author_and_where_it_fails():
    from harness.runs.runner import NOT_APPLICABLE, XFAIL

    na = Result(f"python-{C}", "mlp.tf_keras", "export", None, f"mlp by tf_keras under TF {C}: TF {C}'s environment has "
                "no tf-keras", outcome=NOT_APPLICABLE, exporter=C)
    results = [result(B, f"python-session-{B}", "mlp.tf_keras", "train.loss", True),
               result(B, "java-1.1.0", "cnn.tf_keras", "train.loss", True), na,
               Result(f"python-session-{C}", "mlp.keras3_module", "train.loss", False, "Could not find variable d/k",
                      outcome=XFAIL, exporter=C),
               result(C, "java-1.1.0", "mlp.keras3_module", "train.loss", True),
               result(C, "java-1.1.0", "cnn.keras3_module", "train.loss", True)]
    rows = {r["route"]: r for r in release.changes(results, B, C).routes}
    assert rows["tf_keras"] == {"route": "tf_keras", "baseline": "2/2 exports pass every check",
                                "candidate": f"n/a: TF {C}'s environment has no tf-keras"}
    assert rows["keras3_module"] == {"route": "keras3_module", "baseline": "not run", "candidate":
                                     f"1/2 exports pass every check; fails in python-session-{C} "
                                     "(XFAIL: Could not find variable d/k)"}
    text = release.summary(release.changes(results, B, C))
    assert (f"  keras3_module    {B:10} not run\n  {'':16} {C:10} 1/2 exports pass every check; fails in "
            f"python-session-{C}") in text


def test_a_candidate_that_does_not_install_is_one_result_with_its_reason(tmp_path, monkeypatch, capsys):
    import json

    from harness.cli import main as cli
    from harness.errors import HarnessError
    from harness.runs import venvs

    def broken(version, cache_dir):
        raise HarnessError(f"venv: TensorFlow {version} does not import after installing tf-nightly=={version}:\n"
                           "ImportError: libfoo.so: cannot open shared object file")

    monkeypatch.setattr(venvs, "check_available", lambda version, cache_dir=None: None)
    monkeypatch.setattr(venvs, "available", lambda cache_dir=None, package="tensorflow": ["2.22.0rc0", "2.21.0"])
    monkeypatch.setattr(venvs, "interpreter", broken)
    status = cli.main(["release", "2.23.0.dev20261026", "--out", str(tmp_path), "--cache-dir", str(tmp_path)])
    assert status == cli.DOES_NOT_INSTALL == 3
    out, err = capsys.readouterr()
    assert "release: candidate TF 2.23.0.dev20261026 does not install or import: " in out and "libfoo.so" in out
    assert "Traceback" not in out + err
    record = json.loads((tmp_path / "release.json").read_text())
    assert record["installs"] is False and record["baseline"] == "2.21.0" and "libfoo.so" in record["reason"]
