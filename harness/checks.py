"""The checks: ONE registry of what is judged per export and runtime. The runner runs them in this
order, docs/reference.md's table and certify's explanations are read from it, the fault catalog names them.

A check has a stage (the part of the plan, trajectory.STAGES, whose output it judges: a failure
there fails the stage's first check and blocks the later ones), may need a capability of the runtime
(runtimes/base.Capabilities: not applicable with the kind's reason otherwise) or a signature of the
export (an Interface field: not applicable, `missing`, otherwise), and says how it measures: a
function of the run being judged (runner.Judging) -> a compare.Comparison.

To add a check: its entry here (and what produces its tensors in the plan, if it is new there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Check:
    name: str
    what: str  # what it compares with the reference (docs/reference.md's table)
    stage: str = ""  # the plan's stage that produces what it judges ("": not a check of the plan)
    needs: str = ""  # a Capabilities flag the runtime must have
    requires: str = ""  # an Interface field the export must have
    missing: str = ""  # why it does not apply when the export lacks `requires`
    meaning: str = ""  # what that means for a team that trains the export in Java (certify's certificate)
    measure: Callable | None = None  # (Judging) -> Comparison; None: passes when its stage ran


def outputs_by_step(part, first_step: int | None = None) -> dict[str, np.ndarray]:
    """The loss of each step ("step N") and, when the train signature returns more scalars (a metrics
    dict), each of them by name ("step N: accuracy"): compared together, step by step."""
    first = part.first_step if first_step is None else first_step
    out = {}
    for i, loss in enumerate(part.losses):
        out[f"step {first + i}"] = np.asarray(loss)
        for name, value in (part.metrics[i] if i < len(part.metrics) else {}).items():
            out[f"step {first + i}: {name}"] = np.asarray(value)
    return out


def _resumed(j, check):
    expected = j.resume_expected or j.ref_second
    return j.trajectory(check, outputs_by_step(expected, j.export.steps), outputs_by_step(j.resumed(), j.export.steps))


def _resumed_checkpoints(j) -> tuple[str, str]:
    """(the reference's, Python resumed's) checkpoints of the second part, as the resume saved them."""
    resumed, expected = j.resumed(), j.resume_expected or j.ref_second
    if resumed.notes.get("resumed_by") == "signature":  # runner.resume_by_signature: a runtime with no saver
        return expected.signature_checkpoint, resumed.signature_checkpoint
    return expected.saver_checkpoint, resumed.saver_checkpoint


PLAN = (
    Check("load", "the runtime loads the export", "load"),
    Check("train.loss", "loss at every step; with a metrics dict (`{loss, accuracy, ...}`), every other scalar "
          "output too, each by name (`step N: accuracy`)", "train",
          measure=lambda j: j.trajectory("train.loss", outputs_by_step(j.ref_first), outputs_by_step(j.got))),
    Check("predict", "predictions after training", "predict", requires="predict",
          missing="export has no inference signature",
          meaning="no inference signature: predictions after training cannot be checked; serve from a re-export",
          measure=lambda j: j.trajectory("predict", j.ref_first.predictions, j.got.predictions)),
    Check("checkpoint.saver", "every variable of the saver_def checkpoint: weights, optimizer slots (Adam m and v), "
          "iteration, learning rate", "save", needs="saves_by_saver",
          measure=lambda j: j.variables("checkpoint.saver", j.ref_first.saver_checkpoint, j.got.saver_checkpoint)),
    Check("checkpoint.signature", "every variable of the `save(checkpoint_path)` checkpoint", "save_signature",
          requires="save", missing="export has no save signature",
          meaning="no save/restore signature: checkpoints only through the SavedModel's saver (Session.save/restore)",
          measure=lambda j: j.variables("checkpoint.signature", j.ref_first.signature_checkpoint,
                                        j.got.signature_checkpoint)),
    Check("resume.loss", "Python loads the export with the runtime's variables and trains on: losses (a runtime "
          "with no saver: Python restores its `save` checkpoint with the `restore` signature)", "save",
          measure=lambda j: _resumed(j, "resume.loss")),
    Check("resume.variables", "... and the variables it ends with", "save",
          measure=lambda j: j.variables("resume.variables", *_resumed_checkpoints(j))),
    Check("checkpoint.weights", "`get_weights()` after training, output by output (weights by value)", "weights",
          requires="get_weights", missing="export has no get_weights signature (weights by value)",
          meaning="weights by value (a get_weights signature with no inputs, a set_weights one taking its outputs, as "
          "federated clients exchange them) are not checked for this export: see why",
          measure=lambda j: j.trajectory("checkpoint.weights", j.ref_first.weights, j.got.weights)),
)
# The restore part, per way a checkpoint comes back (trajectory.RESTORE_WAYS): a fresh load restores the
# reference's checkpoint of step k, trains on and saves that way (runner._restore_checks measures them).
RESTORE = (
    Check("restore.saver.loss", "the runtime restores the reference's saver checkpoint and trains on: losses",
          needs="restores_by_saver"),
    Check("restore.saver.variables", "... and every variable it then saves (its saver)", needs="restores_by_saver"),
    Check("restore.signature.loss", "the runtime restores the reference's `save` checkpoint with the `restore` "
          "signature: losses", needs="restores_by_signature", requires="restore",
          missing="export has no save and restore signatures",
          meaning="no save/restore signature: checkpoints only through the SavedModel's saver (Session.save/restore)"),
    Check("restore.signature.variables", "... and every variable it then saves with the `save` signature",
          needs="restores_by_signature", requires="restore", missing="export has no save and restore signatures",
          meaning="no save/restore signature: checkpoints only through the SavedModel's saver (Session.save/restore)"),
    Check("restore.weights.loss", "the runtime sets the reference's `get_weights()` of step k with `set_weights` into a "
          "fresh load and trains on: losses", needs="restores_by_weights", requires="set_weights",
          missing="export has no get_weights and set_weights signatures (weights by value)",
          meaning="weights by value (a get_weights signature with no inputs, a set_weights one taking its outputs, as "
          "federated clients exchange them) are not checked for this export: see why"),
    Check("restore.weights.variables", "... and `get_weights()` after those steps", needs="restores_by_weights",
          requires="set_weights", missing="export has no get_weights and set_weights signatures (weights by value)",
          meaning="weights by value (a get_weights signature with no inputs, a set_weights one taking its outputs, as "
          "federated clients exchange them) are not checked for this export: see why"),
)
RUNTIME = (
    Check("tensors.closed", "no native tensor left open after the calls (TF Java, the C program)", needs="counts_native_tensors"),
    Check("equals.<runtime>", "a runtime that must produce another's outputs (plain Java: JPype's) does, bit for bit: "
          "losses, predictions, weights, both checkpoints"),
)
REFERENCE = (
    Check("export", "the exporter writes the export (its log is named on failure)"),
    Check("setup", "the runtime starts (Maven resolves TF Java; the worker starts TensorFlow or the JVM)"),
    Check("reference", "the exporter's TF2 loader trains the export (the reference trajectory)"),
    Check("reference.deterministic", "two Python runs of the same steps agree bit for bit"),
)
ALL = REFERENCE + PLAN + RESTORE + RUNTIME
BY_NAME = {c.name: c for c in ALL}


def find(name: str) -> Check:
    """The check of a result's name ("equals.java-1.1.0" is equals.<runtime>)."""
    return BY_NAME.get(name) or BY_NAME["equals.<runtime>" if name.startswith("equals.") else name]


def docs_table() -> str:
    """The table of checks in docs/reference.md, as the registry has them (tools/reference.py renders it)."""
    rows = ["| check | compares with the reference |", "|---|---|"]
    rows += [f"| `{c.name}` | {c.what} |" for c in ALL]
    return "\n".join(rows)
