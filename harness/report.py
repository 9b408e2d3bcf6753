"""What a run reports: a readable table, a JSON report and a JUnit XML file (both written atomically)."""

from __future__ import annotations

import dataclasses
import os
import platform
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

from . import atomic
from .runner import BLOCKED, FAIL, NOT_APPLICABLE, PASS, XFAIL, XPASS, Result

FAILING = (FAIL, XPASS)


def environment(threads: int, runtimes: dict[str, dict]) -> dict:  # pragma: no mutate block (facts, not verdicts)
    """The facts that decide the numbers."""
    import numpy
    import tensorflow as tf

    from .bundle import package_version

    cpu = "unknown"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "tensorflow_python": tf.__version__,
        "keras": package_version("keras"),
        "tf_keras": package_version("tf_keras"),
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "runtimes": runtimes,  # per runtime: TF version it runs, Java version, or why it could not start
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (TF default: on for x86 CPUs)"),
        "threads": {"intra_op": threads, "inter_op": threads},
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }


def counts(results: list[Result]) -> Counter:
    return Counter(r.outcome for r in results)


def summary_line(results: list[Result]) -> str:
    c = counts(results)
    return (f"{c[PASS]} passed, {c[FAIL] + c[XPASS]} failed, {c[XFAIL]} expected failures, "
            f"{c[BLOCKED]} blocked, {c[NOT_APPLICABLE]} not applicable")


def table(results: list[Result], runtimes: list[str]) -> str:
    """Rows: export x check; columns: runtimes; then the details of everything that did not pass."""
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for r in results:
        cell = r.outcome
        if r.comparison is not None and r.outcome in (PASS, FAIL, XPASS):
            c = r.comparison
            cell += " =" if c.verdict == "bit-exact" else f" {c.max_ulp}ulp"
        cells.setdefault((r.case, r.check), {})[r.runtime] = cell
    head = ["export", "check", *runtimes]
    rows = [[case or "-", check, *(by.get(rt, "") for rt in runtimes)] for (case, check), by in cells.items()]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    lines.append("")
    lines.append("'=' bit-exact; 'Nulp' largest distance in units in the last place (tolerance: 0 ulp, see harness/compare.py)")
    unexpected = [r for r in results if r.outcome in FAILING]
    if unexpected:
        lines += ["", "Unexpected results:"]
    for r in unexpected:
        lines.append(f"  {r.outcome:5} {r.runtime}/{r.test_id}: {r.detail}")
        if r.outcome == XPASS:
            lines.append(f"        listed as expected failure in {r.expectation.file}: it passes now; remove the entry")
    expected: dict = {}  # one paragraph per expectation entry, however many cases it covers
    for r in results:
        if r.outcome == XFAIL:
            expected.setdefault((r.runtime, r.expectation), []).append(r)
    if expected:
        lines += ["", "Expected failures (expectations/<runtime>.toml):"]
    for (runtime, entry), hits in expected.items():
        lines.append(f"  XFAIL {runtime}/{entry.case} x{len(hits)}: {entry.reason} {' '.join(entry.links)}")
        lines.append(f"        e.g. {hits[0].test_id}: {hits[0].detail[:300]}")
    lines += ["", summary_line(results)]
    return "\n".join(lines)


def to_json(results: list[Result], env: dict, seconds: float) -> dict:
    def one(r: Result) -> dict:
        return {
            "id": r.id,
            "exporter": r.exporter,
            "runtime": r.runtime,
            "case": r.case,
            "check": r.check,
            "outcome": r.outcome,
            "detail": r.detail,
            "comparison": dataclasses.asdict(r.comparison) if r.comparison else None,
            "expectation": None if r.expectation is None else {
                "file": str(r.expectation.file), "case": r.expectation.case, "reason": r.expectation.reason,
                "links": list(r.expectation.links)},
        }

    return {"environment": env, "seconds": round(seconds, 1), "summary": dict(counts(results)),
            "ok": not any(r.outcome in FAILING for r in results), "results": [one(r) for r in results]}


def to_junit(results: list[Result]) -> str:
    root = ET.Element("testsuites", name="tf-training-conformance")
    for runtime in dict.fromkeys(r.runtime for r in results):
        mine = [r for r in results if r.runtime == runtime]
        suite = ET.SubElement(root, "testsuite", name=runtime, tests=str(len(mine)),
                              failures=str(sum(r.outcome in FAILING for r in mine)),
                              skipped=str(sum(r.outcome in (XFAIL, BLOCKED, NOT_APPLICABLE) for r in mine)))
        for r in mine:
            case = ET.SubElement(suite, "testcase", classname=f"{runtime}.{r.case or 'runtime'}", name=r.check)
            if r.outcome == FAIL:
                ET.SubElement(case, "failure", message=r.detail[:500]).text = r.detail
            elif r.outcome == XPASS:
                ET.SubElement(case, "failure", message=f"expected to fail ({r.expectation.file.name}) but passed: remove the entry")
            elif r.outcome == XFAIL:
                ET.SubElement(case, "skipped", message=f"expected failure: {r.expectation.reason} {' '.join(r.expectation.links)}")
            elif r.outcome in (BLOCKED, NOT_APPLICABLE):
                ET.SubElement(case, "skipped", message=r.detail)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write(out: Path, results: list[Result], env: dict, seconds: float) -> tuple[Path, Path]:
    json_path, junit_path = out / "conformance.json", out / "junit.xml"
    atomic.write_json(json_path, to_json(results, env, seconds))
    atomic.write_text(junit_path, to_junit(results))
    return json_path, junit_path
