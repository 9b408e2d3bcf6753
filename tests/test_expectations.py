import json
import re

import numpy as np
import pytest

from harness.plan import compare
from harness.runs import expectations, expectations_update
from harness.reports import report
from harness.cli.main import judge, load_expectations, main, stand_ins
from harness.errors import HarnessError
from harness.runs.runner import FAIL, PASS, XFAIL, XPASS, Result, classify
from harness.runtimes import every_kind, names
from harness.runs.versions import TF_JAVA_NATIVE, TF_PYTHON_MATRIX

LINK = 'links = ["https://example.org/1"]\n'


def test_every_expectations_file_is_valid():
    every = expectations.load_all()
    files = expectations.files()
    assert {"expected_failures.toml", "tolerances.toml"} <= {f.name for f in files}
    for path in files:
        assert any(e.file == path for e in every.failures + every.tolerances), f"{path} lists nothing: delete it"
    assert all(e.links and e.reason for e in every.failures)
    # Every glob of every entry names a runtime of the matrix (a typo would silently expect nothing).
    matrix = names(list(TF_PYTHON_MATRIX), every_kind(TF_PYTHON_MATRIX), java_versions=list(TF_JAVA_NATIVE),
                   plain_java_versions=["1.1.0"])  # as `nox -s matrix` runs it (--all-kinds)
    for e in every.failures + every.tolerances:
        for glob in e.runtime.split(" | "):
            assert any(expectations._matches(rt, glob) for rt in matrix), (e.file, e.index, glob)


def entry(tmp_path, body: str, runtime: str = "rt"):
    """The expectations of `runtime` from one file whose entries all name it."""
    (tmp_path / "rt.toml").write_text(body.replace("]]\n", f']]\nruntime = "{runtime}"\n'))
    return expectations.load(runtime, tmp_path)


def test_listed_failure_with_matching_error_is_expected(tmp_path):
    listed = entry(tmp_path, '[[expected_failure]]\ncase = "*.keras3_module.train.loss"\nerror = "Could not find variable"\n'
                             'reason = "r"\n' + LINK)
    results = [
        Result("rt", "mlp.keras3_module", "train.loss", False, "FailedPrecondition: Could not find variable dense/kernel"),
        Result("rt", "mlp.keras3_module", "train.loss", False, "OOM: something else"),  # listed, but fails differently
        Result("rt", "mlp.keras3_module", "train.loss", True, "bit-exact"),  # listed, but passes now
        Result("rt", "mlp.tf_keras", "train.loss", False, "diverged"),
        Result("rt", "mlp.tf_keras", "predict", True, "bit-exact"),
    ]
    classify(results, listed.failures)
    assert [r.outcome for r in results] == [XFAIL, FAIL, XPASS, FAIL, PASS]
    assert results[1].detail == "OOM: something else [listed in rt.toml, but its error does not match /Could not find variable/]"


@pytest.mark.parametrize("body, message", [
    ('[[expected_failure]]\ncase = "x"\nerror = "e"\nreason = "r"\n', "'links' must list at least one https:// link"),
    ('[[expected_failure]]\ncase = "x"\nerror = "e"\n' + LINK, "'reason' must be a non-empty string"),
    ('[[expected_failure]]\ncase = "x"\nerror = "("\nreason = "r"\n' + LINK, "not a valid regex"),
    ('[[expected_failures]]\n', "unknown keys"),
    ('[[expected_failure]]\ncase = "x"\nerror = "^diverged: "\nreason = "r"\n' + LINK,
     "expected_failure[0]: error /^diverged: / accepts a divergence of any size: state 'max_relative'"),
    ('[[expected_failure]]\ncase = "x"\nerror = "diverged"\nreason = "r"\n' + LINK, "accepts a divergence of any size"),
    ('[[expected_failure]]\ncase = "x"\nerror = "^diverged: "\nmax_relative = 1.5\nreason = "r"\n' + LINK,
     "expected_failure[0]: 'max_relative' must be a float in (0, 1), got 1.5"),
    ('[[expected_failure]]\ncase = "x"\nerror = "^diverged: "\nmax_relative = 0\nreason = "r"\n' + LINK,
     "'max_relative' must be a float in (0, 1), got 0"),
    ('[[tolerance]]\ncase = "x"\nrelative = 1e-6\nreason = "r"\nmax_relative = 0.1\n', "tolerance[0]: unknown keys ['max_relative']"),
])
def test_bad_expectation_entries_are_rejected_by_name(tmp_path, body, message):
    with pytest.raises(HarnessError) as error:
        entry(tmp_path, body)
    assert message in str(error.value) and str(tmp_path / "rt.toml") in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("runtime, message", [
    ('', "expected_failure[0]: 'runtime' must be a glob on runtime names"),
    ('runtime = []\n', "expected_failure[0]: 'runtime' must be a glob on runtime names"),
    ('runtime = ["java-*", ""]\n', "expected_failure[0]: 'runtime' must be a glob on runtime names"),
])
def test_an_entry_must_name_its_runtimes(tmp_path, runtime, message):
    (tmp_path / "expected_failures.toml").write_text(f'[[expected_failure]]\n{runtime}case = "x"\nerror = "e"\nreason = "r"\n{LINK}')
    with pytest.raises(HarnessError) as error:
        expectations.load_all(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / 'expected_failures.toml'}: {message}")


def test_an_old_per_runtime_file_is_refused_by_name(tmp_path):
    (tmp_path / "java-9.toml").write_text('runtime = "java-9"\n[[expected_failure]]\ncase = "x"\nerror = "e"\nreason = "r"\n' + LINK)
    with pytest.raises(HarnessError, match=r"java-9\.toml: unknown keys \['runtime'\] \(a file holds \[\[expected_failure\]\] "
                                           r"and \[\[tolerance\]\] entries, each naming its runtime\)"):
        expectations.load("java-9", tmp_path)


GLOB_ENTRY = ('[[expected_failure]]\nruntime = ["python-session-*", "java-[0-9]*"]\ncase = "*.keras3_module.train.loss"\n'
              'error = "Could not find variable"\nreason = "r"\n' + LINK)
RUNTIMES = ["python-2.21.0", "python-session-2.21.0", "java-1.0.0", "java-1.1.0", "java-plain-1.1.0", "c-2.21.0", "tflite-2.21.0"]


def failing(runtime: str, passed: bool = False) -> Result:
    return Result(runtime, "mlp.keras3_module", "train.loss", passed,
                  "bit-exact" if passed else "FailedPrecondition: Could not find variable dense/kernel", exporter="2.21.0")


def test_a_runtime_glob_entry_applies_to_the_runtimes_it_names_only(tmp_path):
    (tmp_path / "expected_failures.toml").write_text(GLOB_ENTRY)
    expected = load_expectations(RUNTIMES, tmp_path)
    results = [failing(rt) for rt in RUNTIMES]
    assert judge(results, RUNTIMES, expected) == 1
    # TF Java 1.0.0 and 1.1.0 (and the session loader) expect it, and so do the runtimes that must equal one of
    # them bit for bit (plain Java: JPype's; the C API: the session loader's); the TF2 loader and TFLite do not.
    assert {r.runtime: r.outcome for r in results} == {"python-2.21.0": FAIL, "python-session-2.21.0": XFAIL,
                                                      "java-1.0.0": XFAIL, "java-1.1.0": XFAIL, "java-plain-1.1.0": XFAIL,
                                                      "c-2.21.0": XFAIL, "tflite-2.21.0": FAIL}
    assert results[2].expectation is results[3].expectation is expected["java-1.0.0"].failures[0]


def test_a_glob_entry_that_passes_in_one_of_its_runtimes_fails_the_run(tmp_path):
    (tmp_path / "expected_failures.toml").write_text(GLOB_ENTRY)
    names_ = ["java-1.0.0", "java-1.1.0"]
    results = [failing("java-1.0.0", passed=True), failing("java-1.1.0")]
    assert judge(results, names_, load_expectations(names_, tmp_path)) == 1
    assert [r.outcome for r in results] == [XPASS, XFAIL]
    results = [failing("java-1.0.0"), failing("java-1.1.0")]
    assert judge(results, names_, load_expectations(names_, tmp_path)) == 0


def diverged(scale: float, missing: bool = False) -> Result:
    """A train.loss that diverged from the reference by `scale` (norm-wise), or lost a tensor."""
    want = {"step 0": np.float32(2.0), "step 1": np.float32(1.5)}
    got = {"step 0": np.float32(2.0 * (1 + scale)), "step 1": np.float32(1.5)}
    c = compare.compare(want, {"step 0": got["step 0"]} if missing else got)
    return Result("rt", "mlp_regression_mixed_precision.tf_keras", "train.loss", c.ok, c.summary(), c, exporter="2.15.1")


def test_a_bounded_divergence_accepts_its_measured_size_and_refuses_more(tmp_path):
    listed = entry(tmp_path, '[[expected_failure]]\ncase = "mlp_regression_mixed_precision.*"\nerror = "^diverged: "\n'
                             'max_relative = 0.02  # measured 1.1%\nreason = "r"\n' + LINK)
    results = [diverged(0.011), diverged(0.05), diverged(0.5), diverged(0.011, missing=True)]
    assert [r.comparison.verdict for r in results] == [compare.DIVERGED] * 4
    assert abs(results[0].comparison.max_scaled - 0.011) < 1e-6 and "scaled=0.011" in results[0].detail
    classify(results, listed.failures)
    assert [r.outcome for r in results] == [XFAIL, FAIL, FAIL, FAIL]
    assert results[1].detail.endswith("[listed in rt.toml, but its norm-wise error 0.05 is beyond the entry's max_relative 0.02]")
    assert results[3].detail.endswith("but its divergence is not numeric (a missing tensor, a changed shape or dtype, or NaN)]")
    nothing = Result("rt", "mlp_regression_mixed_precision.tf_keras", "load", False, "diverged: no comparison")
    classify([nothing], listed.failures)
    assert nothing.outcome == FAIL and "compared nothing" in nothing.detail


def test_any_entry_that_explains_a_failure_makes_it_expected_whatever_the_order(tmp_path):
    located = '[[expected_failure]]\ncase = "m.r.*"\nerror = "^diverged: .*first: _all_variables/"\nreason = "r"\n' + LINK
    bounded = ('[[expected_failure]]\ncase = "m.*.checkpoint.saver"\nerror = "^diverged: "\nmax_relative = 0.02\n'
               'reason = "r"\n' + LINK)
    for body in (located + bounded, bounded + located):
        small, whole = diverged(0.011), diverged(0.9)
        for r in (small, whole):
            r.case, r.check = "m.r", "checkpoint.saver"
        whole.detail += "; first: _all_variables/0"
        classify([small, whole], entry(tmp_path, body).failures)
        assert (small.outcome, whole.outcome) == (XFAIL, XFAIL)
        assert small.expectation.max_relative == 0.02 and whole.expectation.max_relative is None


def test_a_candidate_runtime_follows_the_baselines_entries(tmp_path):
    (tmp_path / "expected_failures.toml").write_text(
        '[[expected_failure]]\nruntime = "python-session-2.21.0"\ncase = "*.keras3_module.train.loss"\n'
        'error = "Could not find variable"\nreason = "r"\n' + LINK)
    runtimes = ["python-2.21.0", "python-session-2.21.0", "python-2.22.0rc0", "python-session-2.22.0rc0", "java-1.1.0"]
    assert stand_ins(runtimes, "2.22.0rc0", "2.21.0") == {"python-2.22.0rc0": "python-2.21.0",
                                                          "python-session-2.22.0rc0": "python-session-2.21.0"}
    expected = load_expectations(runtimes, tmp_path, stand_ins(runtimes, "2.22.0rc0", "2.21.0"))
    (listed,) = expected["python-session-2.22.0rc0"].failures
    assert listed.runtime == "python-session-2.21.0" and listed.matches("m.keras3_module.train.loss", "2.22.0rc0")
    assert expected["python-2.22.0rc0"].failures == () and expected["java-1.1.0"].failures == ()
    assert load_expectations(runtimes, tmp_path)["python-session-2.22.0rc0"].failures == ()  # no stand-in: its own only
    # An entry of its own adds to the baseline's.
    with open(tmp_path / "expected_failures.toml", "a") as f:
        f.write('[[expected_failure]]\nruntime = "python-session-2.22.0rc0"\ncase = "*.new.train.loss"\n'
                'error = "boom"\nreason = "r"\n' + LINK)
    own = load_expectations(runtimes, tmp_path, stand_ins(runtimes, "2.22.0rc0", "2.21.0"))["python-session-2.22.0rc0"]
    assert [e.case for e in own.failures] == ["*.keras3_module.train.loss", "*.new.train.loss"]


def test_one_table_of_causes_explains_expected_failures_and_certify(tmp_path):
    causes = expectations.load_causes()
    known = causes["keras3-variables-in-tf-module"]
    assert known.fix and known.links and "tensorflow/issues/72963" in known.links[0]
    # The zoo's entry refers to the cause: its error, reason and links are the cause's.
    (listed,) = [e for e in expectations.load("java-1.1.0").failures if "*.keras3_module.train.loss" in e.case.split(" | ")]
    assert (listed.error, listed.reason, listed.links) == (known.pattern, known.cause, known.links)
    # certify's lookup: TF Java's exception name and the session loader's both match; an unknown error does not.
    assert expectations.explain("TFFailedPreconditionException: Could not find variable dense/bias", causes) is known
    assert expectations.explain("two Python runs of the same steps differ: diverged", causes).id == "unseeded-dropout"
    assert expectations.explain("OOM: something else", causes) is None


def test_an_entry_naming_an_unknown_cause_is_refused_by_file_and_index(tmp_path):
    (tmp_path / "causes.toml").write_text('[[cause]]\nid = "a"\npattern = "^x"\ncause = "c"\nfix = "f"\nlinks = ["https://e.org"]\n')
    with pytest.raises(HarnessError, match=re.escape(f"{tmp_path / 'rt.toml'}: expected_failure[0]: cause 'b' is not in "
                                                     f"{tmp_path / 'causes.toml'}")):
        entry(tmp_path, '[[expected_failure]]\ncase = "*"\ncause = "b"\n')
    assert entry(tmp_path, '[[expected_failure]]\ncase = "*"\ncause = "a"\n').failures[0].error == "^x"
    (tmp_path / "causes.toml").write_text('[[cause]]\nid = "a"\npattern = "("\ncause = "c"\nfix = "f"\nlinks = []\n')
    with pytest.raises(HarnessError, match=r"causes.toml: cause\[0\]: 'pattern' is not a valid regex"):
        expectations.load_causes(tmp_path)


# --- `python -m harness expectations update` ---------------------------------------------------------

LISTS = '''# the list of a small world
[[expected_failure]]
runtime = "rt-*"
case = "m.a.train.loss"
exporter = "1.*"
error = "Boom"
reason = "r"
links = ["https://example.org/stale"]

# not run by the report: kept
[[expected_failure]]
runtime = "java-*"
case = "*"
error = "Boom"
reason = "r"
links = ["https://example.org/java"]

# passes now
[[expected_failure]]
runtime = "rt-1"
case = "m.a.predict"
error = "Boom"
reason = """a reason
on two lines"""
links = ["https://example.org/xpass"]

[[expected_failure]]
runtime = ["rt-1", "rt-2"]
case = "m.a.checkpoint.*"
error = "^diverged: .*first: v"
reason = "r"
links = ["https://example.org/narrow"]
'''


def small_report() -> dict:
    """rt-1 and rt-2 train m.a (by TF 2.0) and m.k; m.b by TF 1.0 in rt-1."""
    loss = compare.compare({"step 0": np.float32(2.0)}, {"step 0": np.float32(2.0228)})  # scaled 0.0114
    exact = compare.compare({"v": np.ones(2)}, {"v": np.ones(2)})
    whole = compare.compare({"v": np.ones(2)}, {"v": np.ones(2) * 3})
    keras3 = "FailedPrecondition: Could not find variable dense/kernel"
    results = [Result("rt-1", "m.b", "load", True, "ok", exporter="1.0")]
    for rt in ("rt-1", "rt-2"):
        results += [Result(rt, "m.a", "train.loss", True, exact.summary(), exact, exporter="2.0"),
                    Result(rt, "m.a", "predict", True, exact.summary(), exact, exporter="2.0"),
                    Result(rt, "m.a", "checkpoint.saver", False, whole.summary(), whole, exporter="2.0"),
                    Result(rt, "m.a", "checkpoint.signature", True, exact.summary(), exact, exporter="2.0"),
                    Result(rt, "m.k", "train.loss", False, keras3, exporter="2.0")]
    results.append(Result("rt-1", "m.a", "resume.loss", False, loss.summary(), loss, exporter="2.0"))
    every = expectations.Expectations()  # as the run classified them: nothing listed
    for rt in ("rt-1", "rt-2"):
        classify([r for r in results if r.runtime == rt], every.failures)
    return report.to_json(results, {}, 1.0)


def world(tmp_path):
    (tmp_path / "causes.toml").write_text((expectations.EXPECTATIONS_DIR / "causes.toml").read_text())
    (tmp_path / "expected_failures.toml").write_text(LISTS)
    path = tmp_path / "conformance.json"
    path.write_text(json.dumps(small_report()))
    return path


def test_update_reports_stale_xpass_and_unexpected_failures_with_suggested_entries(tmp_path, capsys):
    path = world(tmp_path)
    found = expectations_update.review(json.loads(path.read_text()), expectations.load_all(tmp_path),
                                       expectations.load_causes(tmp_path))
    assert [e.index for e in found.stale] == [0] and [e.index for e in found.not_covered] == [1]
    assert [(e.index, ids) for e, ids in found.passing] == [(2, ["2.0/rt-1/m.a.predict"])]
    assert [(e.index, ids, n) for e, ids, n in found.narrow] == [
        (3, ["2.0/rt-1/m.a.checkpoint.signature", "2.0/rt-2/m.a.checkpoint.signature"], 4)]
    loss, keras3 = found.suggestions
    assert (keras3.runtimes, keras3.cases, keras3.exporters, keras3.cause, keras3.error, keras3.max_relative) == (
        ["rt-1", "rt-2"], ["m.k.train.loss"], ["2.0"], "keras3-variables-in-tf-module", None, None)
    assert (loss.runtimes, loss.cases, loss.cause, loss.error, loss.max_relative) == (
        ["rt-1"], ["m.a.resume.loss"], None, "^diverged: ", 0.02)
    assert abs(loss.measured - 0.0114) < 1e-4 and not loss.complete and keras3.complete
    # What the run said is what the current lists say, but for the entries: outcomes change, tolerances do not.
    assert ("2.0/rt-1/m.a.predict", "PASS", "XPASS") in found.changed and found.retolerated == []

    assert main(["expectations", "update", str(path), "--expectations", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "stale (matched nothing the report ran): " + str(tmp_path / "expected_failures.toml") + ": expected_failure[0]" in out
    assert "XPASS, remove (all 1 pass)" in out and "XPASS, narrow by hand (2 of 4 pass)" in out
    assert 'cause = "keras3-variables-in-tf-module"' in out and "max_relative = 0.02  # measured 0.0114" in out
    assert (tmp_path / "expected_failures.toml").read_text() == LISTS  # without --write, nothing changes


def test_update_write_rewrites_the_lists_and_the_run_then_judges_by_them(tmp_path, capsys):
    path = world(tmp_path)
    assert main(["expectations", "update", str(path), "--expectations", str(tmp_path), "--write"]) == 1  # narrow, unexplained
    text = (tmp_path / "expected_failures.toml").read_text()
    assert "example.org/stale" not in text and "example.org/xpass" not in text and "on two lines" not in text
    assert "# passes now" not in text and "# not run by the report: kept" in text and "example.org/narrow" in text
    assert "m.a.resume.loss" not in text  # unexplained: printed, not written
    every = expectations.load_all(tmp_path)
    assert [e.links[0] for e in every.failures] == ["https://example.org/java", "https://example.org/narrow",
                                                    "https://github.com/tensorflow/tensorflow/issues/72963"]
    again = expectations_update.reclassify(json.loads(path.read_text()), every)
    assert {r.id: r.outcome for r in again if r.case == "m.k"} == {"2.0/rt-1/m.k.train.loss": XFAIL,
                                                                   "2.0/rt-2/m.k.train.loss": XFAIL}
    assert "written: " + str(tmp_path / "expected_failures.toml") in capsys.readouterr().out
    # Run again: only what needs a maintainer is left.
    found = expectations_update.review(json.loads(path.read_text()), every, expectations.load_causes(tmp_path))
    assert (found.stale, found.passing, len(found.narrow), [s.cases for s in found.suggestions]) == (
        [], [], 1, [["m.a.resume.loss"]])


def test_update_refuses_what_is_not_a_report_in_one_line(tmp_path, capsys):
    (tmp_path / "x.json").write_text('{"results": []}')
    assert main(["expectations", "update", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'x.json'}: not a conformance report (no environment, seconds, trajectories)\n"


def test_update_names_a_missing_expectations_folder(tmp_path, capsys):
    path = world(tmp_path)
    assert main(["expectations", "update", str(path), "--expectations", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'}: expectations folder does not exist\n"


def test_suggested_bounds_and_patterns():
    assert [expectations_update.bound(x) for x in (0.0114, 0.05, 0.0066, 1e-4)] == [0.02, 0.08, 0.01, 0.0002]
    shapes = "failed at train: InvalidArgument: Incompatible shapes (x+y): [8,1] vs. [4]"
    assert expectations_update.error_of(shapes, None) == "^failed at train: InvalidArgument: Incompatible shapes"
    assert expectations_update.error_of("a.b|c* d+ e [1]", None) == r"^a\.b\|c\* d\+ e"
    assert re.search(expectations_update.error_of("a.b|c* d+ e [1]", None), "a.b|c* d+ e [2]")
    assert expectations_update.error_of("/home/x/pom.xml: Maven could not resolve TF Java 1.3.0: ...", None) == \
        "Maven could not resolve TF Java"
    missing = compare.compare({"a": np.ones(1), "b": np.ones(1)}, {"a": np.ones(1)})
    (s,) = expectations_update.suggest([Result("rt", "m.r", "checkpoint.saver", False, missing.summary(), missing,
                                               outcome=FAIL, exporter="2.0")], {})
    assert s.error == r"^diverged: .*first: missing" and s.max_relative is None  # no size: where it starts instead


def test_compare_counts_the_outcomes_of_two_reports(tmp_path, capsys):
    a = small_report()
    b = json.loads(json.dumps(a))
    b["results"][1]["outcome"] = "FAIL"
    b["results"].pop()
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    assert expectations_update.compare_outcomes(a, a)[1:] == ([], [], [])
    same, differ, only_a, only_b = expectations_update.compare_outcomes(a, b)
    assert (same, differ, only_a, only_b) == (len(a["results"]) - 2, [(a["results"][1]["id"], a["results"][1]["outcome"], "FAIL")],
                                              [a["results"][-1]["id"]], [])
    assert main(["expectations", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1
    assert f"same outcome: {same}; different: 1; only in the first: 1; only in the second: 0" in capsys.readouterr().out
    assert main(["expectations", "compare", str(tmp_path / "a.json"), str(tmp_path / "a.json")]) == 0


def test_a_cause_reads_back_as_certify_writes_it_and_bad_tables_are_named(tmp_path):
    cause = '[[cause]]\nid = "a"\npattern = "^x"\ncause = "c"\nfix = "f"\nlinks = ["https://e.org"]\n'
    (tmp_path / "causes.toml").write_text(cause)
    assert expectations.load_causes(tmp_path)["a"].to_dict() == {"id": "a", "cause": "c", "fix": "f",
                                                                  "links": ["https://e.org"]}
    (tmp_path / "causes.toml").write_text("# no causes yet\n")
    assert expectations.load_causes(tmp_path) == {}
    (tmp_path / "causes.toml").write_text(cause + cause)
    with pytest.raises(HarnessError, match=re.escape(f"{tmp_path / 'causes.toml'}: cause[1]: id 'a' is already used")):
        expectations.load_causes(tmp_path)
    (tmp_path / "causes.toml").write_text(cause.replace('fix = "f"\n', ""))
    with pytest.raises(HarnessError, match=re.escape(f"{tmp_path / 'causes.toml'}: cause[0]: needs exactly id, pattern, "
                                                     "cause, fix, links (has ['cause', 'id', 'links', 'pattern'])")):
        expectations.load_causes(tmp_path)


def test_a_bounded_entry_explains_a_divergence_up_to_its_bound_and_no_further(tmp_path):
    listed = entry(tmp_path, '[[expected_failure]]\ncase = "*"\nerror = "^diverged: "\nmax_relative = 0.02\n'
                             'reason = "r"\n' + LINK).failures[0]
    at = compare.Comparison(compare.DIVERGED, max_scaled=0.02, max_ulp=5)
    assert listed.explains("diverged: x", at) and listed.mismatch("diverged: x", at) is None  # the bound itself
    assert not listed.explains("failed at train: x", at)  # the error must match too
    assert not listed.explains("diverged: x")  # a bound needs a comparison
    beyond = compare.Comparison(compare.DIVERGED, max_scaled=0.0201, max_ulp=5)
    assert listed.mismatch("diverged: x", beyond) == "its norm-wise error 0.0201 is beyond the entry's max_relative 0.02"
    saturated = compare.Comparison(compare.DIVERGED, max_scaled=0.01, max_ulp=expectations.SATURATED)
    assert listed.mismatch("diverged: x", saturated).startswith("its divergence is not numeric")
    near = compare.Comparison(compare.DIVERGED, max_scaled=0.01, max_ulp=expectations.SATURATED - 1)
    assert listed.explains("diverged: x", near)


@pytest.mark.parametrize("body, message", [
    ('[[expected_failure]]\ncase = "*"\nerror = "x"\nreason = "r"\nmax_relative = 1.0\n' + LINK,
     "expected_failure[0]: 'max_relative' must be a float in (0, 1), got 1.0"),
    ('[[expected_failure]]\ncase = "*"\nerror = "x"\nreason = "r"\nmax_relative = 0.0\n' + LINK,
     "expected_failure[0]: 'max_relative' must be a float in (0, 1), got 0.0"),
    ('[[expected_failure]]\ncase = "*"\nerror = "("\nreason = "r"\n' + LINK, "expected_failure[0]: 'error' is not a valid regex"),
    ('[[expected_failure]]\ncase = "*"\nerror = "x"\nreason = "r"\nwhat = 1\n' + LINK, "expected_failure[0]: unknown keys"),
    ('[[expected_failure]]\ncase = "*"\ncause = "nope"\n', "expected_failure[0]: cause 'nope' is not in "),
])
def test_a_bad_entry_is_named_by_file_index_and_key(tmp_path, body, message):
    with pytest.raises(HarnessError, match=re.escape(f"{tmp_path / 'rt.toml'}: {message}")):
        entry(tmp_path, body)


def test_a_tolerance_without_runtimes_and_a_causes_table_that_is_not_toml_are_named_by_file(tmp_path):
    with pytest.raises(HarnessError, match=re.escape(f"{tmp_path / 'rt.toml'}: tolerance[0]: 'runtime' must be a glob")):
        entry(tmp_path, '[[tolerance]]\ncase = "x"\nrelative = 1e-6\nreason = "r"\n', runtime="")
    (tmp_path / "causes.toml").write_text("[[cause]\n")
    with pytest.raises(HarnessError, match=re.escape(f"{tmp_path / 'causes.toml'}: not valid TOML: ")):
        expectations.load_causes(tmp_path)


def test_every_files_tolerances_are_loaded_and_a_stand_ins_entries_follow_its_candidate(tmp_path):
    for name, runtime in (("a.toml", "rt-1"), ("b.toml", "rt-2")):
        (tmp_path / name).write_text(f'[[tolerance]]\nruntime = "{runtime}"\ncase = "{name}.*"\nrelative = 1e-6\n'
                                     'reason = "r"\n')
    assert [t.case for t in expectations.load_all(tmp_path).tolerances] == ["a.toml.*", "b.toml.*"]
    assert [t.case for t in expectations.load("rt-1", tmp_path, stand_in="rt-2").tolerances] == ["a.toml.*", "b.toml.*"]
    assert [t.case for t in expectations.load("rt-1", tmp_path).tolerances] == ["a.toml.*"]


def test_a_listed_check_that_passes_is_an_xpass_that_names_its_entry_and_an_unlisted_one_names_none(tmp_path):
    listed = entry(tmp_path, '[[expected_failure]]\ncase = "*.keras3_module.train.loss"\nerror = "Could not find variable"\n'
                             'reason = "r"\n' + LINK).failures
    xpass, other = failing("rt", passed=True), Result("rt", "mlp.other", "train.loss", True, "bit-exact", exporter="2.21.0")
    classify([xpass, other], listed)
    assert (xpass.outcome, xpass.expectation) == (XPASS, listed[0])
    assert (other.outcome, other.expectation) == (PASS, None)


def test_tolerances_keep_their_place_in_the_file(tmp_path):
    body = '[[tolerance]]\ncase = "a.*"\nrelative = 1e-6\nreason = "r"\n[[tolerance]]\ncase = "b.*"\nrelative = 1e-6\nreason = "r"\n'
    tolerances = entry(tmp_path, body).tolerances
    assert [t.index for t in tolerances] == [0, 1]
