"""Faults planted on purpose, to show the stateful tests find and shrink a dropped piece of state.

Each one damages what a runtime path saved, as a buggy runtime would. Only tests and
`python -m harness replay --plant-fault NAME` turn one on.
"""

from __future__ import annotations

import numpy as np

from . import checkpoints


def _optimizer_slots_not_saved(values: dict) -> None:
    """Java's Session.save writes the weights but leaves the optimizer slots at their initial zeros."""
    names = checkpoints.variable_names_in(values)
    slots = [k for k in values if ".OPTIMIZER_SLOT" in k or names.get(k, "").startswith(("m/", "v/"))]
    if not slots:
        raise ValueError("no optimizer slot found in the checkpoint")
    for key in slots:
        values[key] = np.zeros_like(values[key])


PLANTED = {"java-saver-drops-slots": _optimizer_slots_not_saved}
