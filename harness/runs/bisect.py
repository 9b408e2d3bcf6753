"""The first bad nightly: for each check that fails in BAD and passes in GOOD, the last nightly where it
still passed and the first where it failed, by binary search over the dated nightlies between them.

    first_bad(versions, is_bad)     the pure search (a unit test drives it with a predicate)
    bracket(versions, verdict)      the same search where a version may be unusable (verdict None: it does
                                    not install), skipped like `git bisect skip`
    bisect(good, bad, nightlies, failing)
                                    every failing check's search; `failing(version)` is the set of checks
                                    that version's release run fails, None when it does not install (run
                                    once per version, shared by every check's search); a step that gives
                                    no verdict raises StepFailed and ends the bisection incomplete

The CLI (`python -m harness bisect`) makes `failing` a `release VERSION --baseline GOOD` run of only the
failing checks' specs, each reusing the virtualenvs and exports of the cache.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

from packaging.version import Version

from ..errors import HarnessError


class StepFailed(HarnessError):
    """A step that gave no verdict (its release run failed as a harness error, not as a finding)."""


def first_bad(versions: list[str], is_bad: Callable[[str], bool]) -> tuple[int, int]:
    """(index of the first bad version, number of versions asked) in `versions`, oldest first, whose last
    one is known bad and whose good predecessor is outside the list. Assumes once bad, bad after."""
    asked: list[str] = []
    _, high, _ = bracket(versions, lambda v: asked.append(v) or bool(is_bad(v)))  # never None: none skipped
    return high, len(asked)


def bracket(versions: list[str], verdict: Callable[[str], bool | None]) -> tuple[int, int, list[str]]:
    """(index of the last good version, -1 for the known good before the list; index of the first bad;
    the unusable versions between them) in `versions` as for first_bad, where verdict(v) is True (bad),
    False (good) or None (unusable: neither). An unusable middle is replaced by the usable version nearest
    to it; when none is left between the last good and the first bad, those two bracket the skipped ones."""
    low, high = -1, len(versions) - 1  # versions[low] good, versions[high] bad
    unusable: set[int] = set()
    while usable := [i for i in range(low + 1, high) if i not in unusable]:
        middle = (low + high) // 2
        nearest = min(usable, key=lambda i: (abs(i - middle), i))  # the middle itself while it is usable
        said = verdict(versions[nearest])
        if said is None:
            unusable.add(nearest)
        elif said:
            high = nearest
        else:
            low = nearest
    return low, high, versions[low + 1:high]  # all unusable: the loop ends when none between is usable


@dataclass
class Bisection:
    good: str
    bad: str
    nightlies: list[str]  # between good and bad, oldest first, bad last
    found: dict[str, dict] = field(default_factory=dict)  # check -> {"last_good", "first_bad", "skipped", ...}
    # each version run: {"version", "seconds", "installs", "failing"}; failing None where it does not install
    steps: list[dict] = field(default_factory=list)
    error: str | None = None  # why the bisection stopped before every check was searched (a StepFailed)
    fixes: bool = False  # searched the fixes (failing in GOOD, passing in BAD): "bad" then means "fixed"

    @property
    def seconds(self) -> float:
        return sum(s["seconds"] for s in self.steps)

    @property
    def complete(self) -> bool:
        return self.error is None

    @property
    def installs(self) -> bool | None:
        """BAD installs and imports (None: its step gave no verdict)."""
        return self.steps[0]["installs"] if self.steps else None


def bisect(good: str, bad: str, nightlies: list[str], failing: Callable[[str], set[str] | None],
           fixes: bool = False) -> Bisection:
    """Runs `bad` (its failing checks are those to search), then each check's binary search over the
    nightlies after `good` up to `bad`. A version is run at most once. A BAD that does not install leaves
    nothing to search (`installs` False); a StepFailed stops the search with the steps done so far. With
    `fixes`, failing(version) gives the checks that version fixed: the same search finds the first fixed."""
    between = sorted((v for v in nightlies if Version(good) < Version(v) < Version(bad)), key=Version)
    out = Bisection(good, bad, [*between, bad], fixes=fixes)
    seen: dict[str, set[str] | None] = {}

    def run(version: str) -> set[str] | None:
        if version not in seen:
            started = time.monotonic()
            checks = failing(version)
            seen[version] = None if checks is None else set(checks)
            out.steps.append({"version": version, "seconds": round(time.monotonic() - started, 1),
                              "installs": checks is not None,
                              "failing": None if checks is None else sorted(checks)})
        return seen[version]

    def fails(check: str) -> Callable[[str], bool | None]:
        return lambda v: None if run(v) is None else check in run(v)

    try:
        for check in sorted(run(bad) or ()):
            low, high, skipped = bracket(out.nightlies, fails(check))
            last_good = out.nightlies[low] if low >= 0 else good
            out.found[check] = {"last_good": last_good, "last_good_date": date_of(last_good),
                                "first_bad": out.nightlies[high], "first_bad_date": date_of(out.nightlies[high]),
                                "skipped": skipped}
    except StepFailed as e:
        out.error = str(e)
    return out


def date_of(version: str) -> str | None:
    """A nightly's date (2.23.0.dev20261026 -> 2026-10-26); None for a release."""
    dev = Version(version).dev
    if dev is None:
        return None
    digits = str(dev)[:8]
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"


def resolve(text: str, nightlies: list[str], releases: list[str]) -> str:
    """A version as given, or a date (2026-10-26) -> the nightly of that day."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        dated = [v for v in nightlies if date_of(v) == text]
        if not dated:
            raise HarnessError(f"no tf-nightly dated {text} on the index; the newest: {', '.join(nightlies[:5])}")
        return dated[0]
    if text not in nightlies and text not in releases:
        raise HarnessError(f"{text!r} is neither a date (2026-10-26) nor a TensorFlow version the index serves "
                           f"(newest nightlies: {', '.join(nightlies[:3])}; releases: {', '.join(releases[:3])})")
    return text


def summary(b: Bisection) -> str:
    before, after, what = ("still failing", "fixed", "Fixed") if b.fixes else ("good", "bad", "Failing")
    lines = [f"Bisect{' (fixes)' if b.fixes else ''}: good TF {b.good}, bad TF {b.bad}; {len(b.nightlies) - 1} nightlies "
             f"between; {len(b.steps)} steps, {b.seconds / 60:.1f} min",
             f"{what} in {b.bad} and not in {b.good}: {len(b.found)}" if not b.fixes else
             f"{what} in {b.bad}, failing in {b.good}: {len(b.found)}"]
    for check, f in b.found.items():
        unknown = f"; between them, not installing: {', '.join(f['skipped'])}" if f["skipped"] else ""
        lines.append(f"  {check}: last {before} {f['last_good']} ({f['last_good_date'] or 'release'}), "
                     f"first {after} {f['first_bad']} ({f['first_bad_date']}){unknown}")
    for s in b.steps:
        verdict = (f"{len(s['failing'])} {'fixed' if b.fixes else 'failing'}" if s["installs"]
                   else "does not install or import, skipped")
        lines.append(f"  step {s['version']}: {verdict} ({s['seconds']:.0f} s)")
    return "\n".join(lines)


def as_json(b: Bisection) -> dict:
    """bisect.json; with fixes, each check's versions are named for what they are (last_failing, first_fixed)."""
    names = {"last_good": "last_failing", "last_good_date": "last_failing_date", "first_bad": "first_fixed",
             "first_bad_date": "first_fixed_date"} if b.fixes else {}
    found = {check: {names.get(k, k): v for k, v in f.items()} for check, f in b.found.items()}
    return {"good": b.good, "bad": b.bad, "searched": "fixes" if b.fixes else "breaks", "nightlies": b.nightlies,
            "installs": b.installs, "found": found, "steps": b.steps, "step_count": len(b.steps),
            "seconds": round(b.seconds, 1), "complete": b.complete, "error": b.error}
