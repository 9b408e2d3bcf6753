"""What is expected of the runtimes: every expectations/*.toml but causes.toml and interleavings.toml
(expected_failures.toml and tolerances.toml in this project), one entry per cause.

[[expected_failure]] entries name
- `runtime`: a glob on the runtime's name, or a list of globs (any matches): "python-session-*", "java-[0-9]*"
  (TF Java through JPype: not "java-*", which also matches the plain Java runtimes "java-plain-*");
- `case`: a glob "<spec>.<route>.<check>" (or "setup"), or a list; a glob's `*` also crosses dots, so
  "these checks of this case" is a list;
- `exporter` (default "*": any): a glob on the TF version that wrote the export, or a list;
- the `error` the check must fail with (a regex on its detail), the `reason` and at least one upstream link.
An entry may instead refer to a known cause (`cause = "<id>"`, from causes.toml: ONE table of causes that
certify also uses to explain a user's failing checks): the cause's pattern, text and links are the entry's
error, reason and links unless the entry gives its own.

A divergence has a size: `max_relative` bounds it. A failure the entry lists must then have diverged
numerically (no missing tensor, changed shape or dtype, or NaN) by at most `max_relative` norm-wise
(the comparison's max_scaled, `scaled=` in the detail: max|d| / max|expected| per tensor, as a
tolerance's `relative`). An entry whose `error` would match any divergence (the detail of a bare
`diverged` comparison) must state it, so a 5% divergence of what was measured at 1.1% fails.

Strict: a failure must be explained by an entry that matches it (its error, and its size) to count as
expected; a listed check that passes is an error (XPASS) until its entry is removed. Entries never
depend on their order: a failure is expected when any entry that matches it explains it.

[[tolerance]] entries (`runtime`, `case`, `exporter` as above) give cases that differ by rounding their own
norm-wise relative tolerance (see compare.py), with the reason; everything else must be bit-exact.

A release candidate's runtime follows the baseline's (`stand_in`): it is expected to fail as the
baseline's runtime does, and as the entries that name it say.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..plan.compare import DIVERGED, Comparison
from .. import resources
from ..errors import HarnessError

EXPECTATIONS_DIR = resources.data("expectations")
NOT_ENTRIES = ("causes.toml", "interleavings.toml")  # the other tables of the folder
ANY_DIVERGENCE = Comparison(DIVERGED).summary()  # "diverged: max|d|=0 ...": an error matching it needs max_relative
SATURATED = int(np.iinfo(np.int64).max)  # compare's max_ulp for a changed shape or dtype, or NaN against a number


@dataclass(frozen=True)
class Expectation:
    case: str  # one glob, or several joined by " | " (a list in the file); so are runtime and exporter
    error: str
    reason: str
    links: tuple[str, ...]
    file: Path
    exporter: str = "*"
    runtime: str = "*"
    max_relative: float | None = None
    index: int = 0  # its place in its file: expected_failure[index]

    @property
    def where(self) -> str:
        return f"{self.file}: expected_failure[{self.index}]"

    def applies_to(self, runtime: str) -> bool:
        return _matches(runtime, self.runtime)

    def matches(self, test_id: str, exporter: str) -> bool:
        return _matches(test_id, self.case) and _matches(exporter, self.exporter)

    def mismatch(self, detail: str, comparison: Comparison | None = None) -> str | None:
        """Why a failing check is not the failure this entry lists; None when it is."""
        if re.search(self.error, detail) is None:
            return f"its error does not match /{self.error}/"
        if self.max_relative is None:
            return None
        if comparison is None:
            return f"it bounds a divergence (max_relative {self.max_relative:g}) and the check compared nothing"
        if comparison.max_ulp >= SATURATED or not comparison.max_scaled > 0:
            return "its divergence is not numeric (a missing tensor, a changed shape or dtype, or NaN)"
        if comparison.max_scaled > self.max_relative:
            return f"its norm-wise error {comparison.max_scaled:.3g} is beyond the entry's max_relative {self.max_relative:g}"
        return None

    def explains(self, detail: str, comparison: Comparison | None = None) -> bool:
        return self.mismatch(detail, comparison) is None


def _matches(name: str, globs: str) -> bool:
    """`globs`: one glob, or several joined by " | " (a list in the file)."""
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs.split(" | "))


@dataclass(frozen=True)
class Cause:
    id: str
    pattern: str  # regex on a failing check's detail
    cause: str  # what happened, one sentence
    fix: str  # what to change
    links: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"id": self.id, "cause": self.cause, "fix": self.fix, "links": list(self.links)}


def load_causes(directory: Path = EXPECTATIONS_DIR) -> dict[str, Cause]:
    """causes.toml: id -> Cause (none if the file is absent)."""
    path = directory / "causes.toml"
    if not path.exists():
        return {}
    causes = {}
    for i, entry in enumerate(_toml(path, path.read_text()).get("cause", [])):
        where = f"{path}: cause[{i}]"
        if set(entry) != {"id", "pattern", "cause", "fix", "links"}:
            raise HarnessError(f"{where}: needs exactly id, pattern, cause, fix, links (has {sorted(entry)})")
        if entry["id"] in causes:
            raise HarnessError(f"{where}: id {entry['id']!r} is already used")
        _regex(entry["pattern"], where, "pattern")
        causes[entry["id"]] = Cause(entry["id"], entry["pattern"], entry["cause"], entry["fix"], tuple(entry["links"]))
    return causes


def explain(detail: str, causes: dict[str, Cause]) -> Cause | None:
    """The first known cause whose pattern matches a failing check's detail."""
    return next((c for c in causes.values() if re.search(c.pattern, detail)), None)


@dataclass(frozen=True)
class Tolerance:
    case: str
    relative: float
    reason: str
    file: Path
    exporter: str = "*"
    runtime: str = "*"
    index: int = 0  # tolerance[index] of its file

    def applies_to(self, runtime: str) -> bool:
        return _matches(runtime, self.runtime)


@dataclass(frozen=True)
class Expectations:
    failures: tuple[Expectation, ...] = ()
    tolerances: tuple[Tolerance, ...] = ()

    def relative_tolerance(self, test_id: str, exporter: str) -> float:
        return next((t.relative for t in self.tolerances if _matches(test_id, t.case)
                     and _matches(exporter, t.exporter)), 0.0)

    def for_runtime(self, runtime: str, stand_in: str | None = None) -> Expectations:
        """The entries that apply to `runtime`, and to `stand_in` (the baseline's runtime a release
        candidate's follows), in file order."""
        names = (runtime,) if stand_in is None else (runtime, stand_in)
        # A runtime that must equal another's outputs bit for bit (c-X: python-session-X) fails as it does.
        names += tuple(other for name in names if (other := _equal_to(name)))
        return Expectations(tuple(e for e in self.failures if any(e.applies_to(n) for n in names)),
                            tuple(t for t in self.tolerances if any(t.applies_to(n) for n in names)))


def _equal_to(runtime: str) -> str | None:
    """The runtime whose outputs `runtime` must equal (registry.same_outputs_as); None for a name no kind has."""
    from ..runtimes.registry import same_outputs_as

    try:
        return same_outputs_as(runtime)
    except HarnessError:  # e.g. an entry's own test runtime "rt": it follows nothing
        return None


def files(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """The files that hold entries, in the order their entries are read."""
    return sorted(p for p in directory.glob("*.toml") if p.name not in NOT_ENTRIES)


def load_all(directory: Path = EXPECTATIONS_DIR) -> Expectations:
    """Every entry of every file of `directory`, whatever runtime it names."""
    failures, tolerances = [], []
    causes = load_causes(directory)
    for path in files(directory):
        f, t = parse(path, path.read_text(), causes)
        failures += f
        tolerances += t
    return Expectations(tuple(failures), tuple(tolerances))


def load(runtime: str, directory: Path = EXPECTATIONS_DIR, stand_in: str | None = None) -> Expectations:
    """The entries that apply to `runtime` (and to `stand_in`: see Expectations.for_runtime)."""
    return load_all(directory).for_runtime(runtime, stand_in)


def parse(path: Path, text: str, causes: dict[str, Cause]) -> tuple[list[Expectation], list[Tolerance]]:
    """The entries of one file's text; `path` names it in errors. Raises HarnessError on bad input."""
    raw = _toml(path, text)
    unknown = set(raw) - {"expected_failure", "tolerance"}
    if unknown:
        raise HarnessError(f"{path}: unknown keys {sorted(unknown)} (a file holds [[expected_failure]] "
                           f"and [[tolerance]] entries, each naming its runtime)")
    failures = []
    for i, entry in enumerate(raw.get("expected_failure", [])):
        where = f"{path}: expected_failure[{i}]"
        _keys(entry, where, {"runtime", "case", "exporter", "error", "reason", "links", "cause", "max_relative"})
        runtime, case, exporter = _globs(entry, "runtime", where), _globs(entry, "case", where), _exporter(entry, where)
        if "cause" in entry:  # the known cause's pattern, text and links, unless the entry gives its own
            if entry["cause"] not in causes:
                raise HarnessError(f"{where}: cause {entry['cause']!r} is not in {path.parent / 'causes.toml'}")
            known = causes[entry["cause"]]
            entry = {"error": known.pattern, "reason": known.cause, "links": list(known.links), **entry}
        for key in ("error", "reason"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise HarnessError(f"{where}: {key!r} must be a non-empty string")
        links = entry.get("links")
        if not links or not all(isinstance(l, str) and l.startswith("https://") for l in links):
            raise HarnessError(f"{where}: 'links' must list at least one https:// link to the upstream issue")
        _regex(entry["error"], where, "error")
        bound = entry.get("max_relative")
        if bound is not None and (not isinstance(bound, float) or not 0 < bound < 1):
            raise HarnessError(f"{where}: 'max_relative' must be a float in (0, 1), got {bound!r}")
        if bound is None and re.search(entry["error"], ANY_DIVERGENCE):
            raise HarnessError(f"{where}: error /{entry['error']}/ accepts a divergence of any size: state "
                               f"'max_relative', the largest norm-wise error (scaled= in the detail) it may have")
        failures.append(Expectation(case, entry["error"], entry["reason"], tuple(links), path, exporter, runtime,
                                    bound, i))
    tolerances = []
    for i, entry in enumerate(raw.get("tolerance", [])):
        where = f"{path}: tolerance[{i}]"
        _keys(entry, where, {"runtime", "case", "exporter", "relative", "reason"})
        runtime, case, exporter = _globs(entry, "runtime", where), _globs(entry, "case", where), _exporter(entry, where)
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise HarnessError(f"{where}: needs a 'reason'")
        relative = entry.get("relative")
        if not isinstance(relative, float) or not 0 < relative < 1e-2:
            raise HarnessError(f"{where}: 'relative' must be a float in (0, 0.01), got {relative!r}")
        tolerances.append(Tolerance(case, relative, entry["reason"], path, exporter, runtime, i))
    return failures, tolerances


def _toml(path: Path, text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"{path}: not valid TOML: {e}") from None


def _regex(pattern, where: str, key: str) -> None:
    try:
        re.compile(pattern)
    except (re.error, TypeError) as e:
        raise HarnessError(f"{where}: {key!r} is not a valid regex: {e}") from None


def _keys(entry: dict, where: str, allowed: set[str]) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise HarnessError(f"{where}: unknown keys {sorted(unknown)}")


_WHAT = {"case": "'case' must be a non-empty glob (\"<spec>.<route>.<check>\") or a list of them",
         "runtime": "'runtime' must be a glob on runtime names (\"python-session-*\") or a list of them",
         "exporter": "'exporter' must be a TF version glob such as \"2.15.*\", or a list of them"}


def _globs(entry: dict, key: str, where: str) -> str:
    """The entry's glob, or its list of globs, joined by " | "."""
    value = entry.get(key)
    globs = [value] if isinstance(value, str) else value
    if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and g.strip() and "|" not in g for g in globs):
        raise HarnessError(f"{where}: {_WHAT[key]}")
    return " | ".join(globs)


def _exporter(entry: dict, where: str) -> str:
    return _globs(entry, "exporter", where) if "exporter" in entry else "*"
