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

Damaged: every entry's manifest records the sha256 of each of its files when it was built
(`files`). An entry whose files no longer match (a truncated variables file, a disk error, a hand
edit) is the cache's fault, not the user's input: the first process to open it checks it
(`damage`), moves it out of the way (`evict`) and builds it again.
"""

from __future__ import annotations

import fcntl
import hashlib
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
_intact: set[Path] = set()  # entries this process has checked against their digests


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


def digests(root: Path) -> dict[str, str]:
    """The sha256 of every file under `root` but its manifest, by path relative to `root`."""
    root = Path(root)
    out = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative != "manifest.json":
            out[relative] = _sha256(path)
    return out


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def damage(root: Path) -> str | None:
    """What of the entry `root` no longer matches the digests recorded when it was built; None if all do.

    Files added later are not damage: only what the build recorded is read. Checked once per process."""
    root = Path(root)
    if root in _intact:
        return None
    recorded = (_manifest(root) or {}).get("files")
    if not isinstance(recorded, dict):
        return "its manifest records no file digests"
    found = {relative: _sha256(root / relative) for relative in recorded if (root / relative).is_file()}
    changed = [f"{relative} {'changed' if relative in found else 'missing'}"
               for relative, digest in recorded.items() if found.get(relative) != digest]
    if changed:
        return ", ".join(changed[:3]) + (f" (+{len(changed) - 3} more)" if len(changed) > 3 else "")
    _intact.add(root)
    return None


def evict(root: Path) -> None:
    """Moves the damaged entry `root` out of the way of its rebuild and deletes it, held by other
    processes or not: they would fail on it too."""
    root = Path(root)
    fd = _held.pop(root, None)
    if fd is not None:
        os.close(fd)
    _intact.discard(root)
    trash = root.with_name(f"{_TRASH}{root.name}.{os.getpid()}")
    try:
        os.replace(root, trash)
    except FileNotFoundError:  # another process evicted it first
        return
    shutil.rmtree(trash, ignore_errors=True)


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
