"""The TF Java classpath, as Maven resolves it from java/pom.xml (cached per version and pom)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from .errors import HarnessError

POM = Path(__file__).resolve().parent.parent / "java" / "pom.xml"


@contextlib.contextmanager
def locked(cache_dir: Path, name: str):
    """One Maven call at a time per `name`, across threads and processes: parallel worker sets start
    together, and two `mvn -U` runs writing one output file and ~/.m2's metadata race."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def classpath(version: str, cache_dir: Path) -> list[str]:
    with locked(cache_dir, f"maven-{version}"):
        return _classpath(version, cache_dir)


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
    cmd = [mvn, "-B", "-q", "-U", "-Dstyle.color=never", "-f", str(POM), "dependency:build-classpath",
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
