"""Mutation testing of the harness's verdicts (`nox -s mutants`): plants faults, counts the caught ones.

Two catalogs:

  runtime   every fault of harness/testing/faults.py RUNTIME_FAULTS (a buggy TF Java: wrong batch, skipped
            step, swapped labels, stale predictions, narrowed floats, a counter off by one, slots
            dropped on restore, ...), planted as a kind of its own (faults.planted_kind)
            into a conformance run of the cases where it is observable. Caught: the run has an
            unexpected result (exit status 1), with the project's own expectations.
  engine    mutmut's mutants of the verdict engine (compare, runner, report, expectations,
            __main__), each run against the fast tests ([tool.mutmut] in pyproject.toml).
            Caught: a fast test fails.

Prints caught / planted per catalog and names every survivor, with the written reason when it
is a known, explained one (engine: tools/survivors.toml; runtime: `unobservable` in faults.py);
exits 1 when a survivor has no reason.

  python tools/mutants.py [runtime] [engine] [--java 1.1.0] [--max-children 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SURVIVORS = Path(__file__).resolve().parent / "survivors.toml"


def explained() -> list[dict]:
    """Engine survivors with a written reason: [{name, mutation, reason}] (tools/survivors.toml)."""
    raw = tomllib.loads(SURVIVORS.read_text()) if SURVIVORS.exists() else {}
    return raw.get("engine", [])


def reason_for(name: str, entries: list[dict]) -> str | None:
    """The written reason for survivor `name`, if its entry still describes this mutant (its diff shows the mutation)."""
    entry = next((e for e in entries if e["name"] == name), None)
    if entry is None:
        return None
    if entry["mutation"] not in show(name):
        return None  # the name now means another mutant: the entry is stale
    return entry["reason"]


# --- runtime faults ---------------------------------------------------------------------------------

def runtime_catalog(java_version: str, cache: Path, workdir: Path) -> list[dict]:
    """Plants each runtime fault into conformance runs (Java and the reference only) of its cases."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    from harness.exports import bundle, spec, validate
    from harness.runs import expectations, runner
    from harness.testing import faults
    from harness import runtimes
    from harness.reports.report import FAILING
    from harness.runs.versions import TF_PYTHON

    runner.configure_tensorflow(1)
    java_name, python_name = f"java-{java_version}", f"python-{TF_PYTHON}"
    listed = expectations.load(java_name)
    workers = runtimes.WorkerSet([python_name, java_name], cache, workdir / "logs", 1)
    java, python = workers.runtimes[java_name], workers.runtimes[python_name]
    cases = sorted({case for f in faults.RUNTIME_FAULTS.values() for case in f.cases})
    out = []
    try:
        for name, route in cases:
            s = spec.find(name)
            b = bundle.build(s, route, cache / "exports")
            data = b.data()
            validate.check_export(b.saved_model, data, b.data_path)
            export = runner.Export(b.name, b.saved_model, data, s.steps, s.resume_steps, TF_PYTHON)
            ref = runner.reference(export, python, workdir / b.name / "reference")
            saver = runner.saver_checkpoint_for(export, ref[0], workdir / b.name)  # as check_export restores

            def conformance(fault: str | None) -> list:
                # a planted fault: its kind in place of TF Java's, on a worker of its own (faults.planted_kind)
                planted = runtimes.single(java_name, cache, workdir / "logs", kinds=faults.planted_kinds(fault)) \
                    if fault else java
                try:
                    tolerance = lambda check: listed.relative_tolerance(f"{export.name}.{check}", export.exporter)  # noqa: E731
                    results = runner.check_runtime(planted, export, ref, workdir / b.name / (fault or "none"), python,
                                                   tolerance, saver_restore=saver)
                finally:
                    if planted is not java:
                        planted.stop()
                for r in results:
                    r.exporter = export.exporter
                runner.classify(results, listed.failures)
                return [r for r in results if r.outcome in FAILING]

            started = time.monotonic()
            clean = conformance(None)
            if clean:  # a catalog on a case that already fails proves nothing
                raise SystemExit(f"{export.name}: the unplanted run is not clean: "
                                 + "; ".join(f"{r.test_id}: {r.detail[:200]}" for r in clean))
            print(f"  {export.name}: clean ({time.monotonic() - started:.0f} s)", flush=True)
            for fault in (f for f in faults.RUNTIME_FAULTS.values() if (name, route) in f.cases):
                started = time.monotonic()
                unexpected = conformance(fault.name)
                out.append({"name": fault.name, "case": export.name, "what": fault.what, "caught": bool(unexpected),
                            "by": [r.check for r in unexpected], "unobservable": fault.unobservable})
                verdict = f"caught by {', '.join(out[-1]['by'])}" if unexpected else "NOT CAUGHT"
                print(f"  {fault.name} on {export.name}: {verdict} ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        workers.stop()
    # A fault counts as caught when one of its cases catches it.
    merged: dict[str, dict] = {}
    for entry in out:
        seen = merged.setdefault(entry["name"], {**entry, "cases": []})
        seen["cases"].append(entry["case"])
        seen["caught"] = seen["caught"] or entry["caught"]
    return list(merged.values())


# --- engine mutants ---------------------------------------------------------------------------------

STATUS = re.compile(r"^\s+(\S+): (.+)$")


def engine_catalog(max_children: int, incremental: bool = False) -> list[dict]:
    """mutmut's mutants of the verdict engine against the fast tests."""
    # The derandomized hypothesis profile: a mutant is killed or not, the same on every run.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "HYPOTHESIS_PROFILE": "ci"}
    if not incremental:  # mutmut's own cache (mutants/) would answer for code that has changed since
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    ran = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)], cwd=ROOT, env=env,
                         check=False, capture_output=True, text=True)
    if "failed to collect stats" in ran.stdout + ran.stderr:  # the tests fail with no mutant: nothing is measured
        raise SystemExit("mutmut: the fast tests fail on the unmutated code, so no mutant can be judged; fix them first:\n"
                         + (ran.stdout + ran.stderr)[-3000:])
    listing = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True).stdout
    out = []
    for line in listing.splitlines():
        match = STATUS.match(line)
        if match:
            name, status = match.groups()
            if status == "skipped":  # not planted
                continue
            out.append({"name": name, "status": status,
                        "caught": status in ("killed", "timeout", "segfault", "caught by type check")})
    if not out:
        raise SystemExit(f"mutmut listed no mutants:\n{listing[-2000:]}")
    return out


def show(name: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ROOT, capture_output=True, text=True)
    return "\n".join(l for l in done.stdout.splitlines() if l.startswith(("-", "+")) and not l.startswith(("---", "+++")))


# --- report ----------------------------------------------------------------------------------------

def summarize(catalog: str, entries: list[dict], reasons: list[dict], diffs: bool) -> tuple[int, int, list[str]]:
    caught = sum(e["caught"] for e in entries)
    unexplained, lines = [], []
    for e in entries:
        if e["caught"]:
            if catalog == "runtime" and e.get("unobservable"):
                lines.append(f"  {e['name']}: caught, but faults.py calls it unobservable: fix its reason")
                unexplained.append(e["name"])
            continue
        why = e.get("unobservable") if catalog == "runtime" else reason_for(e["name"], reasons)
        where = f" on {', '.join(e['cases'])}" if e.get("cases") else f" ({e.get('status')})"
        lines.append(f"  survivor {e['name']}{where}: {why or 'NO REASON GIVEN'}")
        if diffs and catalog == "engine":
            lines += [f"      {l}" for l in show(e["name"]).splitlines()[:6]]
        if not why:
            unexplained.append(e["name"])
    print(f"{catalog}: {caught} / {len(entries)} caught; {len(entries) - caught} survived, "
          f"{len(unexplained)} without a written reason")
    print("\n".join(lines))
    return caught, len(entries), unexplained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalogs", nargs="*", help="runtime, engine (default: both)")
    parser.add_argument("--java", default="1.1.0", help="TF Java version the runtime faults are planted in")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1, help="parallel mutmut workers")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache")
    parser.add_argument("--json", type=Path, default=ROOT / "reports" / "mutants.json", help="where to write the result")
    parser.add_argument("--diffs", action="store_true", help="show each engine survivor's diff")
    parser.add_argument("--incremental", action="store_true", help="reuse mutmut's results for unchanged code (mutants/)")
    args = parser.parse_args(argv)
    catalogs = args.catalogs or ["runtime", "engine"]
    if set(catalogs) - {"runtime", "engine"}:
        parser.error(f"catalogs are 'runtime' and 'engine', got {catalogs}")
    reasons = explained()
    results, timing, unexplained = {}, {}, []
    started = time.monotonic()
    if "engine" in catalogs:  # first: it forks test processes, which must not inherit the runtime catalog's TF
        t = time.monotonic()
        results["engine"] = engine_catalog(args.max_children, args.incremental)
        timing["engine"] = round(time.monotonic() - t)
    if "runtime" in catalogs:
        t = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mutants-") as work:
            results["runtime"] = runtime_catalog(args.java, args.cache_dir, Path(work))
        timing["runtime"] = round(time.monotonic() - t)
    totals = [0, 0]
    for catalog, entries in results.items():
        caught, planted, missing = summarize(catalog, entries, reasons, args.diffs)
        totals[0] += caught
        totals[1] += planted
        unexplained += missing
        print(f"  ({timing[catalog]} s)")
    print(f"all: {totals[0]} / {totals[1]} caught in {time.monotonic() - started:.0f} s; "
          f"{len(unexplained)} survivors without a written reason")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"results": results, "seconds": timing, "caught": totals[0], "planted": totals[1],
                                     "unexplained": unexplained}, indent=1))
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
