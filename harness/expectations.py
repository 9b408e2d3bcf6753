"""What is expected of each runtime and version: expectations/<runtime>.toml.

[[expected_failure]] entries name a case glob ("<spec>.<route>.<check>", or "setup"; or a list of
globs, any of which matches: a glob's `*` also crosses dots, so "these checks of this case" is a
list), the error it must fail with (a regex), the reason and at least one upstream link; `exporter`, a glob
on the TF version that wrote the export (default "*": any), makes an entry per (exporter,
runtime) pair. A failure must
match its entry's error to count as expected; a listed case that passes is an error (XPASS)
until its entry is removed.

An entry may instead refer to a known cause (`cause = "<id>"`, from causes.toml: ONE table of
causes that certify also uses to explain a user's failing checks): the cause's pattern, text and
links are the entry's error, reason and links unless the entry gives its own.

[[tolerance]] entries give cases that differ by rounding their own norm-wise relative tolerance
(see compare.py), with the reason; everything else must be bit-exact.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import HarnessError

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"


@dataclass(frozen=True)
class Expectation:
    case: str
    error: str
    reason: str
    links: tuple[str, ...]
    file: Path
    exporter: str = "*"

    def matches(self, test_id: str, exporter: str) -> bool:
        return _matches(test_id, self.case) and fnmatch.fnmatchcase(exporter, self.exporter)

    def explains(self, detail: str) -> bool:
        return re.search(self.error, detail) is not None


def _matches(test_id: str, case: str) -> bool:
    """`case`: one glob, or several joined by " | " (a list in the file)."""
    return any(fnmatch.fnmatchcase(test_id, glob) for glob in case.split(" | "))


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
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"{path}: not valid TOML: {e}") from None
    causes = {}
    for i, entry in enumerate(raw.get("cause", [])):
        where = f"{path}: cause[{i}]"
        if set(entry) != {"id", "pattern", "cause", "fix", "links"}:
            raise HarnessError(f"{where}: needs exactly id, pattern, cause, fix, links (has {sorted(entry)})")
        if entry["id"] in causes:
            raise HarnessError(f"{where}: id {entry['id']!r} is already used")
        try:
            re.compile(entry["pattern"])
        except re.error as e:
            raise HarnessError(f"{where}: 'pattern' is not a valid regex: {e}") from None
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


@dataclass(frozen=True)
class Expectations:
    failures: tuple[Expectation, ...] = ()
    tolerances: tuple[Tolerance, ...] = ()

    def relative_tolerance(self, test_id: str, exporter: str) -> float:
        return next((t.relative for t in self.tolerances if _matches(test_id, t.case)
                     and fnmatch.fnmatchcase(exporter, t.exporter)), 0.0)


def load(runtime: str, directory: Path = EXPECTATIONS_DIR, stand_in: str | None = None) -> Expectations:
    """`runtime`'s expectations; without a file of its own, `stand_in`'s (when given): a release
    candidate's runtime is expected to fail as the baseline's does, so only what changed stands out."""
    path = directory / f"{runtime}.toml"
    if not path.exists() and stand_in is not None:
        runtime, path = stand_in, directory / f"{stand_in}.toml"
    if not path.exists():
        return Expectations()
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"{path}: not valid TOML: {e}") from None
    unknown = set(raw) - {"runtime", "expected_failure", "tolerance"}
    if unknown:
        raise HarnessError(f"{path}: unknown keys {sorted(unknown)}")
    if raw.get("runtime") != runtime:
        raise HarnessError(f"{path}: 'runtime' must be {runtime!r}, got {raw.get('runtime')!r}")
    out = []
    causes = load_causes(directory) if any("cause" in e for e in raw.get("expected_failure", [])) else {}
    for i, entry in enumerate(raw.get("expected_failure", [])):
        where = f"{path}: expected_failure[{i}]"
        case = _case(entry, where)
        if "cause" in entry:  # the known cause's pattern, text and links, unless the entry gives its own
            if entry["cause"] not in causes:
                raise HarnessError(f"{where}: cause {entry['cause']!r} is not in {directory / 'causes.toml'}")
            known = causes[entry.pop("cause")]
            entry = {"error": known.pattern, "reason": known.cause, "links": list(known.links), **entry}
        for key in ("error", "reason"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise HarnessError(f"{where}: {key!r} must be a non-empty string")
        links = entry.get("links")
        if not links or not all(isinstance(l, str) and l.startswith("https://") for l in links):
            raise HarnessError(f"{where}: 'links' must list at least one https:// link to the upstream issue")
        try:
            re.compile(entry["error"])
        except re.error as e:
            raise HarnessError(f"{where}: 'error' is not a valid regex: {e}") from None
        out.append(Expectation(case, entry["error"], entry["reason"], tuple(links), path,
                               _exporter(entry, where)))
    tolerances = []
    for i, entry in enumerate(raw.get("tolerance", [])):
        where = f"{path}: tolerance[{i}]"
        case = _case(entry, where)
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise HarnessError(f"{where}: needs a 'reason'")
        relative = entry.get("relative")
        if not isinstance(relative, float) or not 0 < relative < 1e-2:
            raise HarnessError(f"{where}: 'relative' must be a float in (0, 0.01), got {relative!r}")
        tolerances.append(Tolerance(case, relative, entry["reason"], path, _exporter(entry, where)))
    return Expectations(tuple(out), tuple(tolerances))


def _case(entry: dict, where: str) -> str:
    """The entry's case glob, or its list of globs joined by " | "."""
    case = entry.get("case")
    globs = [case] if isinstance(case, str) else case
    if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and g.strip() and "|" not in g for g in globs):
        raise HarnessError(f"{where}: 'case' must be a non-empty glob (\"<spec>.<route>.<check>\") or a list of them")
    return " | ".join(globs)


def _exporter(entry: dict, where: str) -> str:
    exporter = entry.get("exporter", "*")
    if not isinstance(exporter, str) or not exporter:
        raise HarnessError(f"{where}: 'exporter' must be a TF version glob such as \"2.15.*\"")
    unknown = set(entry) - {"case", "error", "reason", "links", "exporter", "relative"}
    if unknown:
        raise HarnessError(f"{where}: unknown keys {sorted(unknown)}")
    return exporter
