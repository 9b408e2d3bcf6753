"""The TF Java classpath, as Maven resolves it from java/pom.xml (cached per version and pom)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

from .. import resources
from ..errors import HarnessError

POM = resources.data("java") / "pom.xml"
PROJECT_PARTS = ("pom.xml", "src")  # what Maven reads of java/ (worker/ is javac's: javac.py)


def project(cache_dir: Path) -> Path:
    """The pom of a copy of java/'s Maven project in the cache (keyed by its content), which Maven runs on:
    nothing is ever written beside the package (an installed one sits in site-packages)."""
    files = sorted(p for part in PROJECT_PARTS for p in ([POM.parent / part] if part == "pom.xml"
                                                         else (POM.parent / part).rglob("*")) if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(POM.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    copy = cache_dir / f"java-project-{digest.hexdigest()[:12]}"
    if not (copy / "pom.xml").exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{copy.name}.{os.getpid()}.{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        for path in files:
            (tmp / path.relative_to(POM.parent)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, tmp / path.relative_to(POM.parent))
        try:
            os.replace(tmp, copy)
        except OSError:  # another process copied it first
            shutil.rmtree(tmp, ignore_errors=True)
            if not (copy / "pom.xml").exists():
                raise
    return copy / "pom.xml"


@contextlib.contextmanager
def locked(cache_dir: Path, name: str):
    """One Maven call at a time per `name`, across threads and processes: parallel worker sets start
    together, and two `mvn -U` runs writing one output file and ~/.m2's metadata race."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


COPY_ALONE = "org.apache.maven.plugins:maven-dependency-plugin:2.8:copy"
NATIVE = "+native-"  # "1.1.0+native-1.2.0": the 1.1.0 API on the 1.2.0 native (versions.TF_JAVA_NATIVE)


def api_version(version: str) -> str:
    """The tensorflow-core-api version of a TF Java version (what java/ compiles against)."""
    return version.split(NATIVE)[0]


def classpath(version: str, cache_dir: Path) -> list[str]:
    with locked(cache_dir, f"maven-{version}"):
        if NATIVE in version:
            return _hybrid_classpath(version, cache_dir)
        return _classpath(version, cache_dir)


def _hybrid_classpath(version: str, cache_dir: Path) -> list[str]:
    """The API version's classpath with the native version's jars (and the javacpp and protobuf-java
    they were built with) in place of its own. The native's POM cannot be read when its parent is
    missing from Central (1.2.0's), so each jar is fetched alone (dependency:copy, no transitives)."""
    from ..runs.versions import NATIVE_DEPENDENCIES

    api, native = version.split(NATIVE)
    if native not in NATIVE_DEPENDENCIES:
        raise HarnessError(f"TF Java {version}: versions.NATIVE_DEPENDENCIES does not say what "
                           f"tensorflow-core-native {native} needs (javacpp, protobuf-java)")
    replacing = [f"org.tensorflow:tensorflow-core-native:{native}",
                 f"org.tensorflow:tensorflow-core-native:{native}:jar:linux-x86_64", *NATIVE_DEPENDENCIES[native]]
    folder = (cache_dir / f"jars-native-{native}").resolve()
    jars = [folder / _jar_name(coordinate) for coordinate in replacing]
    if not all(j.exists() for j in jars):
        mvn = executable(f"fetch tensorflow-core-native {native}")
        tmp = folder / f".tmp-{os.getpid()}"  # a jar appears under its name only once complete
        for coordinate, jar in zip(replacing, jars):
            if jar.exists():
                continue
            tmp.mkdir(parents=True, exist_ok=True)
            # maven-dependency-plugin 2.8 copies a jar without reading its POM; 3.x reads it, and fails
            # on the missing parent. Run outside the project: its pinned 3.8.1 would take over.
            done = subprocess.run([mvn, "-B", "-q", "-Dstyle.color=never", COPY_ALONE, f"-Dartifact={coordinate}",
                                   f"-DoutputDirectory={tmp}"], capture_output=True, text=True, cwd=tmp)
            if done.returncode != 0 or not (tmp / jar.name).exists():
                raise HarnessError(f"{POM}: Maven could not fetch {coordinate} for TF Java {version}: "
                                   f"{first_error(done)[:900]}")
            os.replace(tmp / jar.name, jar)
        shutil.rmtree(tmp, ignore_errors=True)
    replaced = {_artifact(Path(j).name) for j in jars}
    kept = [j for j in _classpath(api, cache_dir) if _artifact(Path(j).name) not in replaced]
    return [*kept, *map(str, jars)]


def _jar_name(coordinate: str) -> str:
    """group:artifact:version[:jar:classifier] -> the file name Maven gives the jar."""
    _, artifact, version, *rest = coordinate.split(":")
    return f"{artifact}-{version}" + (f"-{rest[1]}" if len(rest) == 2 else "") + ".jar"


def _artifact(jar_name: str) -> tuple[str, bool]:
    """("tensorflow-core-native", True) for tensorflow-core-native-1.2.0-linux-x86_64.jar: name and classifier-ness."""
    match = re.match(r"(.+?)-\d[^-]*(-.+)?\.jar$", jar_name)
    return (match.group(1), match.group(2) is not None) if match else (jar_name, False)


def _classpath(version: str, cache_dir: Path) -> list[str]:
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    cached = cache_dir / f"classpath-{version}-{digest}.txt"
    if cached.exists():
        jars = cached.read_text().split(os.pathsep)
        if all(Path(j).exists() for j in jars):
            return jars
    mvn = executable("resolve the TF Java jars")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(cached.name + ".tmp")
    # -U: re-ask Central for artifacts that were missing last time (an expected failure may start passing).
    cmd = [mvn, "-B", "-q", "-U", "-Dstyle.color=never", "-f", str(project(cache_dir)), "dependency:build-classpath",
           f"-Dmdep.outputFile={tmp}", f"-Dtensorflow-java.version={version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not tmp.exists():
        raise HarnessError(f"{POM}: Maven could not resolve TF Java {version}: {first_error(done)[:900]}")
    os.replace(tmp, cached)
    return cached.read_text().split(os.pathsep)


def executable(purpose: str) -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise HarnessError(f"{POM}: cannot {purpose}: `mvn` is not on PATH (install Maven)")
    return mvn


def first_error(done: subprocess.CompletedProcess, prefer: str | None = None) -> str:
    """Maven's first ERROR line (colours stripped), else the tail of its stderr.

    `prefer`: the first ERROR line containing it, when one does (a compiler error's
    "File.java:[line,col]" comes after a bare "COMPILATION ERROR" line).
    """
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    lines = [l for l in output.splitlines() if "ERROR" in l]
    lines = [l for l in lines if prefer and prefer in l][:1] or lines[:1]
    return " | ".join(" ".join(l.split()) for l in lines) or done.stderr.strip()[-500:]
