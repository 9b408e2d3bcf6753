"""Interleavings of train / save / load across Python and TF Java, checked against one trajectory.

The model is always held by one runtime, at step n. A story is a list of Steps: train k steps
where it is, or hand it over (the holder saves one way, a runtime loads what was saved). After
every step the holder's predictions and every variable (read through the `save` signature:
weights, optimizer slots, iteration counter, non-trainable state) must equal the uninterrupted
Python reference at step n, and every loss so far the reference's losses.

Hand-over ways:
  signature  save(checkpoint_path) -> the export loaded fresh, then restore(checkpoint_path)
  saver      Python: a re-export (tf.saved_model.save), loaded as it is;
             Java: Session.save -> Java restores it into a fresh load (Session.restore),
             Python loads a copy of the export with those variables
  exporter   Java only: SavedModelBundle.exporter writes a whole new SavedModel, loaded as it is

Used by the hypothesis state machine (tests/test_interleavings.py) and by `python -m harness replay`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..plan import checkpoints, compare
from . import faults
from ..exports.data import batch
from ..runtimes.python_runtime import EagerSession
from ..runs.runner import Export, with_variables
from ..plan.trajectory import describe

RUNTIMES = ("python", "java")
WAYS = {"python": ("signature", "saver"), "java": ("signature", "saver", "exporter")}


@dataclass(frozen=True)
class Step:
    action: str  # "train" or "handover"
    count: int = 0  # train: how many steps
    way: str = ""  # handover: how the holder saves
    to: str = ""  # handover: the runtime that loads

    def __str__(self) -> str:
        return f"train {self.count}" if self.action == "train" else f"handover by {self.way} to {self.to}"


class Divergence(AssertionError):
    """The story left the reference trajectory (or a runtime could not take a path)."""


@dataclass
class Reference:
    """The uninterrupted Python trajectory: loss of each step; predictions and variables after n steps."""
    losses: list
    predictions: list
    variables: list

    @classmethod
    def compute(cls, export: Export, workdir: Path, steps: int) -> Reference:
        session = EagerSession(export.saved_model)
        losses, predictions, variables = [], [], []
        for n in range(steps + 1):
            predictions.append(session.call("predict", batch(export.data, "predict")))
            variables.append(_signature_variables(session, workdir / f"reference-{n}"))
            if n < steps:
                losses.append(np.asarray(session.call("train", batch(export.data, "train", n))["loss"]))
        return cls(losses, predictions, variables)


def _signature_variables(session, directory: Path) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    prefix = directory / "checkpoint"
    session.call("save", {"checkpoint_path": np.array(str(prefix).encode())})
    return checkpoints.read(prefix)


class Player:
    """Plays a story on an export, holding the model in one runtime at a time."""

    def __init__(self, export: Export, java, reference: Reference, workdir: Path, fault: str | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.export, self.java, self.reference = export, java, reference
        self.workdir = Path(tempfile.mkdtemp(prefix="story-", dir=workdir))  # one per story: stories never share files
        self.fault = faults.PLANTED[fault] if fault else None
        self.story: list[Step] = []
        self.losses: list = []
        self.n = 0
        self.holder, self.session = "python", EagerSession(export.saved_model)
        self.from_java_exporter = False  # Python holds a SavedModel that TF Java's exporter wrote

    @property
    def steps_left(self) -> int:
        return len(self.reference.losses) - self.n

    def play(self, step: Step) -> None:
        self.story.append(step)
        where = self.workdir / f"{len(self.story):02d}"
        try:
            if step.action == "train":
                for _ in range(step.count):
                    self.losses.append(np.asarray(self.session.call("train", batch(self.export.data, "train", self.n))["loss"]))
                    self.n += 1
            else:
                self._handover(step, where)
        except Divergence:
            raise
        except Exception as e:  # a runtime could not take this path: a finding, reported as such
            raise Divergence(f"after {self._told()}: {self.holder} could not do it: {describe(e)}") from None
        self.check(where)

    def check(self, where: Path) -> None:
        """The invariant: losses so far, predictions and every variable equal the reference at step n."""
        got = {
            "losses": (compare.steps(self.reference.losses[: self.n]), compare.steps(self.losses)),
            "predictions": (self.reference.predictions[self.n], self.session.call("predict", batch(self.export.data, "predict"))),
            "variables": (self.reference.variables[self.n], _signature_variables(self.session, where / "check")),
        }
        for what, (expected, actual) in got.items():
            result = compare.compare(expected, actual)
            if not result.ok:
                raise Divergence(f"after {self._told()}: {what} left the reference at step {self.n} "
                                 f"({self.holder} holds the model): {result.summary()}")

    def close(self) -> None:
        if self.session is not None:
            unreleased = self.session.close()
            self.session = None
            if unreleased:
                raise Divergence(f"after {self._told()}: {unreleased} TF Java pointers left alive")

    def _told(self) -> str:
        return "; ".join(map(str, self.story)) or "nothing"

    def _handover(self, step: Step, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        if step.way == "signature":
            prefix = where / "signature" / "checkpoint"
            prefix.parent.mkdir(parents=True, exist_ok=True)
            self.session.call("save", {"checkpoint_path": np.array(str(prefix).encode())})
            self._replace(self._open(step.to, self.export.saved_model))
            self.session.call("restore", {"checkpoint_path": np.array(str(prefix).encode())})
        elif step.way == "exporter":
            saved_model = Path(self.session.export(where / "exported"))
            self._replace(self._open(step.to, saved_model))
            self.from_java_exporter = step.to == "python"
            self.holder = step.to
            return
        elif self.holder == "python":  # saver: a re-export, loaded as it is
            prefix = self.session.save_variables(where / "reexport")
            self._replace(self._open(step.to, Path(prefix).parent.parent))
        else:  # saver, from Java: Session.save
            prefix = self.session.save_variables(where / "saver")
            if self.fault:
                checkpoints.rewrite(prefix, self.fault)
            if step.to == "java":
                self._replace(self._open("java", self.export.saved_model))
                self.session.restore_variables(prefix)
            else:
                self._replace(self._open("python", with_variables(self.export.saved_model, prefix, where / "export")))
        self.holder, self.from_java_exporter = step.to, False

    def _open(self, runtime: str, saved_model: Path):
        return EagerSession(saved_model) if runtime == "python" else self.java.open_session(saved_model)

    def _replace(self, session) -> None:
        old, self.session = self.session, session
        unreleased = old.close()
        if unreleased:
            raise Divergence(f"after {self._told()}: {unreleased} TF Java pointers left alive")


def write_reproduction(folder: Path, bundle_root: Path, story: list[Step], error: str, fault: str | None) -> None:
    """A self-contained folder: the export bundle, the story, and the command that replays it."""
    from .. import atomic

    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(bundle_root, folder / "bundle")
    command = f"python -m harness replay {folder}" + (f" --plant-fault {fault}" if fault else "")
    atomic.write_json(folder / "story.json", {"steps": [asdict(s) for s in story], "fault": fault, "error": error})
    atomic.write_text(folder / "README.txt", f"{error}\n\nReplay it in Python and TF Java:\n  {command}\n")


def read_story(folder: Path) -> tuple[list[Step], str | None]:
    raw = json.loads((folder / "story.json").read_text())
    return [Step(**s) for s in raw["steps"]], raw.get("fault")
