"""Command line: `python -m harness conformance` and `python -m harness check`.

Exit status: 0 when every check passed or failed as listed in expectations/, 1 when a check
failed unexpectedly or a listed failure passed, 2 on bad input (the message names the file).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

from .errors import HarnessError
from .faults import ENV as FAULT_ENV
from .faults import PLANTED, RUNTIME_FAULTS
from .versions import TF_JAVA, TF_JAVA_MATRIX, TF_PYTHON

ROOT = Path(__file__).resolve().parent.parent


# Not mutated by `nox -s mutants` (pragma): argument declarations and orchestration that starts
# TensorFlow and workers; the command-line tests (tests/test_cli.py) run them end to end. The
# decisions they delegate (load_expectations, judge, exit_status, _shard) are mutated.
def main(argv: list[str] | None = None) -> int:  # pragma: no mutate block
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    conf = sub.add_parser("conformance", help="export the reference specs and check every runtime against Python")
    conf.add_argument("--spec", action="append", help="spec name in specs/ (repeatable; default: all)")
    conf.add_argument("--route", action="append", help="authoring route (repeatable; default: each spec's routes)")
    conf.add_argument("--all", action="store_true", help="every route of every spec (default: the CI subset, `ci_routes`)")
    conf.add_argument("--tf", action="append", metavar="VERSION",
                      help=f"TF Python version that exports the zoo and trains it (repeatable; default {TF_PYTHON})")
    conf.add_argument("--shard", type=_shard, metavar="K/N", help="run the K-th of N deterministic slices of the cases")
    conf.add_argument("--expectations", type=Path, default=ROOT / "expectations", metavar="DIR",
                      help="folder of expected failures and tolerances, <runtime>.toml (default: expectations/)")
    conf.add_argument("--plant-fault", choices=sorted(RUNTIME_FAULTS), metavar="NAME",
                      help="TEST-ONLY: make a runtime misbehave on purpose (harness/faults.py), to show the verdicts "
                           "catch it; the report records it. Never use it to certify anything")
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
        p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                       help="cases run in parallel, each on its own worker processes (default: the number of cores)")
        p.add_argument("--call-timeout", type=float, default=None, metavar="SECONDS",
                       help="end a runtime's worker when one request takes longer (default 900), report a timeout")
    args = parser.parse_args(argv)
    try:
        return run_replay(args) if args.command == "replay" else run(args)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def load_expectations(names: list[str], directory: Path | None) -> dict:
    """runtime -> its Expectations from `directory`; None (a user's export, `check`): nothing is expected,
    every failure counts and every check must be bit-exact."""
    from . import expectations

    return {name: expectations.load(name, directory) if directory is not None else expectations.Expectations()
            for name in names}


def judge(results, names: list[str], expected: dict) -> int:
    """Sets every result's outcome from its runtime's expectations; returns the exit status."""
    from .runner import classify

    for name in names:
        classify([r for r in results if r.runtime == name], expected[name].failures)
    return exit_status(results)


def exit_status(results) -> int:
    """1 when a result is unexpected (a failure not listed, or a listed failure that passes), else 0."""
    from .report import FAILING

    return 1 if any(r.outcome in FAILING for r in results) else 0


def run(args) -> int:  # pragma: no mutate block
    started = time.monotonic()
    conformance = args.command == "conformance"
    if args.jobs < 1:
        raise HarnessError(f"-j must be at least 1, got {args.jobs}")
    if conformance and not args.expectations.is_dir():
        raise HarnessError(f"{args.expectations}: expectations folder does not exist")
    # TensorFlow's C++ INFO/WARNING lines would bury the report; set before TF loads (workers inherit it).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import expectations, matrix, report, runner, runtimes  # imports TensorFlow: after argument parsing

    runner.configure_tensorflow(args.threads)
    out = args.out.resolve()
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)  # our own scratch space from the previous run
    planted = getattr(args, "plant_fault", None)
    if planted:  # test-only: read by the runtimes (harness/faults.py); workers inherit it
        os.environ[FAULT_ENV] = planted
        print(f"warning: test-only fault planted: {planted} ({RUNTIME_FAULTS[planted].what})", file=sys.stderr)
    tf_versions = list(dict.fromkeys(args.tf or [TF_PYTHON])) if conformance else [TF_PYTHON]
    # conformance runs the whole TF Java matrix (expected failures included); check, the pinned version.
    java_versions = list(dict.fromkeys(args.java or (TF_JAVA_MATRIX if conformance else (TF_JAVA,))))
    names = runtimes.names(tf_versions, java_versions)
    exports = list(_exports(args, tf_versions))  # validates input before any runtime starts
    expected = load_expectations(names, args.expectations if conformance else None)

    def progress(export):
        print(f"checking {export.exporter}/{export.name} ...", file=sys.stderr, flush=True)

    results, facts = matrix.run(
        exports, names, jobs=args.jobs, cache_dir=args.cache_dir, workdir=work, threads=args.threads,
        call_timeout=args.call_timeout or runtimes.DEFAULT_CALL_TIMEOUT, on_started=progress,
        tolerance=lambda runtime, test_id, exporter: expected[runtime].relative_tolerance(test_id, exporter))
    status = judge(results, names, expected)
    env = report.environment(args.threads, facts)
    env["planted_fault"] = os.environ.get(FAULT_ENV) or None  # test-only runs say so in their report
    json_path, junit_path = report.write(out, results, env, time.monotonic() - started)
    print(report.table(results, names))
    print(f"reports: {json_path} {junit_path} ({time.monotonic() - started:.0f} s)")
    return status


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes K/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return k, n


def run_replay(args) -> int:  # pragma: no mutate block
    """Plays a stored story; prints each step and where the trajectories part (exit 1), if they do."""
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import bundle, interleave, runner, runtimes, validate

    runner.configure_tensorflow(1)
    story, _ = interleave.read_story(args.folder)
    b = bundle.open_bundle(args.folder / "bundle")
    data = b.data()
    validate.check_export(b.saved_model, data, b.data_path)
    export = runner.Export(b.name, b.saved_model, data, b.manifest["steps"], b.manifest["resume_steps"], TF_PYTHON)
    work = Path(tempfile.mkdtemp(prefix="replay-"))
    reference = interleave.Reference.compute(export, work / "reference", export.steps + export.resume_steps)
    java = runtimes.single(f"java-{args.java or TF_JAVA}", args.cache_dir, work / "logs")
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


def _exports(args, tf_versions: list[str]):  # pragma: no mutate block
    from . import bundle, spec, validate
    from .interface import ZOO
    from .runner import Export

    if args.command == "check":
        if args.steps <= 0 or args.resume_steps <= 0:
            raise HarnessError("--steps and --resume-steps must be positive")
        data = bundle.load_data(args.data)
        signatures = validate.check_export(args.saved_model, data, args.data)
        available = min((len(v) for k, v in data.items() if k.startswith("train.")), default=0)
        if available < args.steps + args.resume_steps:
            raise HarnessError(f"{args.data}: has {available} training steps, {args.steps} + {args.resume_steps} needed")
        interface = dataclasses.replace(ZOO, save="save" if "save" in signatures else None,
                                        restore="restore" if "restore" in signatures else None)
        yield Export(args.saved_model.name, args.saved_model.resolve(), data, args.steps, args.resume_steps,
                     TF_PYTHON, interface)
        return
    specs = [spec.find(name) for name in args.spec] if args.spec else spec.all_specs()
    cases = [(exporter, s, route) for exporter in tf_versions for s in specs
             for route in (s.routes if args.all else s.ci_routes) if not args.route or route in args.route]
    if args.shard:  # deterministic: the case list does not depend on the machine or on earlier runs
        k, n = args.shard
        cases = cases[k - 1::n]
    for exporter, s, route in cases:
        b = bundle.build(s, route, args.cache_dir / "exports")
        data = b.data()
        validate.check_export(b.saved_model, data, b.data_path)
        yield Export(b.name, b.saved_model, data, s.steps, s.resume_steps, exporter)


if __name__ == "__main__":
    sys.exit(main())
