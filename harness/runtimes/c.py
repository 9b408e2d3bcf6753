"""c-X: TF X's C API run by c/train_export.c (c_api.py builds it against X's wheel and runs it), one
process per run: no Python, no JVM. The C API is what the Go, Rust and C# bindings and TF Java's own
native layer call; same loader and kernels as python-session-X, so its outputs must equal them bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np

from . import c_api
from ..errors import HarnessError
from ..plan.interface import ZOO, Interface
from ..plan.trajectory import RESTORE_WAYS, Restore, Trajectory
from .base import Capabilities, Runtime, Setting


class C(Runtime):
    kind = "c"
    what = "TF's C API from a C program (c/train_export.c), built against TF X's wheel: no Python, no JVM"
    capabilities = Capabilities(counts_native_tensors=True, without_python=True, restores_by_weights=False,
                                benchmark_step=True)
    not_restoring = "the C program restores by the saver_def and the restore signature, not by value"
    same_outputs_as = "python-session"

    def __init__(self, name: str, version: str, setting: Setting):
        from .plain_java import Running

        super().__init__(name, version, setting)
        self.running = Running()  # its processes that run now

    def start(self) -> dict:
        """Builds the program (or finds it built); HarnessError (one line) if it cannot be."""
        binary = c_api.build(self.version, self.setting.cache_dir)
        done = subprocess.run([str(binary), "--tf-version"], capture_output=True, text=True,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if done.returncode != 0:
            raise HarnessError(f"{binary}: does not start (exit status {done.returncode}): {c_api._tail(done.stderr)}")
        info = json.loads((binary.parent / "build.json").read_text()) if (binary.parent / "build.json").exists() else {}
        return {"binary": str(binary), "tensorflow": done.stdout.strip(), "compiler": info.get("compiler")}

    def run(self, saved_model: Path, data: dict[str, np.ndarray], steps: range, workdir: Path,
            interface: Interface = ZOO, restore: Restore | None = None) -> Trajectory:
        """The plan on `saved_model`, then its restore part if asked (one process per way); a failure
        (a crash or a timeout too) is in the Trajectory."""
        trajectory = self._part(saved_model, data, steps, Path(workdir), interface)
        if trajectory.failure and trajectory.failure.stage == "load" or restore is None:
            return trajectory
        for way in RESTORE_WAYS:
            prefix = getattr(restore, way)
            if prefix is None or (way == "signature" and not interface.restore):
                continue
            part = self._part(saved_model, data, range(*restore.steps), Path(workdir) / f"restored-{way}", interface,
                              restore=(way, prefix))
            trajectory.restored[way] = part
            leaked = part.notes.get("unreleased_native_pointers")
            if leaked is not None:
                trajectory.notes["unreleased_native_pointers"] = trajectory.notes.get("unreleased_native_pointers", 0) + leaked
        return trajectory

    def _part(self, saved_model: Path, data: dict[str, np.ndarray], steps: range, workdir: Path, interface: Interface,
              restore: tuple[str, str] | None = None) -> Trajectory:
        trajectory = Trajectory(steps.start)
        ways = RESTORE_WAYS if restore is None else (restore[0],)
        done = c_api.run(saved_model, data, interface, steps, workdir, self.version, self.setting.cache_dir,
                         self.setting.threads, timeout=self.setting.call_timeout, running=self.running, restore=restore, predict=restore is None, ways=ways)
        trajectory.losses, trajectory.predictions = list(done.losses), done.predictions
        trajectory.saver_checkpoint, trajectory.signature_checkpoint = done.saver_checkpoint, done.signature_checkpoint
        trajectory.failure = done.failure
        trajectory.notes["command"] = done.command
        trajectory.notes["tensorflow"] = done.tensorflow
        if done.unreleased_tensors is not None:
            # TF_Tensors the program made or received and did not delete (the tensors.closed check).
            trajectory.notes["unreleased_native_pointers"] = done.unreleased_tensors
        return trajectory

    def bench_step(self, saved_model: Path, data: dict[str, np.ndarray], calls: int, interface: Interface = ZOO) -> dict:
        """The program's --bench: `calls` untimed steps, then `calls` timed, timed in C."""
        import tempfile

        steps = range(len(next(v for k, v in data.items() if k.startswith("train."))))
        with tempfile.TemporaryDirectory(prefix="c-bench-") as work:
            done = c_api.run(saved_model, data, interface, steps, Path(work), self.version, self.setting.cache_dir,
                             self.setting.threads, timeout=self.setting.call_timeout, running=self.running, bench=calls)
        if done.failure or not done.bench:
            raise HarnessError(f"{self.name}: the bench run failed: {done.failure.error if done.failure else 'no timings'}")
        return {key: done.bench[key] for key in ("calls", "median_us", "mean_us", "min_us")}

    def kill(self) -> None:
        """Ctrl-C: ends its processes now, and every one it would start from now on."""
        self.running.end()

