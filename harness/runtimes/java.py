"""java-V: TF Java V driven through JPype in a worker process (java_worker.py, java/worker/'s Calls)."""

from __future__ import annotations

import sys

from ..runs.versions import TF_JAVA_NATIVE
from .base import Capabilities
from .workers import WorkerRuntime, WorkerStart, once


class Java(WorkerRuntime):
    kind = "java"
    what = "TF Java through JPype"
    capabilities = Capabilities(counts_native_tensors=True, sessions=True, benchmark_step=True)
    versioned_by_tensorflow = False
    worker_module = "harness.runtimes.java_worker"

    @classmethod
    def tensorflow(cls, version: str) -> str:
        return TF_JAVA_NATIVE.get(version, "")  # TF Java bundles a native TF

    def worker_start(self) -> WorkerStart:
        from . import javac, maven

        cache_dir = self.setting.cache_dir

        def resolve() -> list[str]:
            classpath = maven.classpath(self.version, cache_dir)
            return [*classpath, str(javac.classes(classpath, cache_dir))]

        classpath = once(("classpath", self.version, str(cache_dir)), resolve)
        # glibc serves large blocks (a 64 MiB tensor) with fresh mmaps, whose first touch costs as much as
        # three copies of the data; from the heap, a freed tensor's memory is reused warm.
        return WorkerStart([sys.executable, "-m", self.worker_module], {"op": "start", "classpath": classpath},
                           "the JVM", {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 31)})
