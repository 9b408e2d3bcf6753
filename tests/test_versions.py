"""The pinned versions live in harness/versions.py; the other files that must name them agree."""

import re
import tomllib
from pathlib import Path

import pytest

from harness import versions

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
