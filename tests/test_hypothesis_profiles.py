"""The property tests' outcome depends on the code, not on what earlier runs left in .hypothesis/."""

import shutil

from hypothesis import settings

from .conftest import EXAMPLES, ROOT, code_digest


def test_ci_profile_is_derandomized_and_keeps_no_examples():
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None


def test_local_profiles_replay_only_examples_of_the_same_code(tmp_path):
    for name in ("dev", "thorough"):
        assert settings.get_profile(name).database == EXAMPLES
    assert EXAMPLES.path.name == code_digest() and ".hypothesis" in EXAMPLES.path.parts
    copy = tmp_path / "copy"
    for folder in ("harness", "tests", "specs"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_digest(copy) == code_digest()
    compare_py = copy / "harness" / "plan" / "compare.py"
    compare_py.write_text(compare_py.read_text() + "\n# changed\n")
    assert code_digest(copy) != code_digest()
