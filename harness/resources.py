"""Where the harness's files are: its run-time data, its caches, its default report folder.

Run-time data (the repository's top-level specs/, expectations/, java/ and c/) are read through
importlib.resources from the package. The wheel carries them inside it as harness/_data/<name>
(pyproject.toml's force-include maps the top-level folders there at build time); a checkout
(editable install, or `python -m harness` from the repository) has no harness/_data and reads the
repository's own folders beside the package. Nothing else in the harness knows the layout.

Caches (exports, jars, built C programs, virtualenvs): $TF_CONFORMANCE_CACHE when set; else a
checkout's .cache/, an installed package's user cache folder (platformdirs). Reports by default: a
checkout's reports/, an installed package's <cache>/reports. An installed package never writes
beside itself.
"""

from __future__ import annotations

import hashlib
import os
import threading
from importlib import resources
from pathlib import Path

NAME = "tf-training-conformance"
ENV_CACHE = "TF_CONFORMANCE_CACHE"
DATA = ("specs", "expectations", "java", "c")

PACKAGE = Path(str(resources.files("harness")))
_PACKED = PACKAGE / "_data"
# A checkout: the repository the package sits in (None for an installed wheel).
CHECKOUT = None if _PACKED.is_dir() else PACKAGE.parent


def data(name: str) -> Path:
    """The folder of run-time data `name` (one of DATA), wherever this harness was installed from."""
    if name not in DATA:
        raise ValueError(f"{name!r}: not one of the harness's data folders {DATA}")
    return (_PACKED if CHECKOUT is None else CHECKOUT) / name


def cache_dir() -> Path:
    """The default cache folder: $TF_CONFORMANCE_CACHE, a checkout's .cache/, else the user's cache folder."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    if CHECKOUT is not None:
        return CHECKOUT / ".cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(NAME, appauthor=False))


def reports_dir() -> Path:
    """The default folder of reports and work files: a checkout's reports/, else <cache>/reports."""
    return CHECKOUT / "reports" if CHECKOUT is not None else cache_dir() / "reports"


_LINKING = threading.Lock()


def import_root() -> Path:
    """A folder to put on a worker's PYTHONPATH so that `import harness` finds this harness and nothing else
    (a worker of another TF version must not see this interpreter's packages): a checkout's repository;
    for an installed package, a folder in the cache holding only a link to it."""
    if CHECKOUT is not None:
        return CHECKOUT
    root = cache_dir() / "python" / hashlib.sha256(str(PACKAGE).encode()).hexdigest()[:12]
    link = root / "harness"
    # Workers start from several threads at once: one thread links at a time (a temporary name per
    # process alone let one thread unlink another's before it was moved), processes race only on the
    # atomic replace.
    with _LINKING:
        if not link.is_symlink() or link.resolve() != PACKAGE.resolve():
            root.mkdir(parents=True, exist_ok=True)
            tmp = root / f".harness.{os.getpid()}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(PACKAGE, target_is_directory=True)
            os.replace(tmp, link)  # atomic: workers starting side by side see the old link or the new one
    return root
