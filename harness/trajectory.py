"""One runtime's run over an export: load, train some steps, predict, save both ways.

Runtime-neutral (numpy only): the Python runtimes and the Java worker drive their sessions
through this same loop, so every language runs exactly the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from .data import batch
from .interface import ZOO, Interface

STAGES = ("load", "train", "predict", "save", "save_signature")


class SignatureSession(Protocol):
    def call(self, signature: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def save_variables(self, directory: Path) -> str:
        """Writes every variable the runtime's own way (saver_def, or a re-export); returns the prefix."""
        ...

    def close(self) -> None: ...


class RuntimeFailure(Exception):
    """A runtime failed at something it was asked to do, or its worker died: a finding, not a harness error."""


@dataclass
class Failure:
    stage: str  # one of STAGES, or "worker" when the runtime's process died
    error: str


@dataclass
class Trajectory:
    first_step: int
    losses: list[np.ndarray] = field(default_factory=list)
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    saver_checkpoint: str | None = None  # written by save_variables
    signature_checkpoint: str | None = None  # written by the export's save(checkpoint_path) signature
    failure: Failure | None = None
    notes: dict = field(default_factory=dict)  # runtime facts worth reporting (e.g. unclosed tensors)


def run(open_session: Callable[[], SignatureSession], data: dict[str, np.ndarray], steps: range, workdir: Path,
        interface: Interface = ZOO, on_stage: Callable[[str], None] = lambda stage: None) -> Trajectory:
    """Opens a session, executes the plan, closes it. A failure is recorded with its stage, not raised."""
    trajectory = Trajectory(steps.start)
    on_stage("load")
    try:
        session = open_session()
    except Exception as e:  # the runtime's failure is the result under test
        trajectory.failure = Failure("load", describe(e))
        return trajectory
    try:
        execute(session, data, steps, workdir, interface, trajectory, on_stage)
    finally:
        session.close()
    return trajectory


def execute(session: SignatureSession, data: dict[str, np.ndarray], steps: range, workdir: Path,
            interface: Interface = ZOO, trajectory: Trajectory | None = None,
            on_stage: Callable[[str], None] = lambda stage: None, save: bool = True) -> Trajectory:
    """Trains `steps`, predicts, then (unless `save` is False) saves both ways.

    Data is in the harness layout ("train.<input>", "predict.<input>", see data.py), whatever
    the signatures of `interface` are called.
    """
    trajectory = trajectory or Trajectory(steps.start)
    workdir.mkdir(parents=True, exist_ok=True)
    stage = "train"
    try:
        on_stage(stage)
        for step in steps:
            trajectory.losses.append(train_step(session, data, step, interface))
        stage = "predict"
        if interface.predict:
            on_stage(stage)
            trajectory.predictions = session.call(interface.predict, batch(data, "predict"))
        if not save:
            return trajectory
        stage = "save"
        on_stage(stage)
        trajectory.saver_checkpoint = session.save_variables(workdir / "saver")
        if not interface.save:
            return trajectory
        stage = "save_signature"
        on_stage(stage)
        prefix = workdir / "signature" / "checkpoint"
        prefix.parent.mkdir(parents=True, exist_ok=True)
        session.call(interface.save, {interface.save_path: np.array(str(prefix).encode())})
        trajectory.signature_checkpoint = str(prefix)
    except Exception as e:  # recorded with its stage; the report shows it
        trajectory.failure = Failure(stage, describe(e))
    return trajectory


def train_step(session: SignatureSession, data: dict[str, np.ndarray], step: int, interface: Interface = ZOO):
    """One optimizer step: the plan's train loop body (the benchmarks time exactly this). Returns the loss."""
    return np.asarray(session.call(interface.train, batch(data, "train", step))[interface.loss])


def describe(error: BaseException) -> str:
    """One line naming the error type and message (Java exceptions included, via JPype)."""
    if isinstance(error, RuntimeFailure):  # already described where it happened (in a worker)
        return " ".join(str(error).split())[:800]
    kind, message = type(error).__name__, str(error)
    if callable(getattr(error, "getClass", None)):  # a Java exception
        kind, message = str(error.getClass().getName()), str(error.getMessage())
    message = " ".join(message.split())
    return f"{kind}: {message[:600]}"
