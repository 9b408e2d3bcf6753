import pytest

from harness import expectations
from harness.errors import HarnessError
from harness.runner import FAIL, PASS, XFAIL, XPASS, Result, classify


def test_every_expectations_file_is_valid():
    files = sorted([*expectations.EXPECTATIONS_DIR.glob("java-*.toml"), *expectations.EXPECTATIONS_DIR.glob("python-*.toml")])
    assert files
    for path in files:
        loaded = expectations.load(path.stem)
        assert loaded.failures or loaded.tolerances, f"{path} lists nothing: delete it"
        assert all(e.links and e.reason for e in loaded.failures)


def entry(tmp_path, body: str):
    (tmp_path / "rt.toml").write_text('runtime = "rt"\n' + body)
    return expectations.load("rt", tmp_path)


def test_listed_failure_with_matching_error_is_expected(tmp_path):
    listed = entry(tmp_path, '[[expected_failure]]\ncase = "*.keras3_module.train.loss"\nerror = "Could not find variable"\n'
                             'reason = "r"\nlinks = ["https://example.org/1"]\n')
    results = [
        Result("rt", "mlp.keras3_module", "train.loss", False, "FailedPrecondition: Could not find variable dense/kernel"),
        Result("rt", "mlp.keras3_module", "train.loss", False, "OOM: something else"),  # listed, but fails differently
        Result("rt", "mlp.keras3_module", "train.loss", True, "bit-exact"),  # listed, but passes now
        Result("rt", "mlp.tf_keras", "train.loss", False, "diverged"),
        Result("rt", "mlp.tf_keras", "predict", True, "bit-exact"),
    ]
    classify(results, listed.failures)
    assert [r.outcome for r in results] == [XFAIL, FAIL, XPASS, FAIL, PASS]
    assert "does not match" in results[1].detail


@pytest.mark.parametrize("body, message", [
    ('[[expected_failure]]\ncase = "x"\nerror = "e"\nreason = "r"\n', "'links' must list at least one https:// link"),
    ('[[expected_failure]]\ncase = "x"\nerror = "e"\nlinks = ["https://example.org"]\n', "'reason' must be a non-empty string"),
    ('[[expected_failure]]\ncase = "x"\nerror = "("\nreason = "r"\nlinks = ["https://example.org"]\n', "not a valid regex"),
    ('[[expected_failures]]\n', "unknown keys"),
])
def test_bad_expectation_entries_are_rejected_by_name(tmp_path, body, message):
    with pytest.raises(HarnessError, match=message) as error:
        entry(tmp_path, body)
    assert str(tmp_path / "rt.toml") in str(error.value)


def test_file_must_name_its_runtime(tmp_path):
    (tmp_path / "java-9.toml").write_text('runtime = "java-8"\n')
    with pytest.raises(HarnessError, match="'runtime' must be 'java-9'"):
        expectations.load("java-9", tmp_path)


def test_a_candidate_runtime_without_its_own_file_follows_the_baselines(tmp_path):
    from harness.__main__ import load_expectations, stand_ins

    (tmp_path / "python-session-2.21.0.toml").write_text('''runtime = "python-session-2.21.0"
[[expected_failure]]
case = "*.keras3_module.train.loss"
error = "Could not find variable"
reason = "r"
links = ["https://example.org/1"]
''')
    names = ["python-2.21.0", "python-session-2.21.0", "python-2.22.0rc0", "python-session-2.22.0rc0", "java-1.1.0"]
    assert stand_ins(names, "2.22.0rc0", "2.21.0") == {"python-2.22.0rc0": "python-2.21.0",
                                                       "python-session-2.22.0rc0": "python-session-2.21.0"}
    expected = load_expectations(names, tmp_path, stand_ins(names, "2.22.0rc0", "2.21.0"))
    (entry,) = expected["python-session-2.22.0rc0"].failures
    assert entry.file.name == "python-session-2.21.0.toml" and entry.matches("m.keras3_module.train.loss", "2.22.0rc0")
    assert expected["python-2.22.0rc0"].failures == () and expected["java-1.1.0"].failures == ()
    (tmp_path / "python-session-2.22.0rc0.toml").write_text('runtime = "python-session-2.22.0rc0"\n')
    assert load_expectations(names, tmp_path, stand_ins(names, "2.22.0rc0", "2.21.0"))[
        "python-session-2.22.0rc0"].failures == ()  # a file of its own wins


def test_one_table_of_causes_explains_expected_failures_and_certify(tmp_path):
    causes = expectations.load_causes()
    known = causes["keras3-variables-in-tf-module"]
    assert known.fix and known.links and "tensorflow/issues/72963" in known.links[0]
    # The zoo's entry refers to the cause: its error, reason and links are the cause's.
    (listed,) = [e for e in expectations.load("java-1.1.0").failures if e.case == "*.keras3_module.train.loss"]
    assert (listed.error, listed.reason, listed.links) == (known.pattern, known.cause, known.links)
    # certify's lookup: TF Java's exception name and the session loader's both match; an unknown error does not.
    assert expectations.explain("TFFailedPreconditionException: Could not find variable dense/bias", causes) is known
    assert expectations.explain("two Python runs of the same steps differ: diverged", causes).id == "unseeded-dropout"
    assert expectations.explain("OOM: something else", causes) is None


def test_an_entry_naming_an_unknown_cause_is_refused_by_file_and_index(tmp_path):
    (tmp_path / "causes.toml").write_text('[[cause]]\nid = "a"\npattern = "x"\ncause = "c"\nfix = "f"\nlinks = ["https://e.org"]\n')
    with pytest.raises(HarnessError, match=rf"^{tmp_path / 'rt.toml'}: expected_failure\[0\]: cause 'b' is not in "):
        entry(tmp_path, '[[expected_failure]]\ncase = "*"\ncause = "b"\n')
    assert entry(tmp_path, '[[expected_failure]]\ncase = "*"\ncause = "a"\n').failures[0].error == "x"
    (tmp_path / "causes.toml").write_text('[[cause]]\nid = "a"\npattern = "("\ncause = "c"\nfix = "f"\nlinks = []\n')
    with pytest.raises(HarnessError, match=r"causes.toml: cause\[0\]: 'pattern' is not a valid regex"):
        expectations.load_causes(tmp_path)
