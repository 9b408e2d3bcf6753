"""The export cache's housekeeping: entries in use are locked; superseded entries are pruned.

`.cache/exports/<spec>.<route>.<key>/` entries are keyed by content (bundle.py). Without pruning,
every change of the exporter code or of Keras leaves the previous exports behind for good.

Superseded: after a successful build of entry N, an entry E of the same spec name, route and
exporter TF version that was built by another exporter (its exporter source, Keras or tf-keras
version or bundle format differ from N's). The current checkout can never hit E again, whatever
E's spec content. Entries with the same name but other spec content built by the same exporter
(hypothesis' generated models, all named "generated"; the round-trip test's learning-rate
variants of mlp_regression) are live and kept.

In use: every process that opens an entry (bundle.build) holds a shared lock (flock) on its
manifest.json until it exits; locks die with their process, crashed or not. The pruner takes an
exclusive lock without waiting: if any process holds the entry, the entry stays (it is pruned by a
later build). Otherwise it is renamed out of sight (one atomic rename: a process opening it from
now on finds nothing and builds) and deleted. A process that opened the manifest just before the
rename sees, once it has its lock, that the path no longer leads to it, and builds anew.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from pathlib import Path

EXPORTER = ("format", "exporter_source", "keras", "tf_keras")  # manifest fields naming who built an entry
SAME = ("spec", "route", "tensorflow")  # what an entry must share with the new one to be superseded by it
_TRASH = ".trash."
_STALE_BUILD = 24 * 3600  # a build folder (".<entry>.xxxx") this old belongs to a build that died

_held: dict[Path, int] = {}  # entry -> descriptor of its locked manifest, for this process's lifetime


def claim(root: Path) -> bool:
    """Whether the complete entry `root` exists; if so, this process holds it until it exits."""
    root = Path(root)
    if root in _held:
        return True
    path = root / "manifest.json"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a pruner holds it, a moment
    try:
        same = os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        same = False
    if not same:  # pruned meanwhile
        os.close(fd)
        return False
    _held[root] = fd
    return True


def prune(root: Path) -> list[str]:
    """Deletes the entries `root` supersedes that no process holds; returns their names."""
    root = Path(root)
    new = _manifest(root)
    if new is None:
        return []
    removed = []
    for entry in sorted(root.parent.iterdir()):
        name = entry.name
        if name.startswith(_TRASH):  # left by a pruner that died mid-delete
            _remove(entry)
        elif name.startswith(".") and _older_than(entry, _STALE_BUILD):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry != root and not name.startswith(".") and entry.is_dir():
            old = _manifest(entry)
            if old is None or any(old.get(f) != new.get(f) for f in SAME):
                continue
            if any(old.get(f) != new.get(f) for f in EXPORTER) and _remove(entry):
                removed.append(name)
    return removed


def _remove(entry: Path) -> bool:
    """Deletes `entry` unless a process holds it."""
    try:
        fd = os.open(entry / "manifest.json", os.O_RDONLY)
    except FileNotFoundError:  # not a complete entry (or trash with its manifest already gone)
        if entry.name.startswith(_TRASH):
            shutil.rmtree(entry, ignore_errors=True)
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # in use
            return False
        trash = entry if entry.name.startswith(_TRASH) else entry.with_name(f"{_TRASH}{entry.name}.{os.getpid()}")
        try:
            os.replace(entry, trash)
        except OSError:
            return False
        shutil.rmtree(trash, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def _manifest(entry: Path) -> dict | None:
    try:
        return json.loads((entry / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False
