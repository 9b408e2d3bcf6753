"""Sessions: `nox -s conformance` (the main job), `nox -s tests` (the project's tests), `nox -s bench`.

Virtualenvs are reused (TensorFlow wheels are large) and reinstalled only when pyproject.toml
changes; the Maven repository (~/.m2) is Maven's own cache.
"""

import hashlib
import runpy
from pathlib import Path

import nox

ROOT = Path(__file__).parent
VERSIONS = runpy.run_path(str(ROOT / "harness" / "versions.py"))  # TF_PYTHON, TF_JAVA, TF_JAVA_MATRIX
PYTHON = "3.11"

nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = True


def install(session: nox.Session) -> None:
    """Installs the project (editable) with its test extras, unless this venv already has this pyproject."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = Path(session.virtualenv.location) / ".installed-pyproject"
    if stamp.exists() and stamp.read_text() == digest:
        return
    session.install("-e", ".[test]")
    stamp.write_text(digest)


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Export the reference specs, train them in Python and TF Java, print the verdicts.

    Arguments after `--` go to `python -m harness conformance` (e.g. `-- --spec mlp_regression --java 1.1.0`).
    """
    install(session)
    session.run("python", "-m", "harness", "conformance", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The project's tests, TF Java included (Java 17 and Maven must be installed). Arguments go to pytest."""
    install(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON, default=False)
def stateful(session: nox.Session) -> None:
    """The cross-language state machine alone, with a hypothesis profile: `nox -s stateful -- thorough`.

    Profiles: ci (derandomized, what CI runs), dev (default here), thorough (nightly / release validation).
    The example database (.hypothesis/) is kept between local runs.
    """
    install(session)
    profile = session.posargs[0] if session.posargs else "dev"
    session.run("pytest", "tests/test_interleavings.py", *session.posargs[1:], env={"HYPOTHESIS_PROFILE": profile})


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, printed and written to reports/bench.json: train step per runtime (plain Java
    included), JPype over plain Java, tensor transfer, -j 2 over -j 1, soak. Arguments go to
    `python -m harness.bench` (e.g. `-- --parallel mlp_regression,cnn`; `-- --help`)."""
    install(session)
    session.run("python", "-m", "harness.bench", *session.posargs)
