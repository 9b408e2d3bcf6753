"""java-plain-V: TF Java V run by java/'s TrainExport program in a JVM of its own per run (plain_java.py
builds and runs it): what a Java team runs, no Python, no JPype. Its outputs must equal java-V's bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plan.interface import ZOO, Interface
from ..plan.trajectory import Failure, Trajectory
from ..runs.versions import TF_JAVA_NATIVE
from .base import Capabilities, Runtime, Setting


class JavaPlain(Runtime):
    kind = "java-plain"
    what = "TF Java from a plain Java program (java/, TrainExport): no Python, no JPype"
    # TrainExport trains from the export as shipped; restoring is the JPype runtime's check (same TF Java).
    capabilities = Capabilities(restores_by_saver=False, restores_by_signature=False, restores_by_weights=False,
                                without_python=True)
    not_restoring = "the plain-Java program trains from the export; java-V checks restoring"
    versioned_by_tensorflow = False
    same_outputs_as = "java"

    def __init__(self, name: str, version: str, setting: Setting):
        from .plain_java import Running

        super().__init__(name, version, setting)
        self.running = Running()  # its JVMs that run now

    @classmethod
    def tensorflow(cls, version: str) -> str:
        return TF_JAVA_NATIVE.get(version, "")

    def start(self) -> dict:
        from . import maven, plain_java

        maven.classpath(self.version, self.setting.cache_dir)
        return {"jar": str(plain_java.jar(maven.api_version(self.version), self.setting.cache_dir)),
                "java": plain_java.java_executable()}

    def run(self, saved_model: Path, data: dict[str, np.ndarray], steps: range, workdir: Path,
            interface: Interface = ZOO, restore=None) -> Trajectory:
        from . import plain_java

        trajectory = Trajectory(steps.start)
        try:
            done = plain_java.run(saved_model, data, interface, steps, workdir, self.version, self.setting.cache_dir,
                                  self.setting.threads, timeout=self.setting.call_timeout, running=self.running)
        except plain_java.PlainJavaFailure as e:
            trajectory.failure = Failure(_stage(str(e), interface), str(e))
            return trajectory
        trajectory.losses, trajectory.predictions = list(done.losses), done.predictions
        trajectory.metrics, trajectory.weights = done.metrics, done.weights
        trajectory.saver_checkpoint, trajectory.signature_checkpoint = done.saver_checkpoint, done.signature_checkpoint
        trajectory.notes["command"] = done.command
        trajectory.notes["tensorflow"] = done.tensorflow
        return trajectory

    def kill(self) -> None:
        """Ctrl-C: ends its JVMs now, and every JVM it would start from now on."""
        self.running.end()


def _stage(message: str, interface: Interface) -> str:
    """The plan's stage a TrainExport failure happened in, from the message it prints."""
    if "cannot load the SavedModel" in message:
        return "load"
    if "Session.save(" in message:
        return "save"
    for stage, signature in (("predict", interface.predict), ("save_signature", interface.save),
                             ("weights", interface.get_weights)):
        if signature and f"signature {signature} " in message:
            return stage
    return "train"
