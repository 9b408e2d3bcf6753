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
