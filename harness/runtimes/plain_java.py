"""TF Java with no Python in the loop: the CLI dev.conformance.TrainExport (java/src/main/java).

`jar` builds the CLI with Maven, once per TF Java version and source digest, into the cache.
`run` writes a run's inputs as .npy files, runs `java -cp ... dev.conformance.TrainExport ...`
(the command a Java team can rerun as is, also written to <workdir>/rerun.sh) and reads back what
it wrote: losses, metrics, predictions and weights by value as .npy (bit-exact), the checkpoints, and --bench timings, the
plain-Java baseline the JPype worker's overhead is measured against.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import atomic
from . import maven
from ..errors import HarnessError
from ..plan.interface import Interface

MAIN = "dev.conformance.TrainExport"
SOURCE_DIR = maven.POM.parent / "src" / "main" / "java"
ERROR_MARK = "TrainExport: "  # how the CLI starts its one-line error message on stderr


class PlainJavaFailure(Exception):
    """TensorFlow (or the JVM) failed at something the CLI asked of it: a finding, not bad input."""


@dataclass
class PlainJavaRun:
    losses: list[np.ndarray]  # one numpy scalar (or array) per step, from losses.npy
    metrics: list[dict[str, np.ndarray]]  # per step: the interface's metrics outputs (metric.<output>.npy); [] without
    predictions: dict[str, np.ndarray]  # output name -> predict.<output>.npy
    saver_checkpoint: str  # prefix written by Session.save
    signature_checkpoint: str | None  # prefix written by the save signature; None: not called
    tensorflow: str  # the TF native version TF Java runs
    bench: dict | None  # --bench: calls, median_us, mean_us, min_us, max_us
    weights: dict[str, np.ndarray]  # get_weights' outputs after training (weights.<output>.npy); {} without
    command: str  # the command line, to rerun without Python
    summary: dict = field(repr=False, default_factory=dict)  # the CLI's JSON summary as printed


def sources() -> list[Path]:
    """What the jar is built from: the pom and every Java source."""
    return [maven.POM, *sorted(SOURCE_DIR.rglob("*.java"))]


def jar(version: str, cache_dir: Path) -> Path:
    """The CLI's jar for TF Java `version`, built now or reused from `cache_dir`."""
    with maven.locked(cache_dir, f"maven-{version}"):
        return _jar(version, cache_dir)


def _jar(version: str, cache_dir: Path) -> Path:
    digest = hashlib.sha256()
    for path in sources():
        digest.update(str(path.relative_to(maven.POM.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    target = cache_dir / f"train-export-{version}-{digest.hexdigest()[:12]}.jar"
    if target.exists():
        return target
    mvn = maven.executable(f"build {MAIN}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A build folder of its own (never java/target): builds of several versions may run at once.
    build = Path(tempfile.mkdtemp(prefix=".train-export-build.", dir=cache_dir))
    try:
        # -U, as for the classpath: re-ask Central for artifacts that were missing last time.
        pom = maven.project(cache_dir)  # a copy in the cache: nothing is built beside the package
        cmd = [mvn, "-B", "-q", "-U", "-Dstyle.color=never", "-f", str(pom), "package",
               f"-Dtensorflow-java.version={version}", f"-Dconformance.build.directory={build}"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        built = build / "train-export.jar"
        if done.returncode != 0 or not built.exists():
            error = maven.first_error(done, prefer=".java:")
            where = next((p for p in sources()[1:] if str(pom.parent / p.relative_to(maven.POM.parent)) in error), maven.POM)
            raise HarnessError(f"{where}: Maven could not build {MAIN} against TF Java {version}: {error[:900]}")
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(built, tmp)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return target


def run(saved_model: Path, data: dict[str, np.ndarray], interface: Interface, steps: range, workdir: Path,
        version: str, cache_dir: Path, threads: int = 1, bench: int = 0, timeout: float | None = None,
        running: Running | None = None) -> PlainJavaRun:
    """Trains `steps` of `data` (train.<input> stacked per step, predict.<input>) in plain TF Java.

    Everything is written under `workdir` (inputs/, out/, saver/, signature/, rerun.sh), never into
    the export. HarnessError on bad input (the message names the file or signature);
    PlainJavaFailure when TensorFlow or the JVM fails. `running`: where the JVM is listed while it runs.
    """
    saved_model, workdir = Path(saved_model).resolve(), Path(workdir).resolve()
    if workdir.is_relative_to(saved_model):
        raise HarnessError(f"{workdir}: work files would be written into the export {saved_model}")
    classpath = [*maven.classpath(version, cache_dir), str(jar(maven.api_version(version), cache_dir))]
    inputs, out = workdir / "inputs", workdir / "out"
    write_inputs(data, interface, steps, inputs)
    cmd = [java_executable(), "-cp", os.pathsep.join(classpath), MAIN,
           *_arguments(interface, len(steps), threads, bench, saved_model, inputs, out, workdir / "saver",
                       workdir / "signature")]
    # What travelling() needs to write a folder that reruns this run anywhere: paths relative to that folder.
    atomic.write_json(workdir / TRAVELS, {"version": version, "export": str(saved_model), "arguments": _arguments(
        interface, len(steps), threads, bench, "export", "inputs", "out", "out/saver", "out/signature")})
    command = shlex.join(cmd)
    atomic.write_text(workdir / "rerun.sh", f"#!/bin/sh\n# TF Java {version}, no Python: rerun as is.\n{command}\n")
    try:
        done = _java(cmd, timeout, running or Running())
    except subprocess.TimeoutExpired:  # the JVM is killed by _java
        raise PlainJavaFailure(f"timeout: {MAIN} gave no answer within {timeout:g} s (rerun: sh {workdir / 'rerun.sh'})") from None
    if done.returncode != 0:
        marked = [l[len(ERROR_MARK):] for l in done.stderr.splitlines() if l.startswith(ERROR_MARK)]
        detail = marked[-1] if marked else " | ".join(done.stderr.strip().splitlines()[-5:])[-800:]
        message = f"{detail} ({MAIN} exit status {done.returncode}; rerun: sh {workdir / 'rerun.sh'})"
        raise (HarnessError if done.returncode == 2 else PlainJavaFailure)(message)
    try:
        summary = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise PlainJavaFailure(f"{MAIN} printed no JSON summary; stdout ends: {done.stdout[-300:]!r}") from None
    losses = np.load(summary["files"]["losses"], allow_pickle=False)
    written = {key: np.load(path, allow_pickle=False) for key, path in summary["files"].items() if key != "losses"}

    def of(role: str) -> dict[str, np.ndarray]:
        return {key[len(role) + 1:]: value for key, value in written.items() if key.startswith(role + ".")}
    stacked = of("metric")  # output -> [steps]
    metrics = [{name: stacked[name][i] for name in interface.metrics} for i in range(len(losses))] if interface.metrics else []
    return PlainJavaRun(list(losses), metrics, of("predict"), summary["saver_checkpoint"], summary["signature_checkpoint"],
                        summary["tensorflow"], summary["bench"], of("weights"), command, summary)


class Running:
    """The JVMs a runtime runs now; after end() (Ctrl-C) they, and any JVM started later, are killed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.processes: set[subprocess.Popen] = set()
        self.ended = False

    def add(self, process: subprocess.Popen) -> None:
        with self.lock:
            self.processes.add(process)
            if self.ended:  # started while the run was being stopped
                process.kill()

    def discard(self, process: subprocess.Popen) -> None:
        with self.lock:
            self.processes.discard(process)

    def end(self) -> None:
        with self.lock:
            self.ended = True
            for process in self.processes:
                process.kill()


def _java(cmd: list[str], timeout: float | None, running: Running) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, capture_output=True, text=True, timeout=timeout), in a session of its own: a
    terminal's Ctrl-C reaches the harness, which ends the JVM itself (Running.end) once it has stopped."""
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    running.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    finally:
        running.discard(process)
    return subprocess.CompletedProcess(cmd, process.returncode, stdout, stderr)


def _arguments(interface: Interface, steps: int, threads: int, bench: int, export, inputs, out, saver,
               signature) -> list[str]:
    """TrainExport's arguments for one run (the paths as given: absolute for the harness, relative in a travelling rerun)."""
    args = ["--export", str(export), "--inputs", str(inputs), "--out", str(out), "--steps", str(steps),
            "--train", interface.train, "--loss", interface.loss, "--save-dir", str(saver), "--threads", str(threads)]
    if interface.predict:
        args += ["--predict", interface.predict]
    if interface.save:
        args += ["--save-signature", interface.save, "--save-path-input", interface.save_path,
                 "--signature-dir", str(signature)]
    if interface.metrics:
        args += ["--metrics", ",".join(interface.metrics)]
    if interface.get_weights:
        args += ["--weights", interface.get_weights]
    if bench:
        args += ["--bench", str(bench)]
    if tuple(interface.tags) != ("serve",):
        args += ["--tags", ",".join(interface.tags)]
    return args


TRAVELS = "travels.json"  # in a run's workdir: what travelling() reads
RERUN = """#!/bin/sh
# TF Java {version} (native TF {tensorflow}), with Java 17 and Maven only: builds TrainExport from java/, trains
# export/ on inputs/ as the certificate's run did, and compares what it writes (out/) with that run's numbers
# (expected/) byte for byte (on another CPU, TF's kernels may round differently: then compare within the band).
# Copy this folder anywhere; arguments go to Maven (e.g. -Dmaven.repo.local=DIR, or -o offline).
set -e
cd "$(dirname "$0")"
mvn -B -q -f java/pom.xml package dependency:build-classpath -Dmdep.outputFile="$PWD/java/target/classpath.txt" "$@"
rm -rf out
java -cp "java/target/train-export.jar:$(cat java/target/classpath.txt)" {main} {arguments}
status=0
for f in expected/*.npy; do
  cmp -s "$f" "out/${{f#expected/}}" || {{ echo "differs from the certificate's run: out/${{f#expected/}}"; status=1; }}
done
[ "$status" = 0 ] && echo "same numbers as the certificate's run: $(ls expected | wc -l) files, byte for byte"
exit "$status"
"""


def travelling(workdir: Path, dest: Path) -> Path:
    """A folder, `dest`, that reruns the run of `workdir` anywhere with Java 17 and Maven only: java/ (the pom,
    the TF Java version pinned, and TrainExport's sources), inputs/, export/ (a copy of what was trained),
    expected/ (what the run wrote) and rerun.sh, the one command. Written beside, then moved into place.
    Returns the script's path; HarnessError for a TF Java version Maven cannot resolve by itself."""
    from ..runs.versions import TF_JAVA_NATIVE

    record = json.loads((workdir / TRAVELS).read_text())
    version = record["version"]
    if maven.NATIVE in version:
        raise HarnessError(f"TF Java {version}: a pom cannot pin it (its native jars are fetched one by one)")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "java").mkdir(parents=True)
    pom, pins = re.subn(r"<tensorflow-java\.version>[^<]*</tensorflow-java\.version>",
                        f"<tensorflow-java.version>{version}</tensorflow-java.version>", maven.POM.read_text(), count=1)
    if pins != 1:
        raise HarnessError(f"{maven.POM}: no <tensorflow-java.version> property to pin")
    (tmp / "java" / "pom.xml").write_text(pom)
    shutil.copytree(maven.POM.parent / "src", tmp / "java" / "src")
    shutil.copytree(workdir / "inputs", tmp / "inputs")
    (tmp / "expected").mkdir()
    for written in sorted((workdir / "out").glob("*.npy")):
        shutil.copyfile(written, tmp / "expected" / written.name)
    shutil.copytree(record["export"], tmp / "export")
    (tmp / "rerun.sh").write_text(RERUN.format(version=version, tensorflow=TF_JAVA_NATIVE.get(version, "?"), main=MAIN,
                                               arguments=shlex.join(record["arguments"])))
    shutil.rmtree(dest, ignore_errors=True)  # a certificate written again into the same folder
    os.replace(tmp, dest)
    return dest / "rerun.sh"


def write_inputs(data: dict[str, np.ndarray], interface: Interface, steps: range, directory: Path) -> None:
    """train.<input>.npy (the rows of `steps`) and predict.<input>.npy, each written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.npy"):  # the CLI refuses .npy files no signature input names
        stale.unlink()
    for key, value in data.items():
        role = key.partition(".")[0]
        if role == "train":
            value = value[steps.start:steps.stop]
        elif role != "predict" or not interface.predict:
            continue
        path = directory / f"{key}.npy"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, np.require(value, requirements="C"), allow_pickle=False)  # C order: the reader wants it
        os.replace(tmp, path)


def java_executable() -> str:
    from .javac import jdk_tool

    return jdk_tool("java", "no Java runtime")
