"""An export bundle on disk: the SavedModel, its data and a manifest, reused only when identical.

    <bundle>/saved_model/   the SavedModel (never written after creation)
    <bundle>/data.npz       deterministic batches (see data.py)
    <bundle>/manifest.json  spec digest, route, versions, signatures: the cache key's inputs
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import atomic, cache
from . import data as data_mod
from .errors import HarnessError
from .spec import Spec

# Bump when the bundle layout or the export code changes meaning; the source hash below catches the rest.
FORMAT = 1
_EXPORT_SOURCES = ("data.py", "bundle.py", "spec.py", "export_worker.py", "routes/*.py")


@dataclass(frozen=True)
class Bundle:
    root: Path
    manifest: dict

    @property
    def saved_model(self) -> Path:
        return self.root / "saved_model"

    @property
    def data_path(self) -> Path:
        return self.root / "data.npz"

    def data(self) -> dict[str, np.ndarray]:
        return load_data(self.data_path)

    @property
    def name(self) -> str:
        return f"{self.manifest['spec']}.{self.manifest['route']}"


def build(spec: Spec, route: str, cache_dir: Path) -> Bundle:
    """The bundle for (spec, route), exported now or reused from the cache when its key matches."""
    import tensorflow as tf

    from . import routes

    manifest = {
        "format": FORMAT,
        "spec": spec.name,
        "spec_digest": spec.digest,
        "route": route,
        "tensorflow": tf.__version__,
        "keras": package_version("keras"),
        "tf_keras": package_version("tf_keras"),
        "exporter_source": _source_digest(),
    }
    key = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    root = cache_dir / f"{spec.name}.{route}.{key}"
    if cache.claim(root):  # held by this process from now on: never pruned under it
        return open_bundle(root)

    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=cache_dir))
    try:
        data = data_mod.generate(spec)
        np.savez(tmp / "data.npz", **data)
        if spec.replicas:  # needs its own logical CPU devices: export in a process of its own
            names = _export_in_subprocess(spec, route, tmp)
        else:
            names = routes.export(spec, route, tmp / "saved_model", data)
        manifest |= {
            "signatures": list(routes.SIGNATURES),
            "save_signature_variables": names,
            "steps": spec.steps,
            "resume_steps": spec.resume_steps,
        }
        atomic.write_json(tmp / "manifest.json", manifest)
        try:
            os.replace(tmp, root)  # atomic: a half-written export never looks cached
        except OSError:  # another process built the same entry first: use theirs
            if not (root / "manifest.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if cache.claim(root):
        cache.prune(root)  # the entries this one supersedes, unless a process holds them
    return open_bundle(root)


def _export_in_subprocess(spec: Spec, route: str, tmp: Path) -> list[str]:
    """Runs the export in `python -m harness.export_worker`, so the devices a distributed export
    needs (several logical CPUs) never exist in the process that runs and compares the exports."""
    request = json.dumps({"raw": spec.raw, "route": route, "bundle": str(tmp)})
    done = subprocess.run([sys.executable, "-m", "harness.export_worker"], input=request, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise HarnessError(f"exporting {spec.name} by {route} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def open_bundle(root: Path) -> Bundle:
    root = Path(root)
    if not root.is_dir():
        raise HarnessError(f"{root}: export bundle directory does not exist")
    path = root / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"{path}: missing; not an export bundle made by this harness") from None
    except json.JSONDecodeError as e:
        raise HarnessError(f"{path}: not valid JSON: {e}") from None
    return Bundle(root, manifest)


def load_data(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise HarnessError(f"{path}: data file does not exist") from None
    except (ValueError, OSError) as e:
        raise HarnessError(f"{path}: not a readable .npz file: {e}") from None


def package_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package.replace("_", "-"))
    except PackageNotFoundError:
        return None


def _source_digest() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for pattern in _EXPORT_SOURCES:
        for path in sorted(here.glob(pattern)):
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
