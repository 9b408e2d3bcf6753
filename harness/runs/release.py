"""Release validation: drift between TF versions, and what changed from a baseline TF to a candidate.

Drift: an export trained by a runtime of another TF than its exporter's Python, measured by the
largest ULP distance and norm-wise error over the checks that compare numbers (losses, predictions,
checkpoints). 0 is bit-exact; within compare.CROSS_VERSION_BAND it is rounding, not a failure. A
release engineer reads it as a table exporter x runtime, and the summary per spec family and dtype.

What changed: a release run exports the zoo with the baseline B and the candidate C and trains
both in every runtime. The baseline world is B's exports in B's runtimes; the candidate world,
C's exports in C's runtimes (the same TF Java versions in both). A check that passes in the first
and not in the second is a new failure; the other way round, a fix. B's exports trained by C's
Python (can the candidate still train what the baseline wrote?) are compared with B's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .runner import BLOCKED, NOT_APPLICABLE, XFAIL, Result
from ..runtimes import KINDS, parse, reference, tensorflow_of
from ..exports.spec import SPECS_DIR, load


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
                                      "baseline_runtime": reference(r.exporter), "verdict": "bit-exact", "max_ulp": 0,
                                      "max_scaled": 0.0, "max_rel": 0.0})
        cell["max_ulp"] = max(cell["max_ulp"], int(r.comparison.max_ulp))
        cell["max_scaled"] = max(cell["max_scaled"], float(r.comparison.max_scaled))
        cell["max_rel"] = max(cell["max_rel"], float(r.comparison.max_rel))
        if r.comparison.verdict == "diverged" or (r.comparison.verdict != "bit-exact" and cell["verdict"] == "bit-exact"):
            cell["verdict"] = r.comparison.verdict
    return list(cells.values())


def _world_key(r: Result, version: str) -> tuple | None:
    """The key of a result in one TF version's world: its runtime named without the TF Python version."""
    kind, runtime_version = parse(r.runtime)
    if KINDS[kind].versioned_by_tensorflow:
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
    families: list[dict] = field(default_factory=list)  # per spec family and dtype: bit-exact, drifted or broken
    routes: list[dict] = field(default_factory=list)  # per authoring route: what each world makes of it

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
    out.families = families(results, candidate, out.new_failures)
    out.routes = routes(results, baseline, candidate)
    return out


def routes(results: list[Result], baseline: str, candidate: str) -> list[dict]:
    """Per authoring route, in each world: not applicable (why), or how many of its exports pass every
    check and where the others fail (the Keras 2 -> 3 story: which routes a version can author at all)."""
    out = []
    for route in sorted({r.case.rsplit(".", 1)[-1] for r in results if r.case}):
        row = {"route": route}
        for world, version in (("baseline", baseline), ("candidate", candidate)):
            mine = [r for r in results if r.case.endswith("." + route) and r.exporter == version]
            exports = sorted({r.case for r in mine})
            skipped = [r for r in mine if r.outcome == NOT_APPLICABLE and r.check == "export"]
            if not mine:
                row[world] = "not run"
            elif len(skipped) == len(mine):
                row[world] = f"n/a: {skipped[0].detail.split(': ', 1)[-1]}"
            else:
                failed = [r for r in mine if r.passed is False]
                where = sorted({r.runtime for r in failed})
                clean = len(exports) - len({r.case for r in failed})
                row[world] = f"{clean}/{len(exports)} exports pass every check" + (
                    f"; fails in {', '.join(where)} ({failed[0].outcome}: {failed[0].detail[:90]})" if failed else "")
        out.append(row)
    return out


def families(results: list[Result], candidate: str, new_failures: list[tuple[str, Result, Result]]) -> list[dict]:
    """Per spec family (its specs/ file) and dtype (its precision), what the candidate did to it: every
    result that involves the candidate (its exports anywhere, any export in a runtime of its TF).

    broken: a new failure (the first one's check and detail say why); drifted: numbers differ within
    the band (largest ulp and norm-wise error); bit-exact: every comparison 0 ulp."""
    kinds = _spec_families()
    groups: dict[tuple[str, str], dict] = {}
    for r in results:
        if not r.case or not (r.exporter == candidate or tensorflow_of(r.runtime) == candidate):
            continue
        family, dtype = kinds.get(r.case.split(".")[0], (r.case.split(".")[0], "?"))
        g = groups.setdefault((family, dtype), {"family": family, "dtype": dtype, "status": "bit-exact", "max_ulp": 0,
                                                "max_scaled": 0.0, "checks": 0, "broken": [], "expected_failures": 0})
        g["checks"] += 1
        g["expected_failures"] += r.outcome == XFAIL
        c = r.comparison
        if c is not None and r.passed and c.max_ulp:
            g["max_ulp"], g["max_scaled"] = max(g["max_ulp"], int(c.max_ulp)), max(g["max_scaled"], float(c.max_scaled))
            g["status"] = "drifted" if g["status"] == "bit-exact" else g["status"]
    for label, _, got in new_failures:
        family, dtype = kinds.get(got.case.split(".")[0], (got.case.split(".")[0], "?"))
        g = groups.get((family, dtype))
        if g is not None:
            g["status"] = "broken"
            g["broken"].append(f"{got.id} ({label}): {got.detail}")
    return [groups[k] for k in sorted(groups)]


def _spec_families() -> dict[str, tuple[str, str]]:
    """spec name -> (its family: the specs/ file that defines it, its precision)."""
    return {s.name: (path.stem, s.precision) for path in sorted(SPECS_DIR.glob("*.toml")) for s in load(path)}


def summary(c: Changes) -> str:
    lines = [f"Release check: candidate TF {c.candidate} against baseline TF {c.baseline}", ""]
    for title, items in (("New failures", c.new_failures), ("Fixed", c.fixed)):
        lines.append(f"{title}: {len(items)}")
        for label, was, got in items:
            lines.append(f"  {got.case}.{got.check} in {got.runtime} ({label}): was {was.outcome}, now {got.outcome}: "
                         f"{got.detail[:240]}")
    if c.routes:
        lines.append(f"By authoring route (baseline TF {c.baseline} | candidate TF {c.candidate}):")
    for row in c.routes:
        lines += [f"  {row['route']:16} {c.baseline:10} {row['baseline']}", f"  {'':16} {c.candidate:10} {row['candidate']}"]
    if c.families:
        lines.append(f"By spec family and dtype (every check that involves TF {c.candidate}):")
    for g in c.families:
        known = f", {g['expected_failures']} expected failures as listed" if g["expected_failures"] else ""
        lines.append(f"  {g['family']:28} {g['dtype']:14} {_status(g)}  ({g['checks']} checks{known})")
    lines.append(f"Drift ({c.baseline} exports trained by {c.candidate}'s Python, against {c.baseline}'s): "
                 f"{len(c.drifted)} of {len(c.drift)} cells differ")
    for d in sorted(c.drift, key=lambda d: (-d["max_ulp"], d["case"], d["runtime"])):
        differs = f"{d['verdict']}: {d['max_ulp']} ulp, norm-wise {d.get('max_scaled', 0):.2g}" if d["max_ulp"] else "bit-exact"
        lines.append(f"  {d['case']:40} {d['runtime']:28} {differs}")
    return "\n".join(lines)


def _status(g: dict) -> str:
    if g["status"] == "broken":
        return f"BROKEN: {len(g['broken'])} new failures; first {g['broken'][0][:200]}"
    if g["status"] == "drifted":
        return f"drifted by {g['max_ulp']} ulp (norm-wise {g['max_scaled']:.2g})"
    return "bit-exact"
