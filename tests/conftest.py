"""Shared, session-scoped state: TensorFlow configured once, exports built once, one TF Java worker."""

import hashlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from harness.exports import bundle, spec
from harness.runs import runner
from harness import runtimes
from harness.runs.versions import TF_JAVA, TF_PYTHON

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"  # shared with `nox -s conformance`: exports and classpaths are content-keyed



def code_digest(root: Path = ROOT) -> str:
    """The code that generates and judges examples: the harness, the tests, the specs."""
    digest = hashlib.sha256()
    for pattern in ("harness/**/*.py", "tests/*.py", "specs/*.toml"):
        for path in sorted(root.glob(pattern)):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


# Hypothesis profiles: "ci" is derandomized (same examples every run), keeps no example database
# and is bounded in time; "dev" (local default) and "thorough" (release validation) search wider.
# Their example database is keyed by the code: examples saved by other code (an earlier run's, a
# planted fault's) are never replayed, so a test's outcome does not depend on what ran before it.
EXAMPLES = DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples-by-code" / code_digest()))
common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# CI skips the "explain" phase: it re-runs a failing example many times over, and a story across
# two runtimes costs seconds (the shrunk story and its replay folder are the explanation).
settings.register_profile("ci", max_examples=10, derandomize=True, database=None, print_blob=True,
                          phases=[p for p in Phase if p is not Phase.explain], **common)
settings.register_profile("dev", max_examples=15, database=EXAMPLES, **common)
settings.register_profile("thorough", max_examples=100, database=EXAMPLES, **common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

runner.configure_tensorflow(threads=1)


@pytest.fixture(scope="session")
def mlp_spec():
    return spec.find("mlp_regression")


@pytest.fixture(scope="session")
def bundles(mlp_spec):
    """route -> Bundle for the first spec (exported once, reused from .cache/ when unchanged)."""
    return {route: bundle.build(mlp_spec, route, CACHE / "exports") for route in mlp_spec.routes}


@pytest.fixture(scope="session")
def java(tmp_path_factory):
    """One TF Java worker for the whole test session. Starting it must succeed: CI runs the Java side."""
    runtime = runtimes.single(f"java-{TF_JAVA}", CACHE, tmp_path_factory.mktemp("java-logs"))
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture(scope="session")
def python(tmp_path_factory):
    """The reference runtime (the pinned TF's TF2 loader) on a worker of its own, for the whole test session."""
    runtime = runtimes.single(f"python-{TF_PYTHON}", CACHE, tmp_path_factory.mktemp("python-logs"))
    runtime.start()
    yield runtime
    runtime.stop()
