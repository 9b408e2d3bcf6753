"""The pinned versions live in harness/runs/versions.py; the other files that must name them agree."""

import re
import tomllib
from pathlib import Path

import pytest

from harness.runs import expectations, versions
from harness.runtimes import maven
from harness import runtimes
from harness.errors import HarnessError

ROOT = Path(__file__).resolve().parent.parent


def test_pom_default_is_the_pinned_tf_java():
    pom = (ROOT / "java" / "pom.xml").read_text()
    assert re.search(r"<tensorflow-java.version>(.*?)</tensorflow-java.version>", pom).group(1) == versions.TF_JAVA


def test_pyproject_pins_the_pinned_tf_python():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"tensorflow=={versions.TF_PYTHON}" in deps
    assert f"tf-keras=={versions.TF_PYTHON}" in deps


@pytest.mark.java
def test_the_pinned_tf_java_runs_the_native_tf_it_is_said_to(java):
    assert java.start()["tensorflow"] == versions.TF_JAVA_NATIVE[versions.TF_JAVA]


@pytest.mark.java
@pytest.mark.parametrize("version", [v for v in versions.TF_JAVA_NATIVE if v != versions.TF_JAVA])
def test_every_tf_java_row_runs_the_native_tf_it_is_said_to_or_fails_as_listed(version, tmp_path):
    """Each TF Java row of the matrix (hybrid rows included) starts and reports its TF, unless its
    expectations list its setup as failing: then it must fail, with the listed error (strict)."""
    from .conftest import CACHE

    setup = [f for f in expectations.load(f"java-{version}").failures if f.case == "setup"]
    runtime = runtimes.single(f"java-{version}", CACHE, tmp_path)
    try:
        if setup:
            with pytest.raises(HarnessError, match=setup[0].error):
                runtime.start()
        else:
            assert runtime.start()["tensorflow"] == versions.TF_JAVA_NATIVE[version]
    finally:
        runtime.stop()


def test_a_hybrid_row_needs_the_dependencies_of_its_native(tmp_path):
    with pytest.raises(HarnessError, match="NATIVE_DEPENDENCIES does not say what tensorflow-core-native 9.9.9 needs"):
        maven.classpath("1.1.0+native-9.9.9", tmp_path)
    assert maven.api_version("1.1.0+native-1.2.0") == "1.1.0" and maven.api_version("1.0.0") == "1.0.0"
