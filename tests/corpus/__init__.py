"""Training exports in the styles of public code: one module per style, each citing the repository and
file it follows (in this project's own words: no code is copied).

Every module defines `case() -> Case`; `collect()` walks the package. What a Case expects is derived
from the code it follows (which function trains, what the restore carries), never copied from a run.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Case:
    name: str  # the module's name
    source: str  # "owner/repo path/in/repo.py": the public code the style is taken from
    style: str  # one line: what is characteristic of it
    # build(out, broken): writes the SavedModel into `out` (a directory it creates). broken=True writes the
    # known-bad twin: the same export with its checkpoint convention leaving one variable or slot out.
    build: Callable[[Path, bool], None]
    # The roles certify must find: "train", "loss", "predict", "save", "restore", "get_weights",
    # "set_weights" -> a signature (output for "loss"), or None for none. A TF1 graph trained by op (no train
    # signature): "train" -> "op:<train op name>", "loss" -> "tensor:<name:0>".
    roles: dict[str, str | None]
    # Per train input: "data" (a batch: standard normal floats), "class-ids:<N>" (integers in [0, N), N from
    # the graph), "default" (keeps its PlaceholderWithDefault / default value), "hyper" (a scalar
    # hyper-parameter: a stated constant, never noise).
    data: dict[str, str]
    # Per checkpoint convention the export has ("saver", "signature", "weights"): what it leaves out, among
    # "optimizer slots", "iteration counter", "learning rate", "non-trainable statistics", "random state",
    # "variables" (some trained variables); an empty set: it carries everything the train step changes.
    leaves_out: dict[str, frozenset[str]]
    # What the broken twin's checkpoint convention leaves out beyond the good one's (the flip).
    broken_leaves_out: dict[str, frozenset[str]] = field(default_factory=dict)
    verdict: str = "conformant"  # or "not conformant: <cause id in expectations/causes.toml>"
    tags: tuple[str, ...] = ("serve",)  # the meta graph certify must train
    trains_randomly: bool = False  # the train step draws random numbers (dropout, noise)


def collect() -> list[Case]:
    """Every module's case, sorted by name; a duplicate name or a case named unlike its module is an error."""
    cases = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        case = importlib.import_module(f"{__name__}.{info.name}").case()
        if case.name != info.name:
            raise ValueError(f"tests/corpus/{info.name}.py: its case is named {case.name!r}")
        cases.append(case)
    return cases
