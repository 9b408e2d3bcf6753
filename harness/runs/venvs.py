"""Python interpreters with other TensorFlow versions: one virtualenv per version, built once by uv.

    interpreter("2.15.1", cache_dir)  -> cache_dir/venvs/tf-2.15.1-<digest>/bin/python
    interpreter("2.21.0", cache_dir, beside=("ai-edge-litert==2.3.0",))
                                      -> cache_dir/venvs/tf-2.21.0+ai-edge-litert-2.3.0-<digest>/bin/python

A virtualenv holds what the exporter (harness/routes, data, spec, bundle, export_worker) and the
Python runtime worker import: TensorFlow, numpy, Keras as that TensorFlow wants it and the
tf-keras of the same minor version (`pins`). Never JPype or pytest: the harness's own code that
needs those runs in the harness's process. Its directory name carries a digest of the pins and the
Python, so changing `pins` builds a new one. A `.complete.json` stamp, written last, marks it
usable; a directory without it is half built and is rebuilt. Builders of the same virtualenv take
turns on a lock file. uv keeps every wheel it downloaded in its cache (~/.cache/uv, or
$UV_CACHE_DIR): building a version a second time downloads nothing.

Which versions exist is asked of the package index (PyPI's simple API, JSON form) and kept for
`LISTING_TTL` seconds under cache_dir/venvs/index/.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.tags import sys_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from .. import atomic, resources
from ..errors import HarnessError

FORMAT = 2  # bump when the way a virtualenv is built changes (2: its stamp records `modules`)
STAMP = ".complete.json"
LISTING_TTL = 600.0
DEFAULT_INDEX = "https://pypi.org/simple"
NIGHTLY = "tf-nightly"  # the package of TensorFlow's dated nightlies (2.23.0.dev20261026)


def package_of(tf_version: str) -> str:
    """The distribution that ships TensorFlow `tf_version`: a dev version is a nightly (tf-nightly)."""
    return NIGHTLY if _version(tf_version).dev is not None else "tensorflow"


def newest_nightly(cache_dir: Path | None = None) -> str:
    """The newest tf-nightly the index serves for this Python and platform (`release nightly`)."""
    nightlies = installable(cache_dir, NIGHTLY)
    if not nightlies:
        raise HarnessError(f"{_index()} serves no {NIGHTLY} wheel for this Python and platform")
    return nightlies[0]


def pins(tf_version: str) -> list[str]:
    """The requirements of the virtualenv for TensorFlow `tf_version`: the one place they are decided.

    - TensorFlow exactly.
    - Before 2.16, tf.keras is the `keras` package 2.x of the same minor version, and TF needs
      numpy 1 (TF 2.15's metadata says numpy<2.0.0; its kernels were built against numpy 1).
    - From 2.16 on TF depends on Keras 3 (a `keras` release; an rc on `keras-nightly`) and that
      dependency is left to TF. numpy 2 from TF 2.18 on (2.16 and 2.17 require numpy<2).
    - tf-keras (Keras 2 under another name) of the same minor version, from 2.14 on; for a
      pre-release, the tf-keras pre-releases of that minor are admitted too.
    - A nightly (2.23.0.dev20261026) is tf-nightly, whose own dependency brings keras-nightly; its
      tf-keras is tf-keras-nightly of the same minor dated at or before it (those carry the hour too:
      2.23.0.dev2026102618), so uv picks the nearest one.
    """
    v = _version(tf_version)
    minor = (v.major, v.minor)
    same_minor = f">={v.major}.{v.minor}.0{'rc0' if v.is_prerelease else ''},<{v.major}.{v.minor + 1}"
    if v.dev is not None:
        return [f"{NIGHTLY}=={v}", f"tf-keras-nightly>={v.major}.{v.minor}.0.dev0,<={v.base_version}.dev{v.dev}99"]
    requirements = [f"tensorflow=={v}"]
    if minor < (2, 16):
        requirements.append(f"keras>={v.major}.{v.minor}.0,<{v.major}.{v.minor + 1}")
    if minor < (2, 18):
        requirements.append("numpy<2")
    if minor >= (2, 14):
        requirements.append(f"tf-keras{same_minor}")
    return requirements


def interpreter(tf_version: str, cache_dir: Path, beside: tuple[str, ...] = ()) -> Path:
    """The Python interpreter of a virtualenv with TensorFlow `tf_version` (built now if need be).

    The harness's own TensorFlow is the harness's own interpreter. Any other version the package
    index serves for this Python and platform is accepted, pre-releases included; an unknown one
    is a HarnessError listing the versions that exist. `beside`: exact pins ("name==version") installed
    with TF's (a runtime that is a package of its own beside TF: litert.py); such a virtualenv is
    always one of its own, never the harness's interpreter, so the harness never depends on them.
    """
    harness_tf = harness_tf_version()
    if not beside and harness_tf is not None and _same_version(tf_version, harness_tf):
        return Path(sys.executable)
    cache_dir = Path(cache_dir)
    try:
        requirements = pins(tf_version)
    except HarnessError:  # not a version at all: say which ones exist
        check_available(tf_version, cache_dir)
        raise
    version = str(_version(tf_version))
    requirements += list(beside)
    root = cache_dir / "venvs" / _name(version, requirements, beside)
    python = root / "bin" / "python"
    if _usable(root, cache_dir):
        return python
    check_available(version, cache_dir)
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.with_name(f".{root.name}.lock")):
        if not _usable(root, cache_dir):  # another builder may have finished while we waited
            _build(root, version, requirements, cache_dir)
    return python


def stamp(tf_version: str, cache_dir: Path, beside: tuple[str, ...] = ()) -> dict | None:
    """What a built virtualenv recorded (pins, installed versions, build time), or None if not built."""
    try:
        requirements = pins(tf_version) + list(beside)
        root = Path(cache_dir) / "venvs" / _name(str(_version(tf_version)), requirements, beside)
        return json.loads((root / STAMP).read_text())
    except (FileNotFoundError, json.JSONDecodeError, HarnessError):
        return None


def _name(version: str, requirements: list[str], beside: tuple[str, ...]) -> str:
    """tf-2.15.1-<digest>; with packages beside TF, tf-2.21.0+ai-edge-litert-2.3.0-<digest>."""
    extra = "".join(f"+{pin.replace('==', '-')}" for pin in beside)
    return f"tf-{version}{extra}-{_digest(requirements)}"


def harness_tf_version() -> str | None:
    """The TensorFlow this process imports (`tensorflow.__version__`, canonical), None without one."""
    try:
        import tensorflow
    except ImportError:
        return None
    return _canonical(tensorflow.__version__) or tensorflow.__version__


def modules(python: Path | str | None = None) -> dict[str, str | None]:
    """What an interpreter imports: MODULES -> `__version__` (canonical, e.g. 2.22.0rc0), None where it
    does not import. Read by importing, never by distribution name: a TF pre-release brings Keras as
    `keras-nightly`, and the module is what the exporter runs. `python`: this process when None (the
    modules are imported here, once), else that interpreter (a subprocess, once per interpreter;
    a virtualenv's stamp keeps what it found when built)."""
    key = str(python) if python is not None and Path(python) != Path(sys.executable) else None
    if key not in _modules_seen:
        recorded = _recorded_modules(Path(python)) if key is not None else None
        if key is None:
            found = json.loads(_import_versions())
        elif recorded is not None:
            found = recorded
        else:
            done = subprocess.run([key, "-I", "-c", _MODULES_SCRIPT], capture_output=True, text=True,
                                  env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            if done.returncode != 0:
                raise HarnessError(f"{python}: cannot import its modules to read their versions: "
                                   f"{_last_line(done.stderr)}")
            found = json.loads(done.stdout.splitlines()[-1])
        _modules_seen[key] = {name: _canonical(v) or v if v else None for name, v in found.items()}
    return dict(_modules_seen[key])


_modules_seen: dict[str | None, dict] = {}
# The modules an exporter's virtualenv is described by. tf_keras after keras: both import tensorflow.
MODULES = ("tensorflow", "keras", "tf_keras", "numpy")
_MODULES_SCRIPT = f"""
import importlib, json
def get(name):
    try:
        return importlib.import_module(name).__version__
    except Exception:  # not installed, or installed and broken: either way it cannot export
        return None
print(json.dumps({{name: get(name) for name in {MODULES!r}}}))
"""


def _recorded_modules(python: Path) -> dict | None:
    """What the stamp of the virtualenv `python` belongs to recorded when it was built, if it is one of ours."""
    try:
        record = json.loads((python.parent.parent / STAMP).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return record.get("modules") if record.get("format") == FORMAT else None


def _import_versions() -> str:
    """_MODULES_SCRIPT's output, run in this process."""
    import contextlib as _contextlib
    import io

    out = io.StringIO()
    with _contextlib.redirect_stdout(out):
        exec(_MODULES_SCRIPT, {})
    return out.getvalue().splitlines()[-1]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def available(cache_dir: Path | None = None, package: str = "tensorflow") -> list[str]:
    """Every version of `package` the index serves (some file not yanked), newest first."""
    listing = _listing(package, cache_dir)
    files = _files_by_version(package, listing)
    return _newest_first(v for v in listing.get("versions", []) if files.get(_canonical(v)))


def installable(cache_dir: Path | None = None, package: str = "tensorflow") -> list[str]:
    """The versions of `package` with a wheel for this Python and platform, newest first."""
    listing = _listing(package, cache_dir)
    files = _files_by_version(package, listing)
    tags = set(sys_tags())
    return _newest_first(v for v in listing.get("versions", []) if _has_wheel(files.get(_canonical(v), []), tags))


def check_available(tf_version: str, cache_dir: Path | None = None) -> None:
    """Raises a HarnessError unless the index serves TensorFlow `tf_version` for this Python and platform."""
    package = "tensorflow"
    with contextlib.suppress(HarnessError):
        package = package_of(tf_version)
    versions = available(cache_dir, package)
    try:
        wanted = Version(tf_version)
    except InvalidVersion:
        wanted = None
    if wanted is None or str(wanted) not in versions:
        raise HarnessError(f"TensorFlow {tf_version!r} is not on {_index()} ({package}); versions that exist, newest "
                           f"first: {', '.join(versions)}")
    if str(wanted) not in installable(cache_dir, package):
        python = f"CPython {sys.version_info.major}.{sys.version_info.minor}"
        files = _files_by_version(package, _listing(package, cache_dir))[str(wanted)]
        built_for = sorted({t.interpreter for name in files if name.endswith(".whl")
                            for t in parse_wheel_filename(name)[3]})
        raise HarnessError(
            f"TensorFlow {wanted} has no wheel for {python} on this platform ({next(iter(sys_tags()))}); "
            f"its wheels are for {', '.join(built_for) or 'no Python (source only)'}; versions installable here, "
            f"newest first: {', '.join(installable(cache_dir, package))}")


def tf_keras_release(tf_version: str, cache_dir: Path | None = None) -> str | None:
    """The newest tf-keras (tf-keras-nightly for a nightly) that `pins(tf_version)` admits and the index
    serves, or None."""
    pin = _tf_keras_pin(pins(tf_version))
    if pin is None:
        return None
    package, admitted = pin
    return next((v for v in available(cache_dir, package) if admitted.contains(v, prereleases=True)), None)


def keras_nightly_of(tf_version: str, cache_dir: Path | None = None) -> str | None:
    """For a nightly, `keras-nightly==X`: the newest keras-nightly dated at or before it (keras-nightly's
    versions carry the hour, 3.16.0.dev2026102704; its release number is Keras's own, so no version range
    can say "dated at or before", hence a listing); None for a release, or when the index dates none so early.
    Decided when the virtualenv is built (the stamp records it), never part of its name: a start needs no
    network after that."""
    dev = _version(tf_version).dev
    if dev is None:
        return None
    day = str(dev)[:8]
    dated = [v for v in available(cache_dir, "keras-nightly")
             if (parsed := _parsed(v)) is not None and parsed.dev is not None and str(parsed.dev)[:8] <= day]
    return f"keras-nightly=={dated[0]}" if dated else None


def _tf_keras_pin(requirements: list[str]) -> tuple[str, SpecifierSet] | None:
    """(tf-keras or tf-keras-nightly, the versions admitted) of a virtualenv's pins, None without one."""
    for requirement in requirements:
        for package in ("tf-keras-nightly", "tf-keras"):
            if requirement.startswith(package) and requirement[len(package):][:1] in "<>=!~":
                return package, SpecifierSet(requirement[len(package):])
    return None


def previous_release(version: str, available: list[str]) -> str:
    """The newest final release in `available` older than `version` (the baseline of a release check)."""
    target = _version(version)
    older = [v for v in (_parsed(a) for a in available) if v is not None and not v.is_prerelease and v < target]
    if not older:
        raise HarnessError(f"no release before {version} among {', '.join(available) or 'no versions'}")
    return str(max(older))


# -- building -----------------------------------------------------------------------------------

def _build(root: Path, version: str, requirements: list[str], cache_dir: Path) -> None:
    started = time.monotonic()
    if root.exists():  # half built (no stamp): never used, rebuilt from scratch
        shutil.rmtree(root)
    uv = uv_binary()
    absent = {}
    if any(r.startswith("tf-keras") for r in requirements) and _version(version).is_prerelease:
        # tf-keras is published after TF's own pre-releases, if at all: build without it meanwhile.
        if tf_keras_release(version, cache_dir) is None:
            absent["tf-keras"] = (f"no {' '.join(r for r in requirements if r.startswith('tf-keras'))} "
                                  f"on {_index()} yet")
            requirements = [r for r in requirements if not r.startswith("tf-keras")]
    keras = keras_nightly_of(version, cache_dir)
    if keras:  # TF's own dependency would take the newest keras-nightly, however much later than the nightly
        requirements = [*requirements, keras]
    elif _version(version).dev is not None:
        absent["keras-nightly"] = f"no keras-nightly dated at or before {version} on {_index()}: TF's dependency chose"
    _run([uv, "venv", "--no-project", "--no-config", "--python", sys.executable, str(root)], f"creating {root}")
    python = root / "bin" / "python"
    _run([uv, "pip", "install", "--no-config", "--python", str(python), *requirements],
         f"installing {' '.join(requirements)} into {root}")
    check = subprocess.run([str(python), "-I", "-c", "import numpy, tensorflow as tf; print(tf.__version__)"],
                           capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if check.returncode != 0:
        raise HarnessError(f"{root}: TensorFlow {version} does not import after installing "
                           f"{' '.join(requirements)}:\n{check.stderr[-3000:]}")
    imported = check.stdout.split()[-1:]  # tf.__version__ spells an rc "2.22.0-rc0", a nightly "2.23.0-dev20261026"
    if not imported or not _same_version(imported[0], version):
        raise HarnessError(f"{root}: installing {' '.join(requirements)} gave TensorFlow {imported}, not {version}")
    atomic.write_json(root / STAMP, {
        "format": FORMAT,
        "tensorflow": version,
        "pins": requirements,
        "absent": absent,
        "python": sys.version.split()[0],
        "modules": modules(python),
        "build_seconds": round(time.monotonic() - started, 1),
    })


def uv_binary() -> str:
    """uv: the one the `uv` package ships (a dependency in pyproject.toml), else the one on PATH."""
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise HarnessError("uv is not installed: `pip install uv` (pyproject.toml lists it), or put uv on PATH")


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"{what} failed ({' '.join(command[:3])} ... exit {done.returncode}):\n"
                           f"{done.stderr[-4000:]}")


def _usable(root: Path, cache_dir: Path) -> bool:
    """Built completely, its interpreter still there; a pre-release built without tf-keras is
    rebuilt once the index has that tf-keras (checked at most every LISTING_TTL seconds)."""
    try:
        record = json.loads((root / STAMP).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    if record.get("format") != FORMAT or not (root / "bin" / "python").exists():
        return False
    if _version(record["tensorflow"]).dev is not None and "keras-nightly" not in record.get("absent", {}) \
            and not any(p.startswith("keras-nightly==") for p in record.get("pins", [])):
        return False  # a nightly built before its keras-nightly was bounded by date (keras_nightly_of)
    if record.get("absent", {}).get("tf-keras"):
        with contextlib.suppress(HarnessError):  # offline: the venv stays as it is
            if tf_keras_release(record["tensorflow"], cache_dir) is not None:
                (root / STAMP).unlink(missing_ok=True)
                return False
    return True


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _digest(requirements: list[str]) -> str:
    key = {"format": FORMAT, "pins": requirements, "python": f"{sys.implementation.name}{sys.version_info[:2]}"}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


# -- the package index ----------------------------------------------------------------------------

_memo: dict[str, tuple[float, dict]] = {}


def _index() -> str:
    """The index uv installs from: $UV_DEFAULT_INDEX, $UV_INDEX_URL, $PIP_INDEX_URL, else PyPI."""
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(name):
            return os.environ[name].rstrip("/")
    return DEFAULT_INDEX


def _listing(package: str, cache_dir: Path | None) -> dict:
    """The index's JSON page of `package` (PEP 691): {"versions": [...], "files": [...]}, kept briefly."""
    url = f"{_index()}/{package}/"
    now = time.time()
    if url in _memo and now - _memo[url][0] < LISTING_TTL:
        return _memo[url][1]
    path = Path(cache_dir) / "venvs" / "index" / f"{package}.json" if cache_dir is not None else None
    if path is not None:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            kept = json.loads(path.read_text())
            if kept["url"] == url and now - kept["fetched"] < LISTING_TTL:
                _memo[url] = (kept["fetched"], kept["listing"])
                return kept["listing"]
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            page = json.load(response)
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as e:
        raise HarnessError(f"cannot list the versions of {package} at {url}: {e}") from None
    listing = {"versions": page.get("versions", []),
               "files": [{"filename": f["filename"], "yanked": bool(f.get("yanked"))} for f in page.get("files", [])]}
    if not listing["versions"]:  # an index without PEP 700's version list: derive it from the files
        listing["versions"] = sorted({v for v in _files_by_version(package, listing)})
    _memo[url] = (now, listing)
    if path is not None:
        atomic.write_json(path, {"url": url, "fetched": now, "listing": listing})
    return listing


def _files_by_version(package: str, listing: dict) -> dict[str, list[str]]:
    """Canonical version -> the names of its files that are not yanked."""
    out: dict[str, list[str]] = {}
    for f in listing["files"]:
        if f["yanked"]:
            continue
        version = _file_version(package, f["filename"])
        if version is not None:
            out.setdefault(version, []).append(f["filename"])
    return out


def _file_version(package: str, filename: str) -> str | None:
    if filename.endswith(".whl"):
        try:
            return str(parse_wheel_filename(filename)[1])
        except (InvalidWheelFilename, InvalidVersion):
            return None
    for suffix in (".tar.gz", ".zip"):
        prefix = package.replace("-", "_")
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            for p in (package, prefix):
                if stem.lower().startswith(p.lower() + "-"):
                    return _canonical(stem[len(p) + 1:])
    return None


def _has_wheel(filenames: list[str], tags: set) -> bool:
    for name in filenames:
        if name.endswith(".whl"):
            with contextlib.suppress(InvalidWheelFilename, InvalidVersion):
                if tags & set(parse_wheel_filename(name)[3]):
                    return True
    return False


# -- versions ---------------------------------------------------------------------------------------

def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise HarnessError(f"{text!r} is not a TensorFlow version (e.g. 2.15.1, 2.22.0rc0)") from None


def _parsed(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _canonical(text: str) -> str | None:
    parsed = _parsed(text)
    return None if parsed is None else str(parsed)


def _same_version(a: str, b: str) -> bool:
    pa, pb = _parsed(a), _parsed(b)
    return pa is not None and pa == pb


def _newest_first(versions) -> list[str]:
    parsed = {v for v in (_parsed(v) for v in versions) if v is not None}
    return [str(v) for v in sorted(parsed, reverse=True)]





def main(argv: list[str] | None = None) -> int:
    """Build the virtualenvs of TF Python versions ahead of time and print each one's interpreter.

    `python -m harness.runs.venvs [VERSION ...] [--cache-dir DIR]`; default: versions.TF_PYTHON_MATRIX.
    """
    import argparse

    from .versions import TF_PYTHON_MATRIX

    parser = argparse.ArgumentParser(prog="python -m harness.runs.venvs", description=main.__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", metavar="VERSION", help="TensorFlow versions (default: the matrix)")
    parser.add_argument("--cache-dir", type=Path, default=resources.cache_dir())
    args = parser.parse_args(argv)
    try:
        for version in args.versions or TF_PYTHON_MATRIX:
            started = time.monotonic()
            python = interpreter(version, args.cache_dir)
            print(f"TF {version}: {python} ({time.monotonic() - started:.1f} s)", flush=True)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
