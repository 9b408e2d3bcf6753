"""What a run reports: a console summary (one matrix), a JSON report, a JUnit XML file and an HTML page.

The JSON report is the source of truth: the console summary, JUnit and HTML (html_report.py) are
rendered from its dicts, so a report can be re-rendered, and CI shards merged, without TensorFlow
(`python -m harness report A.json B.json --out DIR`). Result objects are turned into those dicts by
`result_json`; nothing else reads them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
from packaging.version import InvalidVersion, Version


from .outcomes import BLOCKED, FAIL, FAILING, NOT_APPLICABLE, PASS, XFAIL, XPASS, Result  # noqa: F401 (report's vocabulary)

# What one cell of the matrix (one export in one runtime, all its checks) says, worst first.
CELL_STATES = ("fail", "xpass", "xfail", "blocked", "drift", "within", "exact", "pass", "na", "none")
CELL_SYMBOLS = {"fail": "FAIL", "xpass": "XPASS", "xfail": "x", "blocked": "-", "drift": "d", "within": "~",
                "exact": "=", "pass": "ok", "na": "n/a", "none": "."}
CELL_MEANING = {  # the legend, console and HTML
    "exact": "bit-exact",
    "within": "within tolerance, at most N ulp",
    "drift": "drift: another TF (or TFLite) rounds differently, within the band, at most N ulp",
    "pass": "passed, nothing compared",
    "xfail": "expected failure",
    "fail": "failed",
    "xpass": "listed as expected failure but passed",
    "blocked": "blocked by an earlier failure",
    "na": "not applicable",
    "none": "not run",
}
LEGEND_ORDER = ("exact", "within", "drift", "pass", "xfail", "fail", "xpass", "blocked", "na", "none")
COUNTED = ("within", "drift")  # the states whose symbol carries the largest ulp: "~N", "dN"
SETUP_ROW = "runtime setup"  # the row of runtime-level results (case "": a runtime that cannot start)


def environment(threads: int, runtimes: dict[str, dict]) -> dict:  # pragma: no mutate block (facts, not verdicts)
    """The facts that decide the numbers."""
    import numpy
    import tensorflow as tf

    from ..runs.venvs import modules

    cpu = "unknown"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "tensorflow_python": tf.__version__,
        "keras": modules()["keras"],
        "tf_keras": modules()["tf_keras"],
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "runtimes": runtimes,  # per runtime: TF version it runs, Java version, or why it could not start
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (TF default: on for x86 CPUs)"),
        "threads": {"intra_op": threads, "inter_op": threads},
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }


# --- results as JSON dicts ------------------------------------------------------------------------

def result_json(r: Result) -> dict:
    """One Result as the JSON report holds it. Its id: `[<exporter>/]<runtime>/<test id>`."""
    return {
        "id": "/".join(p for p in (r.exporter, r.runtime, r.test_id) if p),
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


def _dicts(results: list) -> list[dict]:
    return [r if isinstance(r, dict) else result_json(r) for r in results]


def counts(results: list) -> Counter:
    """Outcome -> how many; results as Result objects or JSON dicts."""
    return Counter(r["outcome"] for r in _dicts(results))


def summary_line(results: list) -> str:
    c = counts(results)
    return (f"{c[PASS]} passed, {c[FAIL] + c[XPASS]} failed, {c[XFAIL]} expected failures, "
            f"{c[BLOCKED]} blocked, {c[NOT_APPLICABLE]} not applicable")


def version_key(version: str) -> tuple:
    """Orders TF versions as PyPI does (2.9.0 < 2.15.1 < 2.22.0rc0 < 2.22.0); "" (no exporter) and any
    text that is not a version first, by text."""
    try:
        return (Version(version),)
    except InvalidVersion:
        return (Version("0"), version)


def runtime_order(report_runtimes: list[str] | None, results: list[dict]) -> list[str]:
    """The report's columns; then the runtimes of the results in the order they ran exports (the reference
    first), then those with runtime-level results only (a runtime that could not start)."""
    ran = [r["runtime"] for r in results if r["case"]]
    return list(dict.fromkeys([*(report_runtimes or ()), *ran, *(r["runtime"] for r in results)]))


def columns(report: dict) -> list[str]:
    """A report's runtimes in column order (`runtimes`, or for a report written before that key, as run)."""
    return runtime_order(report.get("runtimes"), report["results"])


def canonical(results: list[dict], runtimes: list[str]) -> list[dict]:
    """Results ordered by exporter (by version), case, runtime (column order); checks keep their order."""
    column = {rt: i for i, rt in enumerate(runtimes)}
    return sorted(results, key=lambda r: (version_key(r["exporter"]), r["case"], column[r["runtime"]]))


def _trajectory_key(t: dict, column: dict) -> tuple:
    return (version_key(t["exporter"]), t["case"], t["role"] != "reference", column[t["runtime"]], t["first_step"],
            t["check"])


def _drift_key(d: dict, column: dict) -> tuple:
    return (version_key(d["exporter"]), d["case"], column[d["runtime"]], d["baseline_runtime"])


def to_json(results: list, env: dict, seconds: float, *, runtimes: list[str] | None = None,
            trajectories: list[dict] | None = None, drift: list[dict] | None = None, interrupted: bool = False,
            timings: dict | None = None) -> dict:
    """The JSON report: results (Result objects or dicts) in canonical order, and what the HTML plots.

    runtimes: the matrix's columns in order (default: as the results ran, runtime_order);
    trajectories: per export and runtime, the losses per step; drift: optional, across exporters;
    interrupted: the run was stopped (Ctrl-C): the results are those of the exports that finished, the
    report is `partial` and not `ok`, whatever they say; timings: where the seconds went (runs/timing.py).
    """
    results = _dicts(results)
    runtimes = runtime_order(runtimes, results)
    column = {rt: i for i, rt in enumerate(runtimes)}
    out = {"environment": env, "seconds": round(seconds, 1), "summary": dict(counts(results)),
           "ok": not any(r["outcome"] in FAILING for r in results), "runtimes": runtimes,
           "results": canonical(results, runtimes),
           "trajectories": sorted(trajectories or [], key=lambda t: _trajectory_key(t, column))}
    if interrupted:
        out |= {"ok": False, "partial": True, "interrupted": True}
    if drift is not None:
        out["drift"] = sorted(drift, key=lambda d: _drift_key(d, column))
    if timings is not None:
        out["timings"] = timings
    return out


def reproducible(report: dict, *outs: Path) -> dict:
    """What another run of the same cases (-j N, shards merged) must reproduce exactly: the report
    without its timings (`seconds`, `timings`), with its run folders `outs` written as <out>, without the
    wording of expected failures (which missing variable TF names first varies from run to run),
    and without the trajectories of exports that have an expected failure (`dropout_stateful` is
    nondeterministic by construction: its losses differ between two runs of the same code)."""
    text = json.dumps({k: v for k, v in report.items() if k not in ("seconds", "timings")})
    for out in outs:
        text = text.replace(str(out), "<out>")
    kept = json.loads(text)
    unsettled = {(r["exporter"], r["case"]) for r in kept["results"] if r["outcome"] == XFAIL}
    for result in kept["results"]:
        if result["outcome"] == XFAIL:
            del result["detail"]
    kept["trajectories"] = [t for t in kept["trajectories"] if (t["exporter"], t["case"]) not in unsettled]
    return kept


# --- reading a report back ------------------------------------------------------------------------

# What every item of a JSON report's lists holds (`drift` is there when the run compared TF versions).
FIELDS = {"results": ("id", "exporter", "runtime", "case", "check", "outcome", "detail", "comparison", "expectation"),
          "trajectories": ("exporter", "case", "runtime", "check", "role", "first_step", "dtype", "losses"),
          "drift": ("exporter", "case", "runtime", "baseline_runtime", "verdict", "max_ulp")}


def read(path: Path) -> dict:
    """A conformance report read back, or HarnessError naming the file and what it lacks."""
    from ..errors import HarnessError

    try:
        data = json.loads(path.read_text())
        why = problem(data)
    except (OSError, ValueError) as e:
        why = str(e)
    if why:
        raise HarnessError(f"{path}: not a conformance report ({why})")
    return data


def problem(report) -> str | None:
    """Why `report` (parsed JSON) is not a conformance report this harness can render or merge; None if it is."""
    if not isinstance(report, dict):
        return "not a JSON object"
    missing = [k for k in ("environment", "seconds", "results", "trajectories") if k not in report]
    if missing:
        return f"no {', '.join(missing)}"
    for part, fields in FIELDS.items():
        items = report.get(part, [])
        if not isinstance(items, list):
            return f"{part!r} is not a list"
        for i, item in enumerate(items):
            lacking = [f for f in fields if f not in item] if isinstance(item, dict) else ["fields"]
            if lacking:
                return f"{part}[{i}] has no {', '.join(lacking)} (written by another version of the harness?)"
    return None


# --- merging CI shards ----------------------------------------------------------------------------

def _merge_values(values: list):
    """Equal values stay one value; dicts merge key by key; values that differ become the list of them."""
    distinct: list = []
    for v in values:
        if v not in distinct:
            distinct.append(v)
    if len(distinct) == 1:
        return distinct[0]
    if distinct and all(isinstance(v, dict) for v in distinct):
        keys = dict.fromkeys(k for v in distinct for k in v)
        return {k: _merge_values([v[k] for v in distinct if k in v]) for k in keys}
    return distinct


def merge(reports: list[dict]) -> dict:
    """The report an unsharded run would have written, from the reports of its shards.

    - results: every shard's, in canonical order (exporter, case, runtime, checks as in the inputs);
      a result present in several shards (a runtime's `setup`) is kept once: the first failing copy
      (FAIL/XPASS) if any, else the first;
    - runtimes: the shards' columns, in order of first appearance;
    - environment: merged key by key (the per-runtime facts are united); a fact on which the shards
      disagree (another CPU) becomes the list of the shards' values, so it cannot go unnoticed;
    - seconds: the SUM of the shards' (the work an unsharded run does; parallel shards took the max);
      timings: the shards' fixed costs summed, their cases' stages united;
    - summary and ok: recomputed from the merged results; partial and interrupted if any shard's is;
    - trajectories and drift: united (one per export, runtime and role / baseline), canonical order.
    """
    if not reports:
        raise ValueError("merge needs at least one report")
    by_id: dict[str, dict] = {}
    for report in reports:
        for r in report["results"]:
            kept = by_id.get(r["id"])
            if kept is None or (kept["outcome"] not in FAILING and r["outcome"] in FAILING):
                by_id[r["id"]] = r
    results = list(by_id.values())
    runtimes = runtime_order([rt for report in reports for rt in columns(report)], results)

    def united(key: str, identity) -> list[dict]:  # the first copy of each
        out: dict = {}
        for report in reports:
            for x in report.get(key) or []:
                out.setdefault(identity(x), x)
        return list(out.values())

    trajectories = united("trajectories", lambda t: (t["exporter"], t["case"], t["runtime"], t["role"], t["check"],
                                                     t["first_step"]))
    drift = None
    if any("drift" in report for report in reports):
        drift = united("drift", lambda d: (d["exporter"], d["case"], d["runtime"], d["baseline_runtime"]))
    seconds = sum(report["seconds"] for report in reports)
    timed = [report["timings"] for report in reports if "timings" in report]
    timings = None
    if timed:  # the work of every shard: fixed costs summed, every case's stages
        fixed: dict[str, float] = {}
        for t in timed:
            for k, v in t.get("fixed", {}).items():
                fixed[k] = round(fixed.get(k, 0.0) + v, 2)
        timings = {"fixed": fixed, "cases": [row for t in timed for row in t.get("cases", [])],
                   "case seconds": [row for t in timed for row in t.get("case seconds", [])]}
    return to_json(results, _merge_values([report["environment"] for report in reports]), seconds,
                   runtimes=runtimes, trajectories=trajectories, drift=drift,
                   interrupted=any(report.get("interrupted") for report in reports), timings=timings)


def partial_note(results: list) -> str:
    """The line that says a report is partial (an interrupted run's, or a merge with one), from its results."""
    exports = len({(r["exporter"], r["case"]) for r in _dicts(results) if r["case"]})
    return f"interrupted: a partial report, of the {exports} export(s) that finished before the run was stopped"


# --- the console summary: one matrix --------------------------------------------------------------

def cell_state(results: list[dict]) -> tuple[str, int]:
    """What one export's checks in one runtime say, as one of CELL_STATES, and the largest ulp compared."""
    outcomes = {r["outcome"] for r in results}
    comparisons = [r["comparison"] for r in results if r.get("comparison")]
    max_ulp = max((c["max_ulp"] for c in comparisons), default=0)
    if not results:
        return "none", 0
    for outcome, state in ((FAIL, "fail"), (XPASS, "xpass"), (XFAIL, "xfail"), (BLOCKED, "blocked")):
        if outcome in outcomes:
            return state, max_ulp
    if PASS in outcomes:
        for verdict, state in (("drift", "drift"), ("within-tolerance", "within")):
            if any(c["verdict"] == verdict for c in comparisons):
                return state, max_ulp
        return ("exact" if comparisons else "pass"), max_ulp
    return "na", 0


def cell_symbol(state: str, max_ulp: int) -> str:
    if state in COUNTED:
        mark = CELL_SYMBOLS[state]
        return f"{mark}{max_ulp}" if max_ulp < 10_000 else f"{mark}{max_ulp:.0e}".replace("+", "")
    return CELL_SYMBOLS[state]


def legend_symbol(state: str) -> str:
    """A state's symbol in the legend: N for the ulp count of the counted ones."""
    return CELL_SYMBOLS[state] + ("N" if state in COUNTED else "")


def _packed(items: list[str], lead: str, width: int) -> list[str]:
    """Items joined by "; " into lines of at most `width` (an item is never split), "." at the end."""
    lines = [lead.rstrip()]
    for i, item in enumerate(items):
        text = item + (";" if i < len(items) - 1 else ".")
        if i and len(lines[-1]) + 1 + len(text) > width:  # the first item stays beside the lead, however long
            lines.append(" " * (len(lead) - 1))
        lines[-1] += " " + text
    return lines


def drift_lines(results: list[dict]) -> list[str]:
    """The console's drift paragraph: per exporter and runtime, how many exports drifted, by how much at most."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        c = r.get("comparison")
        if c and c["verdict"] == "drift" and r["outcome"] == PASS:
            groups.setdefault((r["exporter"], r["runtime"]), []).append(r)
    if not groups:
        return []
    lines = ["", "Drift (another TF than the exporter's rounds differently; within the band, not failures):"]
    for (exporter, runtime), drifted in sorted(groups.items(), key=lambda kv: (version_key(kv[0][0]), kv[0][1])):
        worst = max(drifted, key=lambda r: r["comparison"]["max_scaled"])
        exports = len({r["case"] for r in drifted})
        lines.append(f"  exports by {exporter or '?'} in {runtime}: {exports} drifted, at most "
                     f"{max(r['comparison']['max_ulp'] for r in drifted)} ulp, norm-wise "
                     f"{worst['comparison']['max_scaled']:.2g} ({worst['case']}.{worst['check']})")
    return lines


def export_name(exporter: str, case: str) -> str:
    """How an export is named (JUnit classes, progress lines): `<case>@<exporter>`, or `<case>`."""
    if not case:
        return SETUP_ROW
    return f"{case}@{exporter}" if exporter else case


def cells(results: list[dict]) -> dict[tuple[str, str], dict[str, list[dict]]]:
    """(exporter, case) -> runtime -> its results, rows in canonical order (the setup row first)."""
    out: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for r in results:
        out.setdefault((r["exporter"], r["case"]), {}).setdefault(r["runtime"], []).append(r)
    return dict(sorted(out.items(), key=lambda kv: (version_key(kv[0][0]), kv[0][1])))  # setup: exporter and case ""


def expected_failures(results: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    """(runtime, expectation file, case glob) -> the XFAIL results that entry covers, in order."""
    out: dict = {}
    for r in results:
        if r["outcome"] == XFAIL and r.get("expectation"):
            e = r["expectation"]
            out.setdefault((r["runtime"], e["file"], e["case"]), []).append(r)
    return out


def column_title(runtime: str) -> tuple[str, str]:
    """A column title on two lines: `java` over `1.1.0`."""
    from ..runtimes.registry import column_title

    return column_title(runtime)


def table(results: list, runtimes: list[str]) -> str:
    """The console summary: one row per export, one column per runtime, one symbol per cell; a legend;
    each unexpected result; one paragraph per expected-failure entry; the summary line.

    results: Result objects or JSON dicts; runtimes: the column order.
    """
    results = _dicts(results)
    runtimes = runtime_order(runtimes, results)
    rows = cells(results)
    with_exporter = any(exporter for exporter, _ in rows)
    labels = [([exporter] if with_exporter else []) + [case or SETUP_ROW] for exporter, case in rows]
    body = [labels[i] + [cell_symbol(*cell_state(by.get(rt, []))) if case or by.get(rt) else ""  # setup: blank = started
                         for rt in runtimes] for i, ((_, case), by) in enumerate(rows.items())]
    titles = [column_title(rt) for rt in runtimes]
    head1 = (["", ""] if with_exporter else [""]) + [t[0] for t in titles]
    head2 = (["exporter", "export"] if with_exporter else ["export"]) + [t[1] for t in titles]
    widths = [max(len(x) for x in col) for col in zip(head1, head2, *body)]

    def line(cols):
        return "  ".join(f"{c:<{w}}" for c, w in zip(cols, widths)).rstrip()

    lines = [f"Conformance: {sum(1 for _, case in rows if case)} exports x {len(runtimes)} runtimes "
             f"(one symbol per export and runtime: all its checks)", "",
             line(head1), line(head2), line(["-" * w for w in widths])]
    lines += [line(row) for row in body]
    legend = [f"{legend_symbol(s)} {CELL_MEANING[s]}" for s in LEGEND_ORDER]
    legend[-1] += " (setup row: blank = started)"
    lines += ["", *_packed(legend, "Legend: ", 100),
              "Tolerance: 0 ulp unless expectations/tolerances.toml gives the case its own (harness/plan/compare.py);",
              "a runtime of another TF than the exporter's may drift within the cross-version band of each dtype."]
    lines += drift_lines(results)

    unexpected = [r for r in results if r["outcome"] in FAILING]
    if unexpected:
        lines += ["", f"Unexpected results ({len(unexpected)}):"]
    for r in unexpected:
        lines.append(f"  {r['outcome']:5} {r['id']}: {r['detail']}")
        if r["outcome"] == XPASS and r.get("expectation"):
            lines.append(f"        listed as expected failure in {r['expectation']['file']} ({r['expectation']['case']}): "
                         f"it passes now; remove the entry (python -m harness expectations update)")
    expected = expected_failures(results)
    if expected:
        lines += ["", "Expected failures (expectations/expected_failures.toml):"]
    for (runtime, _, case), hits in expected.items():
        entry = hits[0]["expectation"]
        lines.append(f"  XFAIL {runtime}/{case} x{len(hits)}: {entry['reason']} {' '.join(entry['links'])}")
        lines.append(f"        e.g. {hits[0]['id']}: {hits[0]['detail'][:300]}")
    lines += ["", summary_line(results)]
    return "\n".join(lines)


def trajectories_of(results: list) -> list[dict]:
    """Per-step losses of every run (the reference's: all its steps; a runtime's: its first `steps`), for plots."""
    out = []
    for r in results:
        losses = r.notes.get("losses")
        if losses is None:
            continue
        values = [np.asarray(v) for v in losses]
        out.append({"exporter": r.exporter, "case": r.case, "runtime": r.runtime, "check": r.check,
                    "role": "reference" if r.check == "reference" else "runtime",
                    "first_step": r.notes.get("first_step", 0),  # a restore part trains on from the export's steps
                    "dtype": str(values[0].dtype) if values else "float32",
                    "losses": [float(v) for v in values]})  # exact: float32/16 values are doubles too
    return out



# --- JUnit ------------------------------------------------------------------------------------------

def junit_from_json(report: dict) -> str:
    """JUnit XML from a JSON report: one suite per runtime (column order), one testcase per result."""
    results = report["results"]
    root = ET.Element("testsuites", name="tf-training-conformance")
    for runtime in columns(report):
        mine = [r for r in results if r["runtime"] == runtime]
        if not mine:
            continue
        suite = ET.SubElement(root, "testsuite", name=runtime, tests=str(len(mine)),
                              failures=str(sum(r["outcome"] in FAILING for r in mine)),
                              skipped=str(sum(r["outcome"] in (XFAIL, BLOCKED, NOT_APPLICABLE) for r in mine)))
        for r in mine:
            where = export_name(r["exporter"], r["case"]) if r["case"] else "runtime"
            case = ET.SubElement(suite, "testcase", classname=f"{runtime}.{where}", name=r["check"])
            entry = r["expectation"]
            if r["outcome"] == FAIL:
                ET.SubElement(case, "failure", message=r["detail"][:500]).text = r["detail"]
            elif r["outcome"] == XPASS:
                ET.SubElement(case, "failure",
                              message=f"expected to fail ({Path(entry['file']).name}: {entry['case']}) but passed: remove the entry")
            elif r["outcome"] == XFAIL:
                ET.SubElement(case, "skipped",
                              message=f"expected failure: {entry['reason']} {' '.join(entry['links'])}")
            elif r["outcome"] in (BLOCKED, NOT_APPLICABLE):
                ET.SubElement(case, "skipped", message=r["detail"])
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
