"""Sessions: `nox -s conformance` (the main job), `nox -s tests` (the project's tests), `nox -s matrix`
and `nox -s release` (TF release validation), `nox -s provision` (the other TF Python versions'
virtualenvs, ahead of time), `nox -s mutants` (mutation testing of the verdicts), `nox -s bench`,
`nox -s docs` (every command the docs show, run) and `nox -s screenshot` (the README's picture of a report).

Virtualenvs are built by uv (nox's uv backend: `pip install "nox[uv]"`), reused, and reinstalled only
when pyproject.toml changes; uv's cache (~/.cache/uv) holds one copy of each wheel, hard-linked into every
session's virtualenv and the TF Python matrix's (harness/runs/venvs.py); the Maven repository (~/.m2) is Maven's.
"""

import hashlib
import os
import runpy
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
VERSIONS = runpy.run_path(str(ROOT / "harness" / "runs" / "versions.py"))  # TF_PYTHON(_MATRIX), TF_JAVA(_MATRIX)
PYTHON = "3.11"

nox.options.reuse_venv = "yes"
# uv builds every session's virtualenv from its cache (~/.cache/uv) by hard links: TensorFlow is
# downloaded and unpacked once, and a second session's install takes seconds.
nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = True


# The HTML report's tests drive a real browser; pip cannot install one, the system's package manager can.
# What the tests need beyond pip, as Debian packages: program names (any one will do), the package, who needs it.
SYSTEM_TOOLS = (
    (("chromium", "chromium-browser"), "chromium", "the HTML report's tests"),
    (("gcc", "cc"), "gcc", "the C API runtime (c/train_export.c)"),
)


def require_system_tools(session: nox.Session) -> None:
    """Installs the Debian packages of SYSTEM_TOOLS that are missing when this session may (root, apt-get:
    CI's case); otherwise stops the session before any test runs, printing the one command that installs them."""
    missing = [(names, package, who) for names, package, who in SYSTEM_TOOLS if not any(shutil.which(n) for n in names)]
    if not missing:
        return
    packages = " ".join(package for _, package, _ in missing)
    command = f"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {packages}"
    needed = "; ".join(f"{package} ({who})" for _, package, who in missing)
    if not shutil.which("apt-get"):
        session.error(f"missing: {needed}: install them with the system's package manager, e.g. on Debian: {command}")
    if os.geteuid() != 0:
        session.error(f"missing: {needed}; install them, then run the tests again:\n  sudo sh -c '{command}'")
    session.log(f"missing: {needed}: installing Debian's packages")
    # An install step: run under --install-only too (session.run would be skipped there).
    session.run_install("sh", "-c", command, external=True, silent=True)  # nox shows the output if it fails
    for names, package, _ in missing:
        if not any(shutil.which(n) for n in names):
            session.error(f"`{command}` succeeded but no {' or '.join(names)} is on PATH")


# Go programs the tests run, installed with `go install` (the Go module proxy) into .cache/tools/: name, module@version, who.
GO_TOOLS = (("actionlint", "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12", "tests/test_action.py"),)


def require_go_tools(session: nox.Session) -> None:
    """Installs GO_TOOLS that are missing (into .cache/tools/<module@version>/) and names each to the tests
    by its environment variable (ACTIONLINT=...); stops the session if Go itself is missing."""
    for name, module, who in GO_TOOLS:
        folder = ROOT.resolve() / ".cache" / "tools" / module.replace("/", "_")
        if not (folder / name).exists():
            go = shutil.which("go") or next((g for g in ["/usr/local/go/bin/go"] if Path(g).exists()), None)
            if go is None:
                session.error(f"missing: go, to install {name} ({who}): install Go, e.g. on Debian: apt-get install golang")
            session.log(f"installing {name} ({who}): go install {module}")
            session.run_install(go, "install", module, env={"GOBIN": str(folder)}, external=True, silent=True)
        session.env[name.upper()] = str(folder / name)


def install(session: nox.Session, extras: str = "test") -> None:
    """Installs the project (editable) with `extras`, unless this venv already has this pyproject."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = Path(session.virtualenv.location) / ".installed-pyproject"
    if stamp.exists() and stamp.read_text() == digest:
        return
    session.install("-e", f".[{extras}]")
    stamp.write_text(digest)


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Export the reference specs, train them in Python and TF Java, print the verdicts.

    Arguments after `--` go to `python -m harness conformance` (e.g. `-- --spec mlp_regression --java 1.1.0`).
    """
    install(session)
    session.run("python", "-m", "harness", "conformance", *session.posargs)


@nox.session(python=PYTHON, default=False)
def matrix(session: nox.Session) -> None:
    """The version matrix: every TF Python of versions.TF_PYTHON_MATRIX exports the zoo and trains every
    export, with every TF Java of TF_JAVA_NATIVE and every other kind the registry versions by TF (`--all-kinds`:
    the C API, TFLite). TF versions are installed once into cached venvs."""
    require_system_tools(session)  # gcc for the C API runtime
    install(session)
    tf = [arg for v in VERSIONS["TF_PYTHON_MATRIX"] for arg in ("--tf", v)]
    java = [arg for v in VERSIONS["TF_JAVA_NATIVE"] for arg in ("--java", v)]  # every TF Java version known
    session.run("python", "-m", "harness", "conformance", *tf, *java, "--all-kinds", "--out", "reports/matrix",
                *session.posargs)


@nox.session(python=PYTHON, default=False)
def release(session: nox.Session) -> None:
    """Validate a TF release: `nox -s release -- 2.21.0 [--baseline 2.20.0] [--fail-on-drift]`."""
    install(session)
    if not session.posargs:
        session.error("usage: nox -s release -- CANDIDATE [--baseline VERSION] [--fail-on-drift]")
    session.run("python", "-m", "harness", "release", "--out", "reports/release", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The project's tests, TF Java included (Java 17 and Maven must be installed). Arguments go to pytest.

    The HTML report is tested in headless Chromium: installed here when missing, and gcc for the C API runtime
    (require_system_tools); actionlint, for the GitHub Action's tests, with `go install` (require_go_tools).
    """
    require_system_tools(session)
    require_go_tools(session)
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
    `python -m harness.testing.bench` (e.g. `-- --parallel mlp_regression,cnn`; `-- --help`)."""
    install(session)
    session.run("python", "-m", "harness.testing.bench", *session.posargs)


@nox.session(python=PYTHON, default=False)
def provision(session: nox.Session) -> None:
    """Build the virtualenvs of TF Python versions ahead of time, in .cache/venvs/ (what the harness uses).

    `nox -s provision` builds the matrix (harness/runs/versions.py TF_PYTHON_MATRIX); `nox -s provision -- 2.15.1 2.22.0rc0`
    the versions named. Each is built once (wheels come from uv's cache, ~/.cache/uv, after the first download);
    the harness's own TF_PYTHON is this session's interpreter and needs no virtualenv.
    """
    install(session)
    session.run("python", "-m", "harness.runs.venvs", *session.posargs)


@nox.session(python=PYTHON, default=False)
def mutants(session: nox.Session) -> None:
    """Mutation testing of the verdicts: plants the catalog of faults, prints caught / planted and every survivor.

    Runtime faults (harness/testing/faults.py, planted in TF Java as a runtime kind of its own, each caught by a
    conformance run) and mutmut's mutants of the verdict engine (caught by the fast tests). Arguments go
    to tools/mutants.py: `-- runtime`, `-- engine`, `-- --diffs`, `-- --max-children 2`.
    """
    install(session, "test,mutants")
    session.run("python", "tools/mutants.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def docs(session: nox.Session) -> None:
    """Run every command README.md and docs/ show (```sh blocks marked `<!-- run -->`, tools/docs.py) and check
    each exits as marked. Arguments select blocks by `file:line` substring: `nox -s docs -- docs/certify.md`."""
    require_system_tools(session)  # Chromium for `nox -s screenshot` and the tests a block may run
    install(session)
    session.run("python", "tools/docs.py", "run", *session.posargs)


@nox.session(python=PYTHON, default=False)
def screenshot(session: nox.Session) -> None:
    """The README's picture: a real conformance run (one spec), its index.html rendered by headless Chromium
    into docs/report.png (tools/screenshot.py)."""
    require_system_tools(session)
    install(session)
    session.run("python", "-m", "harness", "conformance", "--spec", "mlp_regression", "--java", "1.1.0",
                "--out", "reports/screenshot")
    session.run("python", "tools/screenshot.py", "reports/screenshot/index.html", "docs/report.png")
