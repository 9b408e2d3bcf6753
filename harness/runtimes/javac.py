"""The TF Java worker's Java helper (java/worker/), compiled with javac against a TF Java classpath.

One JPype crossing costs about a microsecond and converting its arguments more; the per-call path
(tensors in, signature call, outputs out, tensors closed) is therefore Java code the worker calls
once per signature call (dev.conformance.worker.Calls). Compiled once per source and classpath
into the cache, atomically (workers of several sets may start at once).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .. import resources
from ..errors import HarnessError

SOURCES = resources.data("java") / "worker"


def classes(classpath: list[str], cache_dir: Path) -> Path:
    """The directory of compiled helper classes for this classpath (built now or reused)."""
    sources = sorted(SOURCES.rglob("*.java"))
    digest = hashlib.sha256()
    for path in sources:
        digest.update(str(path.relative_to(SOURCES)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(os.pathsep.join(classpath).encode())
    target = cache_dir / f"worker-classes-{digest.hexdigest()[:12]}"
    if target.is_dir():
        return target
    javac = _javac()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=cache_dir))
    try:
        done = subprocess.run([javac, "-encoding", "UTF-8", "-nowarn", "-d", str(tmp), "-cp", os.pathsep.join(classpath),
                               *map(str, sources)], capture_output=True, text=True)
        if done.returncode != 0:
            raise HarnessError(f"{SOURCES}: javac failed: {done.stderr.strip()[-1500:]}")
        try:
            os.replace(tmp, target)
        except OSError:  # another worker compiled the same sources first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _javac() -> str:
    return jdk_tool("javac", "the TF Java worker needs a JDK (javac)")


def jdk_tool(name: str, why: str) -> str:
    """The JDK program `name` (java, javac) from JAVA_HOME when it is set, else from PATH."""
    home = os.environ.get("JAVA_HOME")
    tool = str(Path(home) / "bin" / name) if home else shutil.which(name)
    if not tool or not Path(tool).exists():
        raise HarnessError(f"{tool or name}: {why}: set JAVA_HOME or put `{name}` on PATH")
    return tool
