"""One runtime's run over an export: load, train some steps, predict, save both ways; then restore.

The restore part (when asked: `restore`) starts again from a fresh load of the export for each
way a checkpoint can come back: "saver" (the runtime's own saver: Session.restore in Java, the
saver_def's restore op in the session loader, a load of the export with those variables in the
TF2 loader), "signature" (the export's restore(checkpoint_path) signature) and "weights" (weights
by value, as federated clients exchange them: the reference's get_weights() outputs, an .npz, fed
to the set_weights signature). Each restores the reference's checkpoint of step k, trains steps
[k, k+m) and saves the same way (for "weights": calls get_weights again).

Runtime-neutral (numpy only): the Python runtimes and the Java worker drive their sessions
through this same loop, so every language runs exactly the same plan.
"""

from __future__ import annotations

import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..exports.data import batch
from .interface import ZOO, Interface

STAGES = ("load", "train", "predict", "save", "save_signature", "weights")
RESTORE_WAYS = ("saver", "signature", "weights")
WEIGHTS_KEY = "weights."  # + a set_weights input: its key in the .npz of weights by value (never np.savez's "file")


class SignatureSession(Protocol):
    """What a runtime's session offers the plan. It may also offer `trainer(data, interface)`: a
    prepared train step, or None (see trainer())."""

    def call(self, signature: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def save_variables(self, directory: Path) -> str:
        """Writes every variable the runtime's own way (saver_def, or a re-export); returns the prefix."""
        ...

    def restore_variables(self, prefix: str) -> None:
        """Reads every variable back the runtime's own way (saver_def, or a load of the export with them)."""
        ...

    def close(self) -> None: ...


class RuntimeFailure(Exception):
    """A runtime failed at something it was asked to do, or its worker died: a finding, not a harness error."""


HARNESS = str(Path(__file__).resolve().parent) + "/"


def is_runtimes(error: Exception) -> bool:
    """Whether `error` is the runtime's (TensorFlow's, TF Java's, a RuntimeFailure) rather than a bug in the
    harness's own code: raised by a TF or Java class, or from a frame outside this package. The plan
    records the runtime's errors as findings and lets the harness's own propagate (exit 2)."""
    if isinstance(error, RuntimeFailure):
        return True
    if any(c.__module__.split(".")[0] in ("tensorflow", "jpype", "java", "org", "_jpype") for c in type(error).__mro__):
        return True
    frames = traceback.extract_tb(error.__traceback__)
    return not frames or not frames[-1].filename.startswith(HARNESS)


@dataclass
class Failure:
    stage: str  # one of STAGES ("restore" in a restored part), or "worker" when the runtime's process died
    error: str


@dataclass(frozen=True)
class Restore:
    """The restore part of the plan: checkpoints of step `steps[0]` to restore, per way (None: skip that way)."""
    steps: tuple[int, int]  # [k, k+m)
    saver: str | None = None  # prefix written by the reference's saver
    signature: str | None = None  # prefix written by the reference's save signature
    weights: str | None = None  # .npz of the reference's get_weights outputs, for the set_weights signature


@dataclass
class Trajectory:
    first_step: int
    losses: list[np.ndarray] = field(default_factory=list)
    metrics: list[dict[str, np.ndarray]] = field(default_factory=list)  # per step: the interface's metrics outputs
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    saver_checkpoint: str | None = None  # written by save_variables
    signature_checkpoint: str | None = None  # written by the export's save(checkpoint_path) signature
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # get_weights' outputs after the steps
    failure: Failure | None = None
    notes: dict = field(default_factory=dict)  # runtime facts worth reporting (e.g. unclosed tensors)
    restored: dict[str, "Trajectory"] = field(default_factory=dict)  # way -> the restored part (RESTORE_WAYS)


def run(open_session: Callable[[], SignatureSession], data: dict[str, np.ndarray], steps: range, workdir: Path,
        interface: Interface = ZOO, on_stage: Callable[[str], None] = lambda stage: None) -> Trajectory:
    """Opens a session, executes the plan, closes it. A failure is recorded with its stage, not raised."""
    trajectory = Trajectory(steps.start)
    on_stage("load")
    try:
        session = open_session()
    except Exception as e:  # the runtime's failure is the result under test; the harness's own propagates
        if not is_runtimes(e):
            raise
        trajectory.failure = Failure("load", describe(e))
        return trajectory
    try:
        execute(session, data, steps, workdir, interface, trajectory, on_stage)
    finally:
        session.close()
    return trajectory


def restore_and_train(open_session: Callable[[], SignatureSession], way: str, prefix: str, data: dict[str, np.ndarray],
                      steps: range, workdir: Path, interface: Interface = ZOO,
                      on_stage: Callable[[str], None] = lambda stage: None) -> Trajectory:
    """A fresh load of the export restores `prefix` one way, trains `steps` and saves the same way.

    The restore part of the plan (a worker runs it as a request of its own, after the plan).
    """
    part = Trajectory(steps.start)
    staged = on_stage
    on_stage = lambda stage: staged(f"restore.{way}.{stage}")  # a crash report names the part  # noqa: E731
    on_stage("load")
    try:
        session = open_session()
    except Exception as e:
        if not is_runtimes(e):
            raise
        part.failure = Failure("load", describe(e))
        return part
    try:
        try:
            on_stage("restore")
            if way == "saver":
                session.restore_variables(prefix)
            elif way == "weights":  # by value: the arrays themselves are the inputs of the setter
                with np.load(prefix, allow_pickle=False) as weights:
                    session.call(interface.set_weights, {key[len(WEIGHTS_KEY):]: weights[key] for key in weights.files})
            else:
                session.call(interface.restore, {interface.restore_path: np.array(str(prefix).encode())})
        except Exception as e:
            if not is_runtimes(e):
                raise
            part.failure = Failure("restore", describe(e))
            return part
        execute(session, data, steps, workdir, interface, part, on_stage, ways=(way,), predict=False)
    finally:
        session.close()
    return part


def execute(session: SignatureSession, data: dict[str, np.ndarray], steps: range, workdir: Path,
            interface: Interface = ZOO, trajectory: Trajectory | None = None,
            on_stage: Callable[[str], None] = lambda stage: None, save: bool = True,
            ways: tuple[str, ...] = RESTORE_WAYS, predict: bool = True) -> Trajectory:
    """Trains `steps`, predicts (unless `predict` is False), then (unless `save` is False) saves
    each of `ways`: "saver" (the runtime's own), "signature" (the save signature) and "weights"
    (get_weights' outputs, kept in the trajectory), each where the interface has it.

    Data is in the harness layout ("train.<input>", "predict.<input>", see data.py), whatever
    the signatures of `interface` are called.
    """
    trajectory = trajectory or Trajectory(steps.start)
    workdir.mkdir(parents=True, exist_ok=True)
    stage = "train"
    try:
        on_stage(stage)
        train = step_outputs(session, data, interface) if steps else None  # no step: nothing to prepare
        for step in steps:
            outputs = train(step)
            trajectory.losses.append(outputs.pop(interface.loss))
            if interface.metrics:
                trajectory.metrics.append(outputs)
        stage = "predict"
        if interface.predict and predict:
            on_stage(stage)
            trajectory.predictions = session.call(interface.predict, batch(data, "predict"))
        if not save:
            return trajectory
        stage = "save"
        if "saver" in ways:
            on_stage(stage)
            trajectory.saver_checkpoint = session.save_variables(workdir / "saver")
        if interface.save and "signature" in ways:
            stage = "save_signature"
            on_stage(stage)
            prefix = workdir / "signature" / "checkpoint"
            prefix.parent.mkdir(parents=True, exist_ok=True)
            session.call(interface.save, {interface.save_path: np.array(str(prefix).encode())})
            trajectory.signature_checkpoint = str(prefix)
        if interface.get_weights and "weights" in ways:
            stage = "weights"
            on_stage(stage)
            trajectory.weights = session.call(interface.get_weights, {})
    except Exception as e:  # recorded with its stage; the report shows it
        if not is_runtimes(e):
            raise
        trajectory.failure = Failure(stage, describe(e))
    return trajectory


def trainer(session: SignatureSession, data: dict[str, np.ndarray],
            interface: Interface = ZOO) -> Callable[[int], np.ndarray]:
    """The plan's train loop body on this session: step -> the loss of one optimizer step on row
    `step` of data's train.* arrays (the benchmarks time exactly this).

    A session may prepare its own once per run (`session.trainer(data, interface)`, or None where it
    cannot): the same call, the same loss, less work per call (JavaSession's is one JPype crossing).
    """
    prepare = getattr(session, "trainer", None)
    prepared = prepare(data, interface) if prepare is not None else None
    if prepared is not None:
        return prepared
    return lambda step: np.asarray(session.call(interface.train, batch(data, "train", step))[interface.loss])


def step_outputs(session: SignatureSession, data: dict[str, np.ndarray],
                 interface: Interface = ZOO) -> Callable[[int], dict[str, np.ndarray]]:
    """step -> {loss, and each of interface.metrics: its value} of one optimizer step (see trainer()).

    With metrics, the generic call (every output comes back); without, the session's own trainer."""
    if not interface.metrics:
        train = trainer(session, data, interface)
        return lambda step: {interface.loss: train(step)}
    wanted = (interface.loss, *interface.metrics)

    def step(i: int) -> dict[str, np.ndarray]:
        outputs = session.call(interface.train, batch(data, "train", i))
        return {name: np.asarray(outputs[name]) for name in wanted}
    return step


def describe(error: BaseException) -> str:
    """One line naming the error type and message (Java exceptions included, via JPype)."""
    if isinstance(error, RuntimeFailure):  # already described where it happened (in a worker)
        return " ".join(str(error).split())[:800]
    kind, message = type(error).__name__, str(error)
    if callable(getattr(error, "getClass", None)):  # a Java exception
        kind, message = str(error.getClass().getName()), str(error.getMessage())
    message = " ".join(_without_python_stack(message).split())
    return f"{kind}: {message[:600]}"


def _without_python_stack(message: str) -> str:
    """TensorFlow's error text without the Python stack it appends (where the op was defined: the
    harness's own frames, many lines): what failed stays, e.g. "Key beta1_power not found in checkpoint"."""
    message = message.split("\nOriginal stack trace for ")[0]
    kept, under_frame = [], False
    for line in message.splitlines():
        frame = line.lstrip().startswith('File "') and ", line " in line
        if frame or (under_frame and line.startswith("    ")):  # a frame, or the source line under it
            under_frame = frame
            continue
        under_frame = False
        kept.append(line.replace(" defined at (most recent call last):", ""))
    return "\n".join(kept)


def with_variables(saved_model: Path, prefix: str, directory: Path) -> Path:
    """A copy of `saved_model` whose variables are the checkpoint under `prefix` (the original is never written)."""
    if directory.exists():
        shutil.rmtree(directory)
    shutil.copytree(saved_model, directory, ignore=shutil.ignore_patterns("variables", "fingerprint.pb"))
    (directory / "variables").mkdir()
    source = Path(prefix)
    for file in source.parent.glob(source.name + ".*"):
        shutil.copyfile(file, directory / "variables" / ("variables" + file.name[len(source.name):]))
    return directory
