"""The first bad nightly: for each check that fails in BAD and passes in GOOD, the last nightly where it
still passed and the first where it failed, by binary search over the dated nightlies between them.

    first_bad(versions, is_bad)     the pure search (a unit test drives it with a predicate)
    bisect(good, bad, nightlies, failing)
                                    every failing check's search; `failing(version)` is the set of checks
                                    that version's release run fails (run once per version, shared by
                                    every check's search)

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


def first_bad(versions: list[str], is_bad: Callable[[str], bool]) -> tuple[int, int]:
    """(index of the first bad version, number of versions asked) in `versions`, oldest first, whose last
    one is known bad and whose good predecessor is outside the list. Assumes once bad, bad after."""
    low, high, asked = -1, len(versions) - 1, 0  # versions[low] good (-1: the known good), versions[high] bad
    while high - low > 1:
        middle = (low + high) // 2
        asked += 1
        if is_bad(versions[middle]):
            high = middle
        else:
            low = middle
    return high, asked


@dataclass
class Bisection:
    good: str
    bad: str
    nightlies: list[str]  # between good and bad, oldest first, bad last
    found: dict[str, dict] = field(default_factory=dict)  # check -> {"last_good", "first_bad", ...}
    steps: list[dict] = field(default_factory=list)  # each version run: {"version", "seconds", "failing"}

    @property
    def seconds(self) -> float:
        return sum(s["seconds"] for s in self.steps)


def bisect(good: str, bad: str, nightlies: list[str], failing: Callable[[str], set[str]]) -> Bisection:
    """Runs `bad` (its failing checks are those to search), then each check's binary search over the
    nightlies after `good` up to `bad`. A version is run at most once."""
    between = sorted((v for v in nightlies if Version(good) < Version(v) < Version(bad)), key=Version)
    out = Bisection(good, bad, [*between, bad])
    seen: dict[str, set[str]] = {}

    def run(version: str) -> set[str]:
        if version not in seen:
            started = time.monotonic()
            seen[version] = set(failing(version))
            out.steps.append({"version": version, "seconds": round(time.monotonic() - started, 1),
                              "failing": sorted(seen[version])})
        return seen[version]

    for check in sorted(run(bad)):
        index, _ = first_bad(out.nightlies, lambda v: check in run(v))
        last_good = out.nightlies[index - 1] if index > 0 else good
        out.found[check] = {"last_good": last_good, "last_good_date": date_of(last_good),
                            "first_bad": out.nightlies[index], "first_bad_date": date_of(out.nightlies[index])}
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
    lines = [f"Bisect: good TF {b.good}, bad TF {b.bad}; {len(b.nightlies) - 1} nightlies between; "
             f"{len(b.steps)} steps, {b.seconds / 60:.1f} min",
             f"Failing in {b.bad} and not in {b.good}: {len(b.found)}"]
    for check, f in b.found.items():
        lines.append(f"  {check}: last good {f['last_good']} ({f['last_good_date'] or 'release'}), "
                     f"first bad {f['first_bad']} ({f['first_bad_date']})")
    for s in b.steps:
        lines.append(f"  step {s['version']}: {len(s['failing'])} failing ({s['seconds']:.0f} s)")
    return "\n".join(lines)


def as_json(b: Bisection) -> dict:
    return {"good": b.good, "bad": b.bad, "nightlies": b.nightlies, "found": b.found, "steps": b.steps,
            "step_count": len(b.steps), "seconds": round(b.seconds, 1)}
