"""`python -m harness expectations update REPORT.json [--write]`: the expected-failure lists against a run.

Modelled on protobuf's conformance/update_failure_list.py. The report's results (the JSON `conformance`
writes) are classified anew with the current expectations, from the run's own verdicts (nothing re-runs),
and what the lists should change is printed for a maintainer to review:

- stale entries: they matched nothing, although the report ran the runtimes, exporters and checks they
  name (an entry the report did not cover at all, e.g. a matrix entry in a CI report, is only listed);
- XPASS entries: every check they match passes now (remove), or some do (narrow them by hand);
- unexpected failures, grouped into suggested entries (runtime, case, exporter, the error derived from
  the detail, `max_relative` from the measured size of a divergence, the `cause` when causes.toml
  explains it);
- results the current expectations classify otherwise than the run did, and results the run compared
  with another tolerance than the current one (those need a re-run to be judged).

--write removes the stale and XPASS entries from their files and appends the suggested entries that a
known cause explains to expected_failures.toml; an unexplained failure needs a reason and an upstream
link first, so its entry is printed, not written. The new texts are validated, then each file is
replaced atomically. A comment right above an entry (no blank line between) belongs to it and goes with it.

Candidate runtimes of a release report are classified by their own names only (no stand-in).
`python -m harness expectations compare A.json B.json` compares the outcome of every result id of two reports.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from ..plan import compare
from . import expectations
from ..reports import report
from ..errors import HarnessError
from .expectations import ANY_DIVERGENCE, SATURATED, Expectation, Expectations
from .runner import BLOCKED, FAIL, LISTED, NOT_APPLICABLE, PASS, XFAIL, XPASS, Result, classify

NEW_ENTRIES = "expected_failures.toml"  # where --write appends suggested entries
MARGIN = 1.5  # a suggested max_relative: the largest measured divergence times this, rounded up


def results_of(data: dict) -> list[Result]:
    """The report's results as the runner made them, before classify: the run's verdicts, no outcome."""
    out = []
    for d in data["results"]:
        passed = {PASS: True, XPASS: True, FAIL: False, XFAIL: False}.get(d["outcome"])
        head, listed, _ = d["detail"].rpartition(LISTED)  # classify's note on a listed failure
        comparison = compare.Comparison(**d["comparison"]) if d["comparison"] else None
        out.append(Result(d["runtime"], d["case"], d["check"], passed, head if listed else d["detail"], comparison,
                          d["outcome"] if passed is None else "", exporter=d["exporter"]))
    return out


def reclassify(data: dict, every: Expectations) -> list[Result]:
    """The report's results classified with `every` (each runtime by the entries that name it)."""
    results = results_of(data)
    for runtime in dict.fromkeys(r.runtime for r in results):
        classify([r for r in results if r.runtime == runtime], every.for_runtime(runtime).failures)
    return results


@dataclass
class Suggestion:
    """An entry for unexpected failures: every runtime x case x exporter of it failed in the report."""
    runtimes: list[str]
    cases: list[str]
    exporters: list[str]
    error: str | None  # None: the cause's pattern
    cause: str | None
    measured: float | None  # the largest norm-wise divergence of its failures, when bounded
    ids: list[str]

    @property
    def max_relative(self) -> float | None:
        return None if self.measured is None else bound(self.measured)

    @property
    def complete(self) -> bool:
        """A known cause gives it a reason and links: --write can add it as it is."""
        return self.cause is not None

    def toml(self) -> str:
        lines = ["[[expected_failure]]", f"runtime = {_value(self.runtimes)}", f"case = {_value(self.cases)}"]
        if self.exporters != [""]:  # a runtime's setup has no exporter: the default "*" matches it
            lines.append(f"exporter = {_value(self.exporters)}")
        if self.cause:
            lines.append(f"cause = {_value(self.cause)}")
        if self.error is not None:
            lines.append(f"error = {_value(self.error)}")
        if self.measured is not None:
            lines.append(f"max_relative = {self.max_relative!r}  # measured {self.measured:.3g} (scaled=)")
        if not self.complete:
            lines += ['reason = ""  # TODO: what happens, and why', 'links = []  # TODO: the upstream issue, https://']
        return "\n".join(lines) + "\n"


@dataclass
class Review:
    stale: list[Expectation] = field(default_factory=list)
    not_covered: list[Expectation] = field(default_factory=list)
    passing: list[tuple[Expectation, list[str]]] = field(default_factory=list)  # every match passes: remove
    narrow: list[tuple[Expectation, list[str], int]] = field(default_factory=list)  # some pass (ids), of N
    suggestions: list[Suggestion] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # id, the run's outcome, now
    retolerated: list[tuple[str, float, float]] = field(default_factory=list)  # id, the run's tolerance, now

    @property
    def to_remove(self) -> list[Expectation]:
        return self.stale + [e for e, _ in self.passing]


def review(data: dict, every: Expectations, causes: dict[str, expectations.Cause]) -> Review:
    results = reclassify(data, every)
    out = Review()
    for d, r in zip(data["results"], results):
        if d["outcome"] != r.outcome:
            out.changed.append((r.id, d["outcome"], r.outcome))
        if r.comparison is not None:
            now = every.for_runtime(r.runtime).relative_tolerance(r.test_id, r.exporter)
            if now != r.comparison.relative_tolerance:
                out.retolerated.append((r.id, r.comparison.relative_tolerance, now))
    ran = [r for r in results if r.outcome not in (BLOCKED, NOT_APPLICABLE)]
    pairs = {(r.runtime, r.exporter) for r in ran}
    test_ids = {r.test_id for r in ran}
    for entry in every.failures:
        hits = [r for r in ran if entry.applies_to(r.runtime) and entry.matches(r.test_id, r.exporter)]
        passed = [r.id for r in hits if r.passed]
        if not hits:
            covered = (any(entry.applies_to(rt) and entry.matches(t, x) for rt, x in pairs for t in test_ids))
            (out.stale if covered else out.not_covered).append(entry)
        elif len(passed) == len(hits):
            out.passing.append((entry, passed))
        elif passed:
            out.narrow.append((entry, passed, len(hits)))
    out.suggestions = suggest([r for r in results if r.outcome == FAIL], causes)
    return out


def suggest(failures: list[Result], causes: dict[str, expectations.Cause]) -> list[Suggestion]:
    """Entries that would list `failures`, merged where the runtimes x cases x exporters are all failures."""
    kinds, measured = {}, defaultdict(float)
    for r in failures:
        known = expectations.explain(r.detail, causes)
        kind = (known.id if known else None, None if known else error_of(r.detail, r.comparison))
        pattern = known.pattern if known else kind[1]
        if re.search(pattern, ANY_DIVERGENCE):  # needs a bound: only a numeric divergence below 1 has one
            if not _numeric(r.comparison) or bound(r.comparison.max_scaled) >= 1:
                kind = (None, _located(r.comparison))
            else:
                measured[kind] = max(measured[kind], r.comparison.max_scaled)
        kinds[r.id] = kind
    atoms = defaultdict(set)  # kind -> {(runtime, case, exporter)}
    for r in failures:
        atoms[kinds[r.id]].add((r.runtime, r.test_id, r.exporter))
    out = []
    for (cause, error), cells in atoms.items():
        by_test = defaultdict(set)
        for runtime, test, exporter in cells:
            by_test[(test, exporter)].add(runtime)
        by_runtimes = defaultdict(set)
        for (test, exporter), runtimes in by_test.items():
            by_runtimes[(frozenset(runtimes), exporter)].add(test)
        by_cases = defaultdict(set)
        for (runtimes, exporter), tests in by_runtimes.items():
            by_cases[(runtimes, frozenset(tests))].add(exporter)
        for (runtimes, tests), exporters in by_cases.items():
            ids = sorted(r.id for r in failures if kinds[r.id] == (cause, error) and r.runtime in runtimes
                         and r.test_id in tests and r.exporter in exporters)
            out.append(Suggestion(sorted(runtimes), sorted(tests), sorted(exporters, key=report.version_key), error,
                                  cause, measured.get((cause, error)), ids))
    return sorted(out, key=lambda s: (s.cases, s.runtimes, s.exporters))


def error_of(detail: str, comparison: compare.Comparison | None) -> str:
    """An error pattern for a failing check's detail: a divergence is `^diverged: ` (its size is bounded
    apart); any other detail, its wording up to the first number, quote or bracket (what varies)."""
    if comparison is not None and detail.startswith(f"{compare.DIVERGED}: "):
        return f"^{compare.DIVERGED}: "
    path = re.match(r"/\S+: ", detail)  # a file of this machine: not part of the error
    text = detail[path.end():] if path else detail
    return ("" if path else "^") + _literal(_stem(text) or text[:40])


def _located(comparison: compare.Comparison | None) -> str:
    """The pattern of a divergence no size can bound (no numeric measure): where it starts."""
    first = comparison.first_divergence if comparison else None
    return f"^{compare.DIVERGED}: .*first: " + (_literal(_stem(first)) if first else "")


def _stem(text: str) -> str:
    return re.split(r"[0-9'\"\[(]", text, maxsplit=1)[0][:80].rstrip(" :,.=/-")


def _literal(text: str) -> str:
    """`text` as a regex that matches it (re.escape, without escaping what needs none: spaces, dashes)."""
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)


def _numeric(comparison: compare.Comparison | None) -> bool:
    return comparison is not None and comparison.max_ulp < SATURATED and 0 < comparison.max_scaled < math.inf


def bound(measured: float) -> float:
    """A max_relative for a divergence measured at `measured`: MARGIN times it, rounded up to one digit."""
    x = measured * MARGIN
    unit = 10.0 ** math.floor(math.log10(x))
    return float(f"{math.ceil(x / unit - 1e-9) * unit:.1g}")


def _value(v) -> str:
    """A TOML value: a string (JSON's escapes are TOML's), or a list of them."""
    if isinstance(v, list) and len(v) == 1:
        v = v[0]
    return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else "[" + ", ".join(map(json.dumps, v)) + "]"


# --- the text ---------------------------------------------------------------------------------------

def _entry_name(e: Expectation) -> str:
    return f"{e.where} ({e.case}; runtime {e.runtime}; exporter {e.exporter})"


def render(r: Review, source: Path, limit: int = 5) -> str:
    def some(ids: list[str]) -> str:
        return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")

    lines = [f"Expectations against {source}:"]
    lines += [f"  stale (matched nothing the report ran): {_entry_name(e)}" for e in r.stale]
    lines += [f"  XPASS, remove (all {len(ids)} pass): {_entry_name(e)}: {some(ids)}" for e, ids in r.passing]
    lines += [f"  XPASS, narrow by hand ({len(ids)} of {n} pass): {_entry_name(e)}: {some(ids)}" for e, ids, n in r.narrow]
    if r.suggestions:
        lines.append(f"  unexpected failures: {sum(len(s.ids) for s in r.suggestions)}, as {len(r.suggestions)} "
                     f"suggested entries:")
    for s in r.suggestions:
        lines.append(f"    # {len(s.ids)} failing: {some(s.ids)}"
                     + ("" if s.complete else " (not written by --write: give it a reason and a link)"))
        lines += [f"    {line}" for line in s.toml().splitlines()]
    lines += [f"  not covered by this report (kept): {_entry_name(e)}" for e in r.not_covered]
    if r.changed:
        lines.append(f"  {len(r.changed)} results classified otherwise than the run did:")
        lines += [f"    {id}: {was} -> {now}" for id, was, now in r.changed[:limit * 4]]
    if r.retolerated:
        lines.append(f"  {len(r.retolerated)} results compared with another tolerance than the current one (re-run them):")
        lines += [f"    {id}: {was:g} -> {now:g}" for id, was, now in r.retolerated[:limit * 4]]
    if not (r.stale or r.passing or r.narrow or r.suggestions):
        lines.append("  nothing to change")
    return "\n".join(lines)


# --- rewriting the files -------------------------------------------------------------------------

HEADER = re.compile(r"^\[\[(\w+)\]\]\s*(#.*)?$")


def without(text: str, indexes: set[int]) -> str:
    """`text` without its expected_failure entries number `indexes`, each with the comment right above it."""
    lines = text.splitlines(keepends=True)
    drop = set()
    heads = [i for i, line in enumerate(lines) if (m := HEADER.match(line.rstrip("\n"))) and m.group(1) == "expected_failure"]
    for n in indexes:
        start = end = heads[n]
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        in_string = False
        end += 1
        while end < len(lines) and (in_string or not (HEADER.match(lines[end].rstrip("\n")) or not lines[end].strip()
                                                       or lines[end].lstrip().startswith("#"))):
            in_string ^= lines[end].count('"""') % 2 == 1
            end += 1
        if end < len(lines) and not lines[end].strip():  # and the blank line that separated it
            end += 1
        drop.update(range(start, end))
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def write(r: Review, directory: Path, causes: dict[str, expectations.Cause], source: Path) -> list[Path]:
    """Applies the review to the files of `directory` (see the module's doc); returns the files written."""
    texts = {}
    by_file = defaultdict(set)
    for e in r.to_remove:
        by_file[e.file].add(e.index)
    for path, indexes in by_file.items():
        texts[path] = without(path.read_text(), indexes)
    new = [s for s in r.suggestions if s.complete]
    if new:
        path = directory / NEW_ENTRIES
        text = texts.get(path, path.read_text() if path.exists() else "")
        added = "\n".join(s.toml() for s in new)
        texts[path] = f"{text.rstrip()}\n\n# From `python -m harness expectations update {source}`: review them.\n{added}".lstrip()
    for path, text in texts.items():  # every new text is valid before any file changes
        expectations.parse(path, text, causes)
    for path, text in texts.items():
        atomic.write_text(path, text)
    return list(texts)


# --- the command ---------------------------------------------------------------------------------

def update(report_path: Path, directory: Path, write_files: bool) -> int:
    """Prints the review; with write_files, applies it. Exit status 1 while something is left to change."""
    data = report.read(report_path)
    if write_files and data.get("partial"):
        raise HarnessError(f"{report_path}: a partial report (an interrupted run's) cannot tell what is stale")
    causes = expectations.load_causes(directory)
    found = review(data, expectations.load_all(directory), causes)
    print(render(found, report_path))
    if not write_files:
        return 1 if found.stale or found.passing or found.narrow or found.suggestions else 0
    written = write(found, directory, causes, report_path)
    print(f"written: {' '.join(map(str, written))}" if written else "written: nothing")
    return 1 if found.narrow or any(not s.complete for s in found.suggestions) else 0


def compare_outcomes(a: dict, b: dict) -> tuple[int, list[tuple[str, str, str]], list[str], list[str]]:
    """(ids with the same outcome, [(id, outcome in a, outcome in b)] that differ, ids only in a, only in b)."""
    left = {r["id"]: r["outcome"] for r in a["results"]}
    right = {r["id"]: r["outcome"] for r in b["results"]}
    differ = [(i, left[i], right[i]) for i in left if i in right and left[i] != right[i]]
    same = sum(1 for i in left if i in right and left[i] == right[i])
    return same, differ, [i for i in left if i not in right], [i for i in right if i not in left]


def compare_reports(a_path: Path, b_path: Path) -> int:
    a, b = report.read(a_path), report.read(b_path)
    same, differ, only_a, only_b = compare_outcomes(a, b)
    counts = lambda data: ", ".join(f"{k} {v}" for k, v in sorted(report.counts(data["results"]).items()))  # noqa: E731
    print(f"{a_path}: {len(a['results'])} results ({counts(a)})")
    print(f"{b_path}: {len(b['results'])} results ({counts(b)})")
    print(f"same outcome: {same}; different: {len(differ)}; only in the first: {len(only_a)}; only in the second: {len(only_b)}")
    for id, x, y in differ:
        print(f"  {id}: {x} -> {y}")
    for id in only_a:
        print(f"  only in {a_path}: {id}")
    for id in only_b:
        print(f"  only in {b_path}: {id}")
    return 1 if differ or only_a or only_b else 0
