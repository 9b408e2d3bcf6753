"""An export bundle on disk: the SavedModel, its data and a manifest, reused only when identical.

    <bundle>/saved_model/   the SavedModel (never written after creation)
    <bundle>/data.npz       deterministic batches (see data.py)
    <bundle>/manifest.json  spec digest, route, versions, signatures: the cache key's inputs; the
                            sha256 of every other file (`files`), so a damaged entry is rebuilt (cache.py)
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

from .. import atomic
from . import cache
from . import data as data_mod
from ..errors import ExportFailed, HarnessError, NotApplicable, one_line
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


def build(spec: Spec, route: str, cache_dir: Path, tf_version: str | None = None, log: Path | None = None) -> Bundle:
    """The bundle for (spec, route) exported by TF Python `tf_version`, exported now or reused from
    the cache when its key matches.

    None or the harness's own TensorFlow: exported in this process (a distributed spec, in a
    subprocess with the same interpreter). Another version: exported by harness/exports/export_worker.py
    under the interpreter of that version's virtualenv, kept beside `cache_dir` (cache_dir is
    <cache>/exports; virtualenvs go to <cache>/venvs: harness/runs/venvs.py). A route the version cannot
    author raises NotApplicable with the reason (routes.applicable); an export that fails raises
    ExportFailed, one line, its full output written to `log` (when given).
    """
    from . import routes

    python = _exporter_interpreter(tf_version, Path(cache_dir))
    versions = exporter_versions(python)
    reason = routes.applicable(route, versions)
    if reason is not None:
        raise NotApplicable(f"{spec.name} by {route} under TF {versions['tensorflow']}: {reason}")
    manifest = {
        "format": FORMAT,
        "spec": spec.name,
        "spec_digest": spec.digest,
        "route": route,
        "tensorflow": versions["tensorflow"],
        "keras": versions["keras"],
        "tf_keras": versions["tf_keras"],
        "exporter_source": _source_digest(),
    }
    key = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    root = cache_dir / f"{spec.name}.{route}.{key}"
    if cache.claim(root):  # held by this process from now on: never pruned under it
        damaged = cache.damage(root)
        if damaged is None:
            return open_bundle(root)
        print(f"note: rebuilding the damaged cached export {root} ({damaged})", file=sys.stderr)
        cache.evict(root)

    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=cache_dir))
    try:
        data = data_mod.generate(spec)
        np.savez(tmp / "data.npz", **data)
        if python is not None or spec.replicas:  # another TF, or its own logical CPUs: a process of its own
            names = _export_in_subprocess(spec, route, tmp, python or Path(sys.executable), versions, log)
        else:
            try:
                names = routes.export(spec, route, tmp / "saved_model", data)
            except HarnessError:
                raise
            except Exception as e:  # TensorFlow or Keras refused the export: that export's failure, reported
                import traceback

                raise _failed(spec, route, versions, traceback.format_exc(), log, f"{type(e).__name__}: {e}") from None
        manifest |= {
            "signatures": list(routes.SIGNATURES),
            "save_signature_variables": names,
            "steps": spec.steps,
            "resume_steps": spec.resume_steps,
            "files": cache.digests(tmp),
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


def exporter_versions(python: Path | None = None) -> dict[str, str | None]:
    """TensorFlow, Keras and tf-keras versions of the exporter (this process, or the interpreter
    `python`), as their modules report them when imported (venvs.modules): None for one that does not
    import. Keras is whatever `import keras` brings: a `keras` release or `keras-nightly`."""
    from ..runs import venvs

    found = venvs.modules(python)
    return {"tensorflow": found["tensorflow"], "keras": found["keras"], "tf_keras": found["tf_keras"]}


def _exporter_interpreter(tf_version: str | None, cache_dir: Path) -> Path | None:
    """None: this process exports. Else the interpreter of TF `tf_version`'s virtualenv."""
    if tf_version is None:
        return None
    from ..runs import venvs

    python = venvs.interpreter(tf_version, cache_dir.parent)
    return None if python == Path(sys.executable) else python


def _export_in_subprocess(spec: Spec, route: str, tmp: Path, python: Path, versions: dict, log: Path | None) -> list[str]:
    """Runs the export in `python -m harness.exports.export_worker`: under another TF version, or so that the
    devices a distributed export needs (several logical CPUs) never exist in the process that runs
    and compares the exports. Only the repository is on the worker's path: not the harness's packages."""
    request = json.dumps({"raw": spec.raw, "route": route, "bundle": str(tmp), "threads": 1})
    from .. import resources

    root = resources.import_root()
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONNOUSERSITE": "1",
           "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    done = subprocess.run([str(python), "-m", "harness.exports.export_worker"], input=request, capture_output=True, text=True,
                          cwd=root, env=env)
    if done.returncode != 0:
        raise _failed(spec, route, versions, f"{python} -m harness.exports.export_worker: exit {done.returncode}\n{done.stderr}",
                      log, one_line(done.stderr))
    answer = json.loads(done.stdout.splitlines()[-1])
    if answer["versions"] != versions:
        raise HarnessError(f"{python}: exported with {answer['versions']}, expected {versions}")
    return answer["names"]


def _failed(spec: Spec, route: str, versions: dict, output: str, log: Path | None, what: str) -> ExportFailed:
    """The one-line error of a failed export; its whole output (TensorFlow's log lines, the traceback) to `log`."""
    where = ""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output)
        where = f" (log: {log})"
    return ExportFailed(f"exporting {spec.name} by {route} with TF {versions['tensorflow']} failed: {one_line(what)}{where}")


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


def _source_digest() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for pattern in _EXPORT_SOURCES:
        for path in sorted(here.glob(pattern)):
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
