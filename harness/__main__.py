"""Command line: `python -m harness conformance`, `check`, `replay` and `report`.

Exit status: 0 when every check passed or failed as listed in expectations/, 1 when a check
failed unexpectedly or a listed failure passed, 2 on bad input (the message names the file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from .errors import HarnessError
from .faults import PLANTED
from .versions import TF_JAVA, TF_JAVA_MATRIX

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    conf = sub.add_parser("conformance", help="export the reference specs and check every runtime against Python")
    conf.add_argument("--spec", action="append", help="spec name in specs/ (repeatable; default: all)")
    conf.add_argument("--route", action="append", help="authoring route (repeatable; default: each spec's routes)")
    conf.add_argument("--all", action="store_true", help="every route of every spec (default: the CI subset, `ci_routes`)")
    check = sub.add_parser("check", help="certify an exported model: train it in every runtime and compare")
    check.add_argument("saved_model", type=Path, help="SavedModel directory with train/predict signatures")
    check.add_argument("--data", type=Path, required=True, help=".npz with 'train.<input>' [steps, batch, ...] and 'predict.<input>'")
    check.add_argument("--steps", type=int, default=5, help="steps each runtime trains (default 5)")
    check.add_argument("--resume-steps", type=int, default=3, help="steps Python trains after resuming (default 3)")
    replay = sub.add_parser("replay", help="replay a reproduction folder written by the stateful tests, in Python and TF Java")
    replay.add_argument("folder", type=Path, help="folder with bundle/, story.json")
    replay.add_argument("--plant-fault", choices=sorted(PLANTED),
                        help="re-plant the fault the story was found with (test-only)")
    replay.add_argument("--java", default=None, metavar="VERSION", help="TF Java version (default: the pinned one)")
    replay.add_argument("--cache-dir", type=Path, default=ROOT / ".cache")
    for p in (conf, check):
        p.add_argument("--java", action="append", metavar="VERSION",
                       help=f"TF Java version to run (repeatable; default: conformance {', '.join(TF_JAVA_MATRIX)}, check {TF_JAVA})")
        p.add_argument("--out", type=Path, default=ROOT / "reports", help="reports and work files (default: reports/)")
        p.add_argument("--cache-dir", type=Path, default=ROOT / ".cache", help="exports and classpaths (default: .cache/)")
        p.add_argument("--threads", type=int, default=1, help="intra/inter-op threads in every runtime (default 1)")
    add_report_command(sub)
    args = parser.parse_args(argv)
    if args.command == "report":
        return run_report(args)
    try:
        return run_replay(args) if args.command == "replay" else run(args)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def run(args) -> int:
    started = time.monotonic()
    # TensorFlow's C++ INFO/WARNING lines would bury the report; set before TF loads (the Java worker inherits it).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import expectations, report, runner  # imports TensorFlow: after argument parsing

    runner.configure_tensorflow(args.threads)
    from .java_runtime import JavaRuntime
    from .python_runtime import PythonRuntime

    out = args.out.resolve()
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)  # our own scratch space from the previous run
    exports = list(_exports(args))  # validates input before any runtime starts

    runtimes = [PythonRuntime("python", args.threads), PythonRuntime("python-session", args.threads)]
    # conformance runs the whole TF Java matrix (expected failures included); check, the pinned version.
    versions = args.java or (TF_JAVA_MATRIX if args.command == "conformance" else (TF_JAVA,))
    runtimes += [JavaRuntime(v, args.cache_dir, work / "logs", args.threads) for v in versions]
    results, facts, ready = [], {}, []
    for runtime in runtimes:
        try:
            facts[runtime.name] = runtime.start()
            ready.append(runtime)
        except HarnessError as e:
            facts[runtime.name] = {"error": str(e)}
            results.append(runner.Result(runtime.name, "", "setup", False, str(e)))
    # A user's export (`check`) expects nothing: every failure counts, every check is bit-exact.
    expected = {r.name: expectations.load(r.name) if args.command == "conformance" else expectations.Expectations()
                for r in runtimes}
    try:
        for export in exports:
            print(f"checking {export.name} ...", file=sys.stderr, flush=True)
            results += runner.check_export(export, ready, work / export.name, runtimes[0].name,
                                           lambda runtime, test_id: expected[runtime].relative_tolerance(test_id))
    finally:
        for runtime in ready:
            runtime.stop()

    for runtime in runtimes:
        runner.classify([r for r in results if r.runtime == runtime.name], expected[runtime.name].failures)
    env = report.environment(args.threads, facts)
    json_path, junit_path = report.write(out, results, env, time.monotonic() - started)
    print(report.table(results, [r.name for r in runtimes]))
    print(f"reports: {json_path} {junit_path} ({time.monotonic() - started:.0f} s)")
    return 1 if any(r.outcome in report.FAILING for r in results) else 0


def add_report_command(sub) -> None:
    rep = sub.add_parser("report", help="re-render the summary and index.html from JSON reports; merge CI shards")
    rep.add_argument("reports", type=Path, nargs="+", help="conformance.json of a run, or of each shard")
    rep.add_argument("--out", type=Path, default=ROOT / "reports",
                     help="writes index.html; for several inputs also the merged conformance.json and junit.xml")


def run_report(args) -> int:
    """Prints the console summary and writes index.html (with several inputs, the merged reports too).

    No TensorFlow needed. Exit status as `conformance`: 1 if the (merged) report has unexpected results.
    """
    import json

    from . import html_report, report

    inputs = []
    for path in args.reports:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            data = e
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            print(f"error: {path}: not a conformance report ({data if isinstance(data, Exception) else 'no results list'})",
                  file=sys.stderr)
            return 2
        inputs.append(data)
    out = args.out.resolve()
    if len(inputs) > 1:
        merged = report.merge(inputs)
        written = [*report.write_report(out, merged, html=False)]
    else:
        merged, written = inputs[0], []
    written.append(html_report.render(merged, out))
    print(report.table(merged["results"], report.columns(merged)))
    print(f"reports: {' '.join(map(str, written))}")
    return 1 if any(r["outcome"] in report.FAILING for r in merged["results"]) else 0


def run_replay(args) -> int:
    """Plays a stored story; prints each step and where the trajectories part (exit 1), if they do."""
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import bundle, interleave, runner, validate
    from .java_runtime import JavaRuntime

    runner.configure_tensorflow(1)
    story, _ = interleave.read_story(args.folder)
    b = bundle.open_bundle(args.folder / "bundle")
    data = b.data()
    export = runner.Export(b.name, b.saved_model, data, b.manifest["steps"], b.manifest["resume_steps"],
                           validate.check_export(b.saved_model, data, b.data_path))
    work = Path(tempfile.mkdtemp(prefix="replay-"))
    reference = interleave.Reference.compute(export, work / "reference", export.steps + export.resume_steps)
    java = JavaRuntime(args.java or TF_JAVA, args.cache_dir, work / "logs", threads=1)
    player = interleave.Player(export, java, reference, work / "story", args.plant_fault)
    try:
        for step in story:
            print(f"step {len(player.story) + 1}: {step} (model at step {player.n}, held by {player.holder})")
            player.play(step)
        player.close()
    except interleave.Divergence as e:
        print(f"the trajectories part: {e}")
        return 1
    finally:
        java.stop()
    print(f"the story stays on the reference trajectory ({len(story)} steps; work files in {work})")
    return 0


def _exports(args):
    from . import bundle, spec, validate
    from .runner import Export

    if args.command == "check":
        if args.steps <= 0 or args.resume_steps <= 0:
            raise HarnessError("--steps and --resume-steps must be positive")
        data = bundle.load_data(args.data)
        signatures = validate.check_export(args.saved_model, data, args.data)
        available = min((len(v) for k, v in data.items() if k.startswith("train.")), default=0)
        if available < args.steps + args.resume_steps:
            raise HarnessError(f"{args.data}: has {available} training steps, {args.steps} + {args.resume_steps} needed")
        yield Export(args.saved_model.name, args.saved_model.resolve(), data, args.steps, args.resume_steps, signatures)
        return
    specs = [spec.find(name) for name in args.spec] if args.spec else spec.all_specs()
    for s in specs:
        for route in s.routes if args.all else s.ci_routes:
            if args.route and route not in args.route:
                continue
            b = bundle.build(s, route, args.cache_dir / "exports")
            data = b.data()
            signatures = validate.check_export(b.saved_model, data, b.data_path)
            yield Export(b.name, b.saved_model, data, s.steps, s.resume_steps, signatures)


if __name__ == "__main__":
    sys.exit(main())
