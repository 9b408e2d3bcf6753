"""The outcome vocabulary: a check's Result and its outcome, as every report spells them. At the bottom of
the module graph (nothing here imports the harness's other modules at run time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..plan.compare import Comparison
    from ..runs.expectations import Expectation

PASS, FAIL, XFAIL, XPASS, BLOCKED, NOT_APPLICABLE = "PASS", "FAIL", "XFAIL", "XPASS", "BLOCKED", "N/A"
FAILING = (FAIL, XPASS)  # outcomes that fail a run


@dataclass
class Result:
    runtime: str
    case: str  # "<spec>.<route>", or "" for a runtime-level check ("setup")
    check: str
    passed: bool | None  # None: the check could not run (blocked by an earlier failure, or not applicable)
    detail: str = ""
    comparison: "Comparison | None" = None
    outcome: str = ""
    expectation: "Expectation | None" = None
    notes: dict = field(default_factory=dict)  # e.g. "losses": the per-step losses behind train.loss
    exporter: str = ""  # TF version that wrote the export ("" for a runtime-level check)

    @property
    def test_id(self) -> str:
        return f"{self.case}.{self.check}" if self.case else self.check

    @property
    def id(self) -> str:
        """"2.21.0/java-1.1.0/mlp_regression.tf_keras.train.loss"; "java-1.2.0/setup"."""
        return "/".join(p for p in (self.exporter, self.runtime, self.test_id) if p)
