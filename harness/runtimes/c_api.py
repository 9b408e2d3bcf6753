"""TF's C API with no Python in the loop: the runtime "c-<version>", the C program c/train_export.c.

`build` compiles the program with the system C compiler against TF <version>'s headers and
libraries, as that version's wheel ships them (`tensorflow/include/tensorflow/c/*.h`,
`libtensorflow_cc.so.2`, `libtensorflow_framework.so.2`, in the virtualenv venvs.py keeps for it),
once per TF version and source digest, into cache_dir/c/<version>-<digest>/train_export (the
libraries' folder is its rpath: it runs as is). `run` writes a run's inputs as .npy files, runs
the program (the command, also written to <workdir>/rerun.sh, reruns without Python) and reads back
what it wrote: losses and predictions as .npy (bit-exact), the checkpoints of the saver_def and of
the save signature. runtimes/c.py runs the plan (trajectory.py) that way, restore part included.

Signatures are resolved by the program itself: TF_LoadSessionFromSavedModel returns the loaded
MetaGraphDef, and c/pb.h reads its signature_def (inputs and outputs -> tensor names, dtypes,
shapes) and saver_def (filename tensor, save tensor, restore op). Every call is one TF_SessionRun
as the TF1 session loader (python-session-<version>) makes it: the signature's inputs fed, every
output fetched. Same TF, same kernels, same thread counts: its results must equal
python-session-<version>'s bit for bit.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from .. import atomic, resources
from ..errors import HarnessError
from ..plan.interface import Interface
from ..plan.trajectory import RESTORE_WAYS, STAGES, Failure

SOURCE_DIR = resources.data("c")
PROGRAM = "train_export"
ERROR_MARK = "train_export: "  # how the program starts its one-line error message on stderr
STAGE_MARK = "train_export-stage: "  # written to stderr before each stage: names the stage of a failure or crash
FLAGS = ("-std=c11", "-O2", "-Wall", "-Wextra")
LIBRARIES = ("libtensorflow_cc.so.2", "libtensorflow_framework.so.2")
HEADER = Path("include") / "tensorflow" / "c" / "c_api.h"
INSTALL_COMPILER = ("install one, e.g. `apt-get install -y gcc` (Debian/Ubuntu), `dnf install gcc` (Fedora), "
                    "or point CC at one")
CALL_TIMEOUT = 900.0  # seconds a run may take unless the caller says (runtimes.DEFAULT_CALL_TIMEOUT)


@dataclass
class CRun:
    losses: list[np.ndarray]  # one numpy scalar (or array) per step, from losses.npy
    predictions: dict[str, np.ndarray]  # output name -> predict.<output>.npy
    saver_checkpoint: str | None  # prefix written by the saver_def's save op; None: not saved
    signature_checkpoint: str | None  # prefix written by the save signature; None: not called
    tensorflow: str  # TF_Version() of the library the program ran
    bench: dict | None  # --bench: calls, median_us, mean_us, min_us, max_us
    command: str  # the command line, to rerun without Python
    failure: Failure | None = None  # TensorFlow failed (or the program died): the stage and one line
    unreleased_tensors: int | None = None  # TF_Tensors the program still held at the end (must be 0)
    summary: dict = field(repr=False, default_factory=dict)  # the program's JSON summary as printed


# ------------------------------------------------------------------------------------------- build

def sources() -> list[Path]:
    """What the program is built from: every C source and header of c/."""
    return sorted([*SOURCE_DIR.glob("*.c"), *SOURCE_DIR.glob("*.h")])


_tensorflow_dirs: dict[str, Path] = {}


def tensorflow_dir(version: str, cache_dir: Path) -> Path:
    """The folder of TF `version`'s Python package (its virtualenv's, built if need be), checked to
    hold the C API's headers and libraries. Found without importing TensorFlow (importlib's find_spec)."""
    from ..runs import venvs

    python = venvs.interpreter(version, Path(cache_dir))
    key = str(python)
    if key not in _tensorflow_dirs:
        script = ("import importlib.util as u; s = u.find_spec('tensorflow'); "
                  "print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')")
        done = subprocess.run([str(python), "-I", "-c", script], capture_output=True, text=True)
        found = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
        if not found or not found[0]:
            raise HarnessError(f"{python}: has no tensorflow package to build the C API runtime c-{version} against"
                               f"{': ' + done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}")
        _tensorflow_dirs[key] = Path(found[0])
    return check_tensorflow(_tensorflow_dirs[key], version)


def check_tensorflow(tf_dir: Path, version: str) -> Path:
    """`tf_dir` if it holds the C API's headers and both libraries, else a HarnessError naming what is missing."""
    if not (tf_dir / HEADER).is_file():
        raise HarnessError(f"{tf_dir}: TensorFlow {version} ships no C API headers ({HEADER} is missing): "
                           f"the C API runtime c-{version} cannot be built against it")
    missing = [name for name in LIBRARIES if not (tf_dir / name).is_file()]
    if missing:
        raise HarnessError(f"{tf_dir}: TensorFlow {version} ships no {' or '.join(missing)}: "
                           f"the C API runtime c-{version} cannot be linked against it")
    return tf_dir


def compiler() -> list[str]:
    """The C compiler's command: $CC if set, else gcc or cc on PATH; HarnessError (one line) if none."""
    cc = os.environ.get("CC", "").strip()
    if cc:
        command = shlex.split(cc)
        if shutil.which(command[0]) is None:
            raise HarnessError(f"CC={cc}: no such C compiler, needed to build {PROGRAM}.c (the TF C API runtime): "
                               f"{INSTALL_COMPILER}")
        return command
    for name in ("gcc", "cc"):
        found = shutil.which(name)
        if found:
            return [found]
    raise HarnessError(f"no C compiler (gcc or cc on PATH) to build c/{PROGRAM}.c (the TF C API runtime): "
                       f"{INSTALL_COMPILER}")


def build(version: str, cache_dir: Path) -> Path:
    """The program built against TF `version` (its virtualenv's wheel), now or reused from `cache_dir`."""
    return build_against(tensorflow_dir(version, cache_dir), version, cache_dir)


def build_against(tf_dir: Path, version: str, cache_dir: Path) -> Path:
    """The program built against the TF package folder `tf_dir`: cache_dir/c/<version>-<digest>/train_export.

    The digest covers the sources, the flags and the TF folder (its path is the binary's rpath); a
    cached binary needs no compiler. Builders of one version take turns on a lock file."""
    tf_dir = check_tensorflow(Path(tf_dir).resolve(), version)
    digest = hashlib.sha256()
    for path in sources():
        digest.update(str(path.relative_to(SOURCE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update("\0".join([*FLAGS, str(tf_dir), version]).encode())
    cache_dir = Path(cache_dir).resolve()
    target = cache_dir / "c" / f"{version}-{digest.hexdigest()[:12]}" / PROGRAM
    if target.exists():
        return target
    with _locked(cache_dir / "c" / f".{version}.lock"):
        if target.exists():  # built by another process while this one waited
            return target
        cc = compiler()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{PROGRAM}.{os.getpid()}.tmp")
        cmd = [*cc, *FLAGS, f"-I{tf_dir / 'include'}", str(SOURCE_DIR / f"{PROGRAM}.c"), "-o", str(tmp),
               f"-L{tf_dir}", *(f"-l:{name}" for name in LIBRARIES), f"-Wl,-rpath,{tf_dir}"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            raise HarnessError(f"{cc[0]}: cannot run the C compiler: {e}; {INSTALL_COMPILER}") from None
        if done.returncode != 0 or not tmp.exists():
            tmp.unlink(missing_ok=True)
            raise HarnessError(f"{SOURCE_DIR / (PROGRAM + '.c')}: {cc[0]} could not build it against TensorFlow "
                               f"{version} ({tf_dir}): {_first_error(done.stderr)}")
        version_line = subprocess.run([*cc, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        atomic.write_json(target.parent / "build.json", {"command": shlex.join(cmd), "compiler": version_line,
                                                         "tensorflow": version, "tensorflow_dir": str(tf_dir)})
        os.replace(tmp, target)
    return target


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return " | ".join((errors or lines or ["(no message)"])[:3])[:900]


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --------------------------------------------------------------------------------------------- run

def run(saved_model: Path, data: dict[str, np.ndarray], interface: Interface, steps: range, workdir: Path,
        version: str, cache_dir: Path, threads: int = 1, timeout: float | None = None, running=None, bench: int = 0,
        restore: tuple[str, str] | None = None, predict: bool = True, ways: tuple[str, ...] = RESTORE_WAYS) -> CRun:
    """Trains `steps` of `data` (train.<input> stacked per step, predict.<input>) with TF `version`'s C API.

    `restore` = (way, prefix): first restores `prefix` by the saver_def ("saver") or the restore
    signature ("signature"), as the restore part of the plan does. `predict`: call the inference
    signature; `ways`: which saves to make. Everything is written under `workdir` (inputs/, out/,
    saver/, signature/, rerun.sh), never into the export. HarnessError on bad input (the message
    names the file or signature); a TensorFlow failure (a SavedModel that does not load included),
    a crash or a timeout is the CRun's `failure`, with the stage it happened in and what had been
    written before it.
    """
    from .plain_java import Running, write_inputs

    saved_model, workdir = Path(saved_model).resolve(), Path(workdir).resolve()
    if workdir.is_relative_to(saved_model):
        raise HarnessError(f"{workdir}: work files would be written into the export {saved_model}")
    binary = build(version, cache_dir)
    inputs, out = workdir / "inputs", workdir / "out"
    for stale in (out, workdir / "saver", workdir / "signature"):  # what a failed run leaves must be its own
        shutil.rmtree(stale, ignore_errors=True)
    write_inputs(data, interface, steps, inputs)
    cmd = _command(binary, saved_model, inputs, out, workdir, interface, steps, threads, restore, predict, ways, bench)
    command = shlex.join(cmd)
    atomic.write_text(workdir / "rerun.sh", f"#!/bin/sh\n# TF {version} C API, no Python: rerun as is.\n{command}\n")
    rerun = f"rerun: sh {workdir / 'rerun.sh'}"
    code, stdout, stderr = _process(cmd, timeout, running or Running())
    stages = [line[len(STAGE_MARK):] for line in stderr.splitlines() if line.startswith(STAGE_MARK)]
    stage = stages[-1] if stages else "load"
    if code == 2:
        marked = [line[len(ERROR_MARK):] for line in stderr.splitlines() if line.startswith(ERROR_MARK)]
        raise HarnessError(f"{marked[-1] if marked else _tail(stderr)} ({PROGRAM} exit status 2; {rerun})")
    if code == 0:
        try:
            return _read(json.loads(stdout.strip().splitlines()[-1]), command)
        except (IndexError, json.JSONDecodeError, KeyError):
            pass  # a failure of its own: below
    failure = Failure(stage, _failure_detail(code, stderr, stdout, stage, timeout, rerun))
    return _partial(out, workdir, failure, version, command, interface, ways)


def _command(binary: Path, saved_model: Path, inputs: Path, out: Path, workdir: Path, interface: Interface,
             steps: range, threads: int, restore, predict: bool, ways: tuple[str, ...], bench: int) -> list[str]:
    """The program's command line for one run (what rerun.sh holds)."""
    cmd = [str(binary), "--export", str(saved_model), "--inputs", str(inputs), "--out", str(out),
           "--steps", str(len(steps)), "--train", interface.train, "--loss", interface.loss,
           "--threads", str(threads)]
    if tuple(interface.tags) != ("serve",):
        cmd += ["--tags", ",".join(interface.tags)]
    if interface.predict and predict:
        cmd += ["--predict", interface.predict]
    if "saver" in ways:
        cmd += ["--save-dir", str(workdir / "saver")]
    else:
        cmd += ["--saver-save", "no"]
    if interface.save and "signature" in ways:
        cmd += ["--save-signature", interface.save, "--save-path-input", interface.save_path,
                "--signature-dir", str(workdir / "signature")]
    if restore is not None:
        way, prefix = restore
        cmd += ["--restore", way, "--restore-prefix", str(prefix)]
        if way == "signature":
            if not interface.restore:
                raise HarnessError(f"{saved_model}: no restore signature to restore {prefix} with")
            cmd += ["--restore-signature", interface.restore, "--restore-path-input", interface.restore_path]
    if bench:
        cmd += ["--bench", str(bench)]
    return cmd


def _process(cmd: list[str], timeout: float | None, running) -> tuple[int | None, str, str]:
    """(exit status, stdout, stderr) of `cmd`, in a session of its own (a terminal's Ctrl-C reaches the
    harness, which ends it itself: Running.end); after `timeout` seconds it is killed (status None)."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)
    running.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        return None, stdout, stderr
    finally:
        running.discard(process)
    return process.returncode, stdout, stderr


def _tail(stderr: str) -> str:
    return " | ".join(line for line in stderr.strip().splitlines()[-5:] if not line.startswith(STAGE_MARK))[-800:]


def _failure_detail(code: int | None, stderr: str, stdout: str, stage: str, timeout: float | None, rerun: str) -> str:
    if code is None:
        return f"timeout: {PROGRAM} gave no answer within {timeout:g} s (during {stage}; {rerun})"
    marked = [line[len(ERROR_MARK):] for line in stderr.splitlines() if line.startswith(ERROR_MARK)]
    if marked:
        return f"{marked[-1]} ({PROGRAM} exit status {code}; {rerun})"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"{PROGRAM} died of {name} during {stage}: {_tail(stderr)} ({rerun})"
    if code == 0:
        return f"{PROGRAM} printed no JSON summary; stdout ends: {stdout[-300:]!r} ({rerun})"
    return f"{PROGRAM} exit status {code} during {stage}: {_tail(stderr)} ({rerun})"


def _read(summary: dict, command: str) -> CRun:
    files = summary["files"]
    losses = np.load(files["losses"], allow_pickle=False)
    predictions = {key[len("predict."):]: np.load(path, allow_pickle=False)
                   for key, path in files.items() if key.startswith("predict.")}
    return CRun(list(losses), predictions, summary["saver_checkpoint"], summary["signature_checkpoint"],
                summary["tensorflow"], summary["bench"], command, None, summary["unreleased_tensors"], summary)


def _partial(out: Path, workdir: Path, failure: Failure, version: str, command: str, interface: Interface,
             ways: tuple[str, ...]) -> CRun:
    """What a failed run had written before the stage it failed in (the program writes each stage's files when done)."""
    order = (*STAGES, "bench")  # --bench runs after the saves
    done = order.index(failure.stage) if failure.stage in order else 0  # load or restore: nothing written
    losses = list(np.load(out / "losses.npy", allow_pickle=False)) if done > 1 and (out / "losses.npy").exists() else []
    predictions = {unquote(p.name[len("predict."):-len(".npy")]): np.load(p, allow_pickle=False)  # file_name's %XX
                   for p in sorted(out.glob("predict.*.npy"))} if done > 2 else {}
    saver = str(workdir / "saver" / "variables") if done > 3 and "saver" in ways else None
    signature = str(workdir / "signature" / "checkpoint") if done > 4 and interface.save and "signature" in ways else None
    return CRun(losses, predictions, saver, signature, version, None, command, failure)


# ------------------------------------------------------------------------------------------ runtime
