"""The runtime protocol: what every kind of runtime is and offers (the registry, registry.py, lists them).

A runtime is a kind and a version, named "<kind>-<version>". A kind is a subclass of Runtime:
its class attributes say what it is (`kind`, `what`, `capabilities`, how its version maps to a
TensorFlow version); an instance runs the plan (trajectory.py) on one export at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..plan.interface import ZOO, Interface
from ..plan.trajectory import Restore, Trajectory

DEFAULT_CALL_TIMEOUT = 900.0  # seconds one request may take before its worker is ended (generous: a cold load)


@dataclass(frozen=True)
class Capabilities:
    """What a kind can do; the runner asks these instead of kind names."""
    tags: bool = True  # loads the meta graph of any tag set it is given
    saves_by_saver: bool = True  # checkpoint.saver: saves every variable through a saver (else resume.* go by signature)
    restores_by_saver: bool = True  # restore.saver.*: restores a checkpoint through the export's saver
    restores_by_signature: bool = True  # restore.signature.*: through the export's restore(path) signature
    restores_by_weights: bool = True  # restore.weights.*: the weights by value, through the export's set_weights
    counts_native_tensors: bool = False  # reports native tensors left alive (tensors.closed)
    without_python: bool = False  # a program of its own: what a team runs with no Python in the loop
    on_device: bool = False  # trains as on a device (TFLite): certify reports it apart, beside the verdict
    sessions: bool = False  # serves live sessions call by call (open_session): can be a reference
    benchmark_step: bool = False  # times its train step (bench)


@dataclass
class Setting:
    """Where and how the runtimes of one worker set run; `workers` is shared by the kinds of one set."""
    cache_dir: Path
    log_dir: Path
    threads: int = 1
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    index: int = 0  # which worker set (-j N): names its logs
    workers: dict = field(default_factory=dict)  # worker key -> workers.Worker


class Runtime:
    """One kind of runtime. Subclasses set the class attributes and implement start/run."""

    kind: ClassVar[str]  # the name's prefix: "python-session" in "python-session-2.21.0"
    what: ClassVar[str]  # one line for the README and reports
    capabilities: ClassVar[Capabilities] = Capabilities()
    versioned_by_tensorflow: ClassVar[bool] = True  # its version is a TF Python version (else its own, e.g. TF Java's)
    # The kind whose runtime of the same version must produce this one's outputs bit for bit (equals.<that>).
    same_outputs_as: ClassVar[str | None] = None
    not_restoring: ClassVar[str] = ""  # why restore.* do not apply, when capabilities say it restores neither way
    not_saving: ClassVar[str] = ""  # why checkpoint.saver does not apply, when it has no saver
    # Per dtype (compare.CROSS_VERSION_BAND's form): kernels of its own (TFLite's), so every comparison of its runs
    # is held to this band; None: TF's kernels, bit-exact or the cross-version band.
    kernels_band: ClassVar[dict | None] = None

    def __init__(self, name: str, version: str, setting: Setting):
        self.name, self.version, self.setting = name, version, setting

    def why_not(self, capability: str) -> str:
        """Why a check that needs `capability` (checks.Check.needs) does not apply to this runtime, which lacks it."""
        return self.not_saving if capability == "saves_by_saver" else self.not_restoring

    @classmethod
    def own_versions(cls) -> tuple[str, ...]:
        """Of a kind not versioned by TF: the versions --all-kinds and certify's on-device section run unasked
        (litert: versions.LITERT); () for none (TF Java's come from --java)."""
        return ()

    @classmethod
    def tensorflow(cls, version: str) -> str:
        """The TensorFlow version the runtime `<kind>-<version>` runs ("" if unknown)."""
        return version if cls.versioned_by_tensorflow else ""

    def start(self) -> dict:
        """Starts what the runtime needs; returns its facts (versions). HarnessError says why it cannot."""
        raise NotImplementedError

    def run(self, saved_model: Path, data: dict[str, np.ndarray], steps: range, workdir: Path,
            interface: Interface = ZOO, restore: Restore | None = None, variables_only: bool = False) -> Trajectory:
        """The plan on `saved_model`, then its restore part if asked; failures are in the Trajectory.
        `variables_only`: a run whose saves are only read back as variables (the reference runtime resuming
        from another's checkpoint), where a runtime may skip what else its saver writes (Python's re-export)."""
        raise NotImplementedError

    def bench_step(self, saved_model: Path, data: dict[str, np.ndarray], calls: int, interface: Interface = ZOO) -> dict:
        """Kinds with Capabilities.benchmark_step: `calls` timed train steps after as many untimed ones, one
        session; {"calls", "median_us", "mean_us", "min_us"} (harness/testing/bench.py reports them)."""
        raise NotImplementedError(f"{self.kind} has no benchmark step")

    def stop(self) -> None:
        """Ends what start() started (worker processes are stopped by their set)."""

    def kill(self) -> None:
        """Ctrl-C: ends its processes now, and none starts again."""
