"""The harness as a user installs it: a wheel built from this checkout, installed (not editable) into a fresh
virtualenv, run from a folder outside the checkout. Used by test_wheel.py and test_action.py."""

import os
import subprocess
import sys
from pathlib import Path

from .conftest import CACHE, ROOT

# What an installed harness caches ($TF_CONFORMANCE_CACHE): kept between test sessions, content-keyed like
# .cache/ (jars, classpaths, worker classes), so a second run does not build them again.
INSTALLED_CACHE = CACHE / "installed"


def uv(*args, **kwargs) -> subprocess.CompletedProcess:
    """uv (a dependency of the harness: this interpreter has it); its cache (~/.cache/uv) hard-links the wheels."""
    done = subprocess.run([sys.executable, "-m", "uv", *map(str, args)], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"uv {' '.join(map(str, args))}: {done.stderr[-3000:]}"
    return done


def build_wheel(out: Path) -> Path:
    uv("build", "--wheel", "--out-dir", out, ROOT)
    (wheel,) = out.glob("tf_training_conformance-*.whl")
    return wheel


def fresh_venv(root: Path, pip: bool = False) -> Path:
    """A new virtualenv of this Python (with pip if asked): its interpreter."""
    uv("venv", "--python", sys.executable, *(["--seed"] if pip else []), root)
    return root / "bin" / "python"


def install(python: Path, *what) -> None:
    uv("pip", "install", "--python", python, *what)


def site_packages(python: Path) -> Path:
    return Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder below `folder`: relative path -> (size, mtime in ns)."""
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*")}


def environment(venv_bin: Path, cache: Path = INSTALLED_CACHE) -> dict:
    """The environment of an installed harness's run: its virtualenv first on PATH, its cache, no bytecode
    written (so that any file appearing in site-packages is the harness's doing), no path to this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PATH": f"{venv_bin}{os.pathsep}{env['PATH']}", "TF_CONFORMANCE_CACHE": str(cache),
            "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "CI": "1"}
