"""Measurement tables, generated from report files: the only place the docs show figures.

    python tools/measured.py docs/data/ci-subset-6412f14.json.gz > docs/measured.md

Each argument is a conformance.json (plain or gzipped) of a real run; the output names the command and the
reports it was made from. tests/test_docs.py checks docs/measured.md is what this prints from the committed data.
"""

import collections
import gzip
import json
import sys
from pathlib import Path

OUTCOMES = ("PASS", "FAIL", "XFAIL", "XPASS", "BLOCKED", "N/A")
VERDICTS = ("bit-exact", "within-tolerance", "drift", "diverged")


def load(path: Path) -> dict:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return json.load(f)


def table(head: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(map(str, r)) + " |" for r in rows]


def describe(path: Path, report: dict) -> list[str]:
    env = report["environment"]
    results = report["results"]
    exports = {(r["exporter"], r["case"]) for r in results if r["case"]}
    out = [f"## `{path.as_posix()}`", "",
           f"{len(exports)} exports x {len(report['runtimes'])} runtimes, {len(results)} results, "
           f"{report['seconds']} s wall on {env.get('cpu_count')} x {env.get('cpu')}; "
           f"TF Python {env.get('tensorflow_python')}, Keras {env.get('keras')}, numpy {env.get('numpy')}; "
           f"ok: {str(report['ok']).lower()}{', PARTIAL' if report.get('partial') else ''}.", ""]
    by_runtime = collections.defaultdict(collections.Counter)
    for r in results:
        by_runtime[r["runtime"]][r["outcome"]] += 1
        verdict = (r.get("comparison") or {}).get("verdict")
        if r["outcome"] == "PASS" and verdict:
            by_runtime[r["runtime"]][verdict] += 1
    rows = [[f"`{rt}`", *(by_runtime[rt][o] for o in OUTCOMES), *(by_runtime[rt][v] for v in VERDICTS[:3])]
            for rt in report["runtimes"]]
    out += table(["runtime", *OUTCOMES, *(f"PASS: {v}" for v in VERDICTS[:3])], rows)
    worst = collections.defaultdict(int)
    for r in results:
        comparison = r.get("comparison") or {}
        if r["outcome"] == "PASS" and comparison.get("verdict") in ("within-tolerance", "drift"):
            worst[(r["runtime"], r["case"].split(".")[0], comparison["verdict"])] = max(
                worst[(r["runtime"], r["case"].split(".")[0], comparison["verdict"])], comparison["max_ulp"])
    if worst:
        out += ["", "Passed, not bit-exact (largest ulp per runtime, spec and verdict):", ""]
        out += table(["runtime", "spec", "verdict", "max ulp"],
                     [[f"`{rt}`", f"`{spec}`", verdict, ulp] for (rt, spec, verdict), ulp in sorted(worst.items())])
    return out + [""]


def main(paths: list[str]) -> str:
    if not paths:
        sys.exit(__doc__)
    lines = ["# Measured", "",
             "<!-- generated: do not edit. Made by "
             f"`python tools/measured.py {' '.join(paths)} > docs/measured.md` -->", "",
             "Counts from the committed report data below, made by the command in this file's first comment. "
             "Each data file is a real run's `conformance.json`, gzipped; its name carries the commit it ran. "
             "To refresh: run, copy `reports/conformance.json` gzipped into `docs/data/`, rerun the command. "
             "Runs with no committed report (the version matrix, `nox -s bench`'s `reports/bench.json`, "
             "`nox -s mutants`' `reports/mutants.json`) have no figures here until one is committed.", ""]
    for p in paths:
        lines += describe(Path(p), load(Path(p)))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(main(sys.argv[1:]))
