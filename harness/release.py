"""Release validation: drift between TF versions, and what changed from a baseline TF to a candidate.

Drift: an export trained by another runtime than its exporter's Python, measured by the largest
ULP distance over the checks that compare numbers (losses, predictions, checkpoints). 0 is
bit-exact. A release engineer reads it as a table exporter x runtime.

What changed: a release run exports the zoo with the baseline B and the candidate C and trains
both in every runtime. The baseline world is B's exports in B's runtimes; the candidate world,
C's exports in C's runtimes (the same TF Java versions in both). A check that passes in the first
and not in the second is a new failure; the other way round, a fix. B's exports trained by C's
Python (can the candidate still train what the baseline wrote?) are compared with B's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .runner import BLOCKED, NOT_APPLICABLE, XFAIL, Result
from .runtimes import parse, tensorflow_of


def drift(results: list[Result]) -> list[dict]:
    """Per (exporter, case, runtime of another TF): the largest ULP distance from the exporter's reference.

    Known behaviour failures (XFAIL) are not drift; neither is a runtime of the exporter's own TF.
    """
    cells: dict[tuple[str, str, str], dict] = {}
    for r in results:
        if r.comparison is None or not r.exporter or r.outcome == XFAIL or tensorflow_of(r.runtime) == r.exporter:
            continue
        key = (r.exporter, r.case, r.runtime)
        cell = cells.setdefault(key, {"exporter": r.exporter, "case": r.case, "runtime": r.runtime,
                                      "baseline_runtime": f"python-{r.exporter}", "verdict": "bit-exact", "max_ulp": 0})
        cell["max_ulp"] = max(cell["max_ulp"], int(r.comparison.max_ulp))
        if r.comparison.verdict == "diverged" or (r.comparison.verdict != "bit-exact" and cell["verdict"] == "bit-exact"):
            cell["verdict"] = r.comparison.verdict
    return list(cells.values())


def _world_key(r: Result, version: str) -> tuple | None:
    """The key of a result in one TF version's world: its runtime named without the TF Python version."""
    kind, runtime_version = parse(r.runtime)
    if kind.startswith("python"):
        if runtime_version != version:
            return None
        return (r.case, r.check, kind)
    return (r.case, r.check, r.runtime)


@dataclass
class Changes:
    baseline: str
    candidate: str
    new_failures: list[tuple[str, Result, Result]] = field(default_factory=list)  # (what, before, after)
    fixed: list[tuple[str, Result, Result]] = field(default_factory=list)
    drift: list[dict] = field(default_factory=list)  # the baseline's exports in the candidate's runtimes

    @property
    def drifted(self) -> list[dict]:
        return [d for d in self.drift if d["max_ulp"]]


def changes(results: list[Result], baseline: str, candidate: str) -> Changes:
    out = Changes(baseline, candidate)
    ran = [r for r in results if r.case and r.outcome not in (BLOCKED, NOT_APPLICABLE)]
    before = {k: r for r in ran if r.exporter == baseline and (k := _world_key(r, baseline))}
    after = {k: r for r in ran if r.exporter == candidate and (k := _world_key(r, candidate))}
    # The baseline's exports in the candidate's Python: judged against the same exports in the baseline's.
    older = {k: r for r in ran if r.exporter == baseline and (k := _world_key(r, candidate))}
    for label, now in ((f"exported by {candidate}", after), (f"exported by {baseline}, trained by {candidate}", older)):
        for key, was in before.items():
            got = now.get(key)
            if got is None:
                continue
            if was.passed and not got.passed:
                out.new_failures.append((label, was, got))
            elif got.passed and not was.passed:
                out.fixed.append((label, was, got))
    out.drift = [d for d in drift(results) if d["exporter"] == baseline and parse(d["runtime"])[1] == candidate]
    return out


def summary(c: Changes) -> str:
    lines = [f"Release check: candidate TF {c.candidate} against baseline TF {c.baseline}", ""]
    for title, items in (("New failures", c.new_failures), ("Fixed", c.fixed)):
        lines.append(f"{title}: {len(items)}")
        for label, was, got in items:
            lines.append(f"  {got.case}.{got.check} in {got.runtime} ({label}): was {was.outcome}, now {got.outcome}: "
                         f"{got.detail[:240]}")
    lines.append(f"Drift ({c.baseline} exports trained by {c.candidate}'s Python, against {c.baseline}'s): "
                 f"{len(c.drifted)} of {len(c.drift)} cells differ")
    for d in sorted(c.drift, key=lambda d: (-d["max_ulp"], d["case"], d["runtime"])):
        lines.append(f"  {d['case']:40} {d['runtime']:28} {'bit-exact' if not d['max_ulp'] else str(d['max_ulp']) + ' ulp'}")
    return "\n".join(lines)
