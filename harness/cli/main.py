"""Command line: `python -m harness conformance`, `check`, `replay`, `report` and `expectations`.

Exit status: 0 when every check passed or failed as listed in expectations/, 1 when a check
failed unexpectedly or a listed failure passed, 2 on bad input (the message names the file),
130 on SIGINT and 143 on SIGTERM (reports of the cases that finished, marked partial).

Nothing heavy is imported at the top: bad arguments and paths are answered before TensorFlow loads.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from . import quiet
from .. import __version__, resources
from ..errors import HarnessError
from ..testing import faults
from ..testing.faults import PLANTED, RUNTIME_FAULTS
from ..runs.versions import LITERT, TF_JAVA, TF_JAVA_MATRIX, TF_PYTHON, TFLITE_ON_DEVICE

REPORTS = "reports/ in a checkout, else <cache>/reports"  # resources.reports_dir(), for the help texts
_stopped_by = signal.SIGINT  # the signal that interrupted the run: SIGTERM is handled as SIGINT


def interrupted_status() -> int:
    """The exit status of a run ended by a signal, as shells report it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + _stopped_by


def _on_sigterm(signum, frame):
    """SIGTERM (docker stop, Kubernetes, a CI timeout) stops the run as Ctrl-C does: partial reports, no worker left."""
    global _stopped_by
    _stopped_by = signal.Signals(signum)
    raise KeyboardInterrupt


# Not mutated by `nox -s mutants` (pragma): argument declarations and orchestration that starts
# TensorFlow and workers; the command-line tests (tests/test_cli.py) run them end to end. The
# decisions they delegate (load_expectations, judge, exit_status, _shard) are mutated.
def main(argv: list[str] | None = None) -> int:  # pragma: no mutate block
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tf-training-conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    conf = sub.add_parser("conformance", help="export the reference specs and check every runtime against Python")
    conf.add_argument("--tf", action="append", metavar="VERSION",
                      help=f"TF Python version that exports the zoo and trains it (repeatable; default {TF_PYTHON})")
    conf.add_argument("--shard", type=_shard, metavar="K/N", help="run the K-th of N deterministic slices of the cases")
    rel = sub.add_parser("release", help="validate a TF release: the zoo exported by candidate and baseline, every runtime")
    rel.add_argument("candidate", metavar="CANDIDATE", help="TF Python version under validation (any PyPI serves: a release, an rc, a "
                                                         "dated tf-nightly such as 2.23.0.dev20261026), or `nightly` (the newest)")
    rel.add_argument("--baseline", metavar="VERSION", help="version to compare with (default: the newest release before)")
    for p in (conf, rel):
        p.add_argument("--expectations", type=Path, default=resources.data("expectations"), metavar="DIR",
                       help="folder of expected failures and tolerances, *.toml (default: the harness's own)")
        p.add_argument("--plant-fault", choices=sorted(RUNTIME_FAULTS), metavar="NAME",
                       help="TEST-ONLY: make a runtime misbehave on purpose (harness/testing/faults.py), to show the verdicts "
                            "catch it; the report records it. Never use it to certify anything")
        p.add_argument("--spec", action="append", help="spec name in specs/ (repeatable; default: all)")
        p.add_argument("--route", action="append", help="authoring route (repeatable; default: each spec's routes)")
        p.add_argument("--all", action="store_true", help="every route of every spec (default: the CI subset, `ci_routes`)")
    check = sub.add_parser("certify", aliases=["check"],
                           help="certify a user's training export: trainable and conformant outside Python?")
    check.add_argument("saved_model", type=Path, help="the SavedModel directory (only read: runtimes train a copy)")
    check.add_argument("--data", type=Path, help=".npz keyed by input name ([steps, batch, ...] or one batch), or "
                                                 "'train.<input>'/'predict.<input>' (default: made up from the signature)")
    check.add_argument("--steps", type=int, default=5, help="steps each runtime trains (default 5; fewer if the data holds fewer)")
    check.add_argument("--resume-steps", type=int, default=3, help="steps Python trains after resuming (default 3)")
    check.add_argument("--batch", type=int, default=8, help="batch size of made-up data where the signature leaves it open")
    check.add_argument("--int-range", type=int, nargs=2, default=None, metavar=("LOW", "HIGH"),
                       help="made-up integer inputs are drawn from [LOW, HIGH) (default: the range the graph fixes for class ids and indices, else 0 10)")
    check.add_argument("--plant-fault", choices=sorted(RUNTIME_FAULTS), metavar="NAME",
                       help="TEST-ONLY: make a runtime misbehave on purpose (harness/testing/faults.py), to show that a "
                            "certificate flips to NOT conformant; the certificate records it")
    check.add_argument("--allow-op", action="append", metavar="OP", help="run an export that uses this refused op (repeatable)")
    for role, what in (("train", "the training signature"), ("predict", "the inference signature ('' for none)"),
                       ("save", "the save(path) signature ('' for none)"), ("restore", "the restore(path) signature ('' for none)"),
                       ("loss", "the training signature's loss output"),
                       ("get_weights", "the signature with no inputs returning the weights by value ('' for none)"),
                       ("set_weights", "the signature taking them back as inputs ('' for none)")):
        check.add_argument(f"--{role.replace('_', '-')}", dest=role, metavar="NAME", help=f"{what}, when discovery cannot tell")
    check.add_argument("--on-device", action="append", metavar="VERSION",
                       help=f"TF version whose TFLite trains the export, or an on-device runtime's KIND-VERSION (LiteRT's), "
                            f"reported as on-device trainability beside the verdict (repeatable; default the TFLite of "
                            f"{', '.join(TFLITE_ON_DEVICE)} and LiteRT {', '.join(LITERT)}; '' for none)")
    check.add_argument("--tags", metavar="TAG[,TAG...]", help="the meta graph's tag set every runtime loads "
                                                          "(default: the one holding the training signature, serve first)")
    replay = sub.add_parser("replay", help="replay a reproduction folder written by the stateful tests, in Python and TF Java")
    replay.add_argument("folder", type=Path, help="folder with bundle/, story.json")
    replay.add_argument("--plant-fault", choices=sorted(PLANTED),
                        help="re-plant the fault the story was found with (test-only)")
    replay.add_argument("--java", default=None, metavar="VERSION", help="TF Java version (default: the pinned one)")
    replay.add_argument("--cache-dir", type=Path, default=resources.cache_dir())
    for p in (conf, check, rel):
        p.add_argument("-v", "--verbose", action="store_true",
                       help="show TensorFlow's own log lines (default: kept in <out>/logs/harness.log)")
        p.add_argument("--java", action="append", metavar="VERSION",
                       help=f"TF Java version to run (repeatable; default: conformance {', '.join(TF_JAVA_MATRIX)}, check {TF_JAVA})")
        p.add_argument("--java-plain", action="append", metavar="VERSION",
                       help=f"TF Java version to run as a plain Java program, no JPype (repeatable; default: "
                            f"conformance none, check {TF_JAVA})")
        p.add_argument("--runtime", action="append", metavar="KIND-VERSION",
                       help="one more runtime of any registered kind (repeatable), e.g. c-2.21.0 or tflite-2.15.1")
        p.add_argument("--all-kinds", action="store_true",
                       help="each TF version also gets every other registered kind it versions (c-X, tflite-X); a "
                            "kind with versions of its own gets those (LiteRT: versions.LITERT)")
        p.add_argument("--out", type=Path, default=resources.reports_dir(), help=f"reports and work files (default: {REPORTS})")
        p.add_argument("--cache-dir", type=Path, default=resources.cache_dir(),
                       help=f"exports, jars, built programs, virtualenvs (default: ${resources.ENV_CACHE}, else .cache/ "
                            f"in a checkout, else the user's cache folder)")
        p.add_argument("--threads", type=int, default=1, help="intra/inter-op threads in every runtime (default 1)")
        p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                       help="cases run in parallel, each on its own worker processes (default: the number of cores)")
        p.add_argument("--fail-on-drift", action="store_true",
                       help="hold runtimes of another TF than the exporter's to 0 ulp too: any drift fails "
                            "(default: within compare.CROSS_VERSION_BAND it is drift, reported, not a failure)")
        p.add_argument("--call-timeout", type=float, default=None, metavar="SECONDS",
                       help="end a runtime's worker when one request takes longer (default 900), report a timeout")
    add_report_command(sub)
    add_expectations_command(sub)
    add_bisect_command(sub)
    args = parser.parse_args(argv)
    if args.command in ("report", "merge"):
        return run_report(args)
    global _stopped_by
    _stopped_by = signal.SIGINT
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        if args.command == "expectations":
            return run_expectations(args)
        if args.command == "replay":
            return run_replay(args)
        if args.command == "bisect":
            return run_bisect(args)
        validate(args)  # before anything heavy loads, and before the log file is made
        with quiet.tensorflow_to(args.out.resolve() / "logs" / "harness.log", args.verbose):
            return run(args)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # the harness's own code failed: exit 2 (not a runtime's finding), traceback in a log
        log = getattr(args, "out", resources.reports_dir()).resolve() / "logs" / "harness-bug.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        print(f"error: a bug in the harness, not a finding about any runtime: {type(e).__name__}: {e} "
              f"(traceback: {log})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before or after the cases ran (during them, run() reports what finished)
        print("interrupted" if _stopped_by == signal.SIGINT else f"interrupted by {_stopped_by.name}", file=sys.stderr)
        return interrupted_status()
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def validate(args) -> None:  # pragma: no mutate block (tests/test_cli.py runs every error it raises)
    """Argument and path errors of conformance, release and certify, found without importing TensorFlow."""
    if args.jobs < 1:
        raise HarnessError(f"-j must be at least 1, got {args.jobs}")
    if args.command in ("conformance", "release") and not args.expectations.is_dir():
        raise HarnessError(f"{args.expectations}: expectations folder does not exist")
    if args.command in ("certify", "check"):
        if not args.saved_model.resolve().is_dir():
            raise HarnessError(f"{args.saved_model.resolve()}: export directory does not exist")
        if args.data is not None and not args.data.is_file():
            raise HarnessError(f"{args.data}: data file does not exist")
        if args.steps <= 0 or args.resume_steps <= 0:
            raise HarnessError("--steps and --resume-steps must be positive")


def load_expectations(names: list[str], directory: Path | None, stand_ins: dict | None = None) -> dict:
    """runtime -> the Expectations of `directory` that apply to it; None (a user's export, `check`): nothing
    is expected, every failure counts and every check must be bit-exact. stand_ins: runtime -> the runtime
    whose entries it follows too (a release candidate's Python runtimes follow the baseline's)."""
    from ..runs import expectations

    if directory is None:
        return {name: expectations.Expectations() for name in names}
    every = expectations.load_all(directory)
    stand_ins = stand_ins or {}
    return {name: every.for_runtime(name, stand_ins.get(name)) for name in names}


def stand_ins(names: list[str], candidate: str, baseline: str) -> dict:
    """The candidate's runtimes (its Python ones) -> the same kind of runtime at the baseline."""
    from ..runtimes import parse

    return {name: f"{kind}-{baseline}" for name in names for kind, version in [parse(name)] if version == candidate}


def judge(results, names: list[str], expected: dict) -> int:
    """Sets every result's outcome from its runtime's expectations; returns the exit status."""
    from ..runs.runner import classify

    for name in names:
        classify([r for r in results if r.runtime == name], expected[name].failures)
    return exit_status(results)


def drift_band(fail_on_drift: bool):
    """band(runtime, exporter) for the runner: a kind's own kernels' band (TFLite's), always; else the
    cross-version band where the runtime runs another TF than the exporter's Python, none for the same
    TF (0 ulp) or with --fail-on-drift."""
    from ..plan.compare import CROSS_VERSION_BAND
    from ..runtimes import kind_of, tensorflow_of

    def band(runtime, exporter):
        own = kind_of(runtime).kernels_band
        if own is not None or fail_on_drift:
            return own
        return CROSS_VERSION_BAND if tensorflow_of(runtime) != exporter else None
    return band


def exit_status(results) -> int:
    """1 when a result is unexpected (a failure not listed, or a listed failure that passes), else 0."""
    from ..reports.report import FAILING

    return 1 if any(r.outcome in FAILING for r in results) else 0


def run(args) -> int:  # pragma: no mutate block
    started = time.monotonic()
    conformance = args.command in ("conformance", "release")
    certifying = args.command in ("certify", "check")
    validate(args)
    # TensorFlow's C++ INFO/WARNING lines would bury the report; set before TF loads (workers inherit it).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    importing = time.monotonic()
    from ..runs import matrix, runner
    from ..reports import progress, report, report_files
    from .. import runtimes  # imports TensorFlow: after argument parsing
    fixed = {"imports": time.monotonic() - importing}  # the run's fixed cost, seconds by what (report's timings)

    out = args.out.resolve()
    if args.command == "release":  # before TensorFlow loads: a candidate that does not install is the result
        uninstallable = _release_candidate(args, out)
        if uninstallable is not None:
            return uninstallable
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)  # our own scratch space from the previous run
    for logs in ("workers", "exports"):  # this run's logs only
        shutil.rmtree(out / "logs" / logs, ignore_errors=True)
    if args.command == "release":
        args.tf = [args.baseline, args.candidate]
    tf_versions = list(dict.fromkeys(args.tf or [TF_PYTHON])) if conformance else [TF_PYTHON]
    # conformance runs the whole TF Java matrix (expected failures included); check, the pinned version.
    java_versions = list(dict.fromkeys(args.java or (TF_JAVA_MATRIX if conformance else (TF_JAVA,))))
    plain = list(dict.fromkeys(args.java_plain or (() if conformance else (TF_JAVA,))))
    on_device = (runtimes.on_device(None if args.on_device is None else [v for v in args.on_device if v])
                 if certifying else [])
    extra = [*(args.runtime or ()), *on_device, *(runtimes.every_kind(tf_versions) if args.all_kinds else ())]
    names = runtimes.names(tf_versions, extra, java_versions, plain)
    planted = getattr(args, "plant_fault", None)
    if planted:  # test-only: the fault's kind replaces the registry's for this run (harness/testing/faults.py)
        print(f"warning: test-only fault planted: {planted} ({RUNTIME_FAULTS[planted].what})", file=sys.stderr)
    not_run = []  # results of cases that did not run: a route not applicable, an export that failed
    cases = None if certifying else _cases(args, tf_versions)  # a spec that does not exist: before anything starts
    kinds = faults.planted_kinds(planted) if planted else None
    # The workers start now, while this process imports TensorFlow and reads the exports: ended at once if
    # those find the input wrong.
    starting = matrix.Starting(names, 1 if certifying else min(args.jobs, len(cases)), cache_dir=args.cache_dir,
                               log_dir=out / "logs" / "workers", threads=args.threads,
                               call_timeout=args.call_timeout or runtimes.DEFAULT_CALL_TIMEOUT, kinds=kinds)
    try:
        importing = time.monotonic()
        runner.configure_tensorflow(args.threads)
        fixed["imports"] += time.monotonic() - importing
        preparing = time.monotonic()
        if certifying:
            from ..certify import certificate as certify

            prepared = certify.prepare(args, work)  # validates input before any case runs
            prepared.planted = planted  # test-only runs say so in their certificate
            exports = [prepared.export]
        else:
            exports, not_run = _exports(args, cases, names)  # validates input before any case runs
        fixed["exports"] = time.monotonic() - preparing
        expected = load_expectations(names, args.expectations if conformance else None,
                                     stand_ins(names, args.candidate, args.baseline) if args.command == "release" else None)
    except BaseException:
        starting.kill()
        raise

    def classified(export, results):  # per export, as it finishes, so progress counts expected failures right
        for name in names:
            runner.classify([r for r in results if r.runtime == name], expected[name].failures)
        if certifying:  # before anything reports them: resumes certify cannot compare like with like are N/A
            certify.settle(prepared, results)
        counted = [r for r in results if not (certifying and runtimes.is_on_device(r.runtime))]  # on device: apart
        bar.finished(report.export_name(export.exporter, export.name), counted)

    interrupted = False
    timings: dict = {}
    with progress.Progress(len(exports)) as bar:
        try:
            results, facts = matrix.run(
                exports, names, jobs=args.jobs, cache_dir=args.cache_dir, workdir=work, log_dir=out / "logs" / "workers",
                threads=args.threads, call_timeout=args.call_timeout or runtimes.DEFAULT_CALL_TIMEOUT,
                on_started=lambda export: bar.started(report.export_name(export.exporter, export.name)),
                on_finished=classified,
                tolerance=lambda runtime, test_id, exporter: expected[runtime].relative_tolerance(test_id, exporter),
                band=drift_band(args.fail_on_drift), kinds=kinds, timings=timings, starting=starting)
        except matrix.Interrupted as stopped:  # every worker has ended: report what finished
            results, facts, interrupted = stopped.results, stopped.facts, True
    results += not_run
    for name in names:  # what no export classified: a runtime that could not start
        runner.classify([r for r in results if r.runtime == name and not r.outcome], expected[name].failures)
    env = report.environment(args.threads, facts)
    env["planted_fault"] = planted or None  # test-only runs say so in their report
    from ..runs.release import drift

    json_path, junit_path = report_files.write(out, results, env, time.monotonic() - started, runtimes=names,
                                         trajectories=report.trajectories_of(results), drift=drift(results),
                                         interrupted=interrupted, timings=run_timings(fixed, timings))
    # certify: on-device runtimes are informational: their own section (certify.summary), never in the verdict's table.
    verdict_names = [n for n in names if not (certifying and runtimes.is_on_device(n))]
    print(report.table([r for r in results if r.runtime in verdict_names], verdict_names))
    print(f"reports: {json_path} {junit_path} {out / 'index.html'} ({time.monotonic() - started:.0f} s)")
    if interrupted:
        print(report.partial_note(results))
        return interrupted_status()
    if args.command == "release":
        return _release_verdict(args, results, out)
    # certify: on-device trainability is reported beside the verdict, not part of it.
    status = exit_status([r for r in results if not (certifying and runtimes.is_on_device(r.runtime))])
    if certifying:
        certificate = certify.write(out, prepared, results, facts, work)
        print(certify.summary(prepared, certificate, status == 0))
        if json.loads(certificate.read_text())["undecided"]:  # the harness's limit: no verdict on the export
            return 2
    return status


def run_timings(fixed: dict, timings: dict) -> dict:
    """The report's timings (runs/timing.py): the fixed cost (imports, exports, worker starts) and each case's stages."""
    fixed = {**fixed, "worker starts": timings.get("worker starts", 0.0)}
    return {"fixed": {k: round(v, 2) for k, v in fixed.items()},
            "starts": {k: round(v, 2) for k, v in timings.get("starts", {}).items()},
            "cases": timings.get("cases", []), "case seconds": timings.get("case seconds", [])}


DOES_NOT_INSTALL = 3  # release: the candidate's virtualenv does not build or its TensorFlow does not import


def _release_candidate(args, out: Path) -> int | None:
    """Resolves `nightly` and the default baseline, and builds the candidate's virtualenv. A candidate that
    does not install or import is one result (a line, release.json): returns DOES_NOT_INSTALL, else None."""
    from .. import atomic
    from ..runs import venvs

    if args.candidate == "nightly":
        args.candidate = venvs.newest_nightly(args.cache_dir)
        print(f"nightly: TF {args.candidate} ({venvs.NIGHTLY})")
    venvs.check_available(args.candidate, args.cache_dir)  # a version that does not exist is bad input (2)
    args.baseline = args.baseline or venvs.previous_release(args.candidate, venvs.available(args.cache_dir))
    try:
        venvs.interpreter(args.candidate, args.cache_dir)
    except HarnessError as e:
        reason = " ".join(str(e).split())
        print(f"release: candidate TF {args.candidate} does not install or import: {reason[:400]}")
        atomic.write_json(out / "release.json", {"candidate": args.candidate, "baseline": args.baseline,
                                                 "installs": False, "reason": str(e)})
        return DOES_NOT_INSTALL
    return None


def _release_verdict(args, results, out: Path) -> int:
    """What changed from the baseline to the candidate; exit 1 on a new failure (or drift, if asked)."""
    from .. import atomic
    from ..runs import release

    changes = release.changes(results, args.baseline, args.candidate)
    print()
    print(release.summary(changes))
    atomic.write_json(out / "release.json", {
        "candidate": args.candidate, "baseline": args.baseline, "installs": True, "drift": changes.drift,
        "families": changes.families,
        "routes": changes.routes,
        "new_failures": [got.id for _, _, got in changes.new_failures], "fixed": [got.id for _, _, got in changes.fixed],
        # the same checks named without the candidate's version, comparable across candidates (bisect)
        "new_failure_checks": sorted({got.id.replace(args.candidate, "CANDIDATE") for _, _, got in changes.new_failures}),
        "fixed_checks": sorted({got.id.replace(args.candidate, "CANDIDATE") for _, _, got in changes.fixed})})
    # --fail-on-drift: drift beyond 0 ulp already failed its check (no band); this also fails on a baseline
    # export that the candidate's Python trains within a listed tolerance.
    return 1 if changes.new_failures or (args.fail_on_drift and changes.drifted) else 0


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes K/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return k, n


def add_report_command(sub) -> None:  # pragma: no mutate block (declares arguments; test_report runs them)
    rep = sub.add_parser("report", aliases=["merge"],
                         help="re-render the summary and index.html from JSON reports; merge CI shards")
    rep.add_argument("reports", type=Path, nargs="+", help="conformance.json of a run, or of each shard")
    rep.add_argument("--out", type=Path, default=resources.reports_dir(),
                     help="writes index.html; for several inputs also the merged conformance.json and junit.xml")


def add_bisect_command(sub) -> None:  # pragma: no mutate block (declares arguments; test_bisect runs them)
    bis = sub.add_parser("bisect", help="the first bad nightly of each check that fails in BAD and passes in GOOD")
    bis.add_argument("good", nargs="?", metavar="GOOD", help="version or nightly date, e.g. 2.21.0 or 2026-10-20 "
                                                              "(default: the newest release)")
    bis.add_argument("bad", nargs="?", metavar="BAD", help="version or nightly date (default: the newest nightly)")
    bis.add_argument("--spec", action="append", help="spec name in specs/ for BAD's run (repeatable; default: all)")
    bis.add_argument("--route", action="append", help="authoring route for BAD's run (repeatable)")
    bis.add_argument("--fixed", action="store_true", help="the other way round: for each check that fails in GOOD and "
                                                         "passes in BAD, the first nightly that fixed it (exit 0)")
    bis.add_argument("--out", type=Path, default=resources.reports_dir(), help=f"bisect.json and each step's "
                                                                              f"release reports (default: {REPORTS})")
    bis.add_argument("--cache-dir", type=Path, default=resources.cache_dir(), help="as for release")
    bis.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="as for release")


def run_bisect(args) -> int:  # pragma: no mutate block (tests/test_bisect.py runs it with a fake step)
    """bisect: each step is a `release VERSION --baseline GOOD` run in a subprocess (_bisect_step)."""
    from packaging.version import Version

    from .. import atomic
    from ..runs import bisect, venvs

    if args.jobs < 1:
        raise HarnessError(f"-j must be at least 1, got {args.jobs}")
    nightlies, releases = venvs.installable(args.cache_dir, venvs.NIGHTLY), venvs.available(args.cache_dir)
    finals = [v for v in releases if not Version(v).is_prerelease]
    good = bisect.resolve(args.good, nightlies, releases) if args.good else finals[0]
    bad = bisect.resolve(args.bad, nightlies, releases) if args.bad else venvs.newest_nightly(args.cache_dir)
    if Version(good) >= Version(bad):
        raise HarnessError(f"GOOD {good} is not older than BAD {bad}")
    out = args.out.resolve()
    narrowed: list[str] = []  # after BAD's run: only the failing checks' specs and routes
    reasons: dict[str, str] = {}  # version -> why it does not install or import (its release.json)
    changed = "fixed_checks" if args.fixed else "new_failure_checks"  # the checks searched: what BAD changed

    def failing(version: str) -> set[str] | None:
        return _bisect_step(args, version, good, out, changed, narrowed, reasons)

    print(f"bisect: good TF {good}, bad TF {bad}", flush=True)
    found = bisect.bisect(good, bad, nightlies, failing, fixes=args.fixed)
    atomic.write_json(out / "bisect.json", bisect.as_json(found))  # also when incomplete: the steps done are kept
    if not found.complete:
        print(f"error: {found.error}", file=sys.stderr)
        print(f"report (incomplete): {out / 'bisect.json'}")
        return 2
    if not found.installs:  # nothing to search: BAD's failures are unknown
        print(f"bisect: BAD TF {bad} does not install or import: {reasons.get(bad, '')[:400]}")
        print(f"report: {out / 'bisect.json'}")
        return DOES_NOT_INSTALL
    print(bisect.summary(found))
    print(f"report: {out / 'bisect.json'}")
    return 1 if found.found and not found.fixes else 0


def _bisect_step(args, version: str, good: str, out: Path, changed: str, narrowed: list[str],
                 reasons: dict[str, str]) -> set[str] | None:  # pragma: no mutate block (test_bisect fakes the release)
    """One bisect step: `release VERSION --baseline GOOD` in a subprocess (its own TensorFlow); the checks it
    changed (release.json's `changed`: new failures, or with --fixed the fixes), None when the version does not
    install (skipped, not bad; `reasons` gets why). After BAD's step, `narrowed` holds only their specs and routes."""
    import subprocess

    from .. import atomic
    from ..runs import bisect

    step_out = out / "steps" / version
    command = [sys.executable, "-m", "harness", "release", version, "--baseline", good, "--out", str(step_out),
               "--cache-dir", str(args.cache_dir), "-j", str(args.jobs)]
    if narrowed:
        command += narrowed
    else:
        command += [f for s in args.spec or () for f in ("--spec", s)] + [f for r in args.route or () for f in ("--route", r)]
    done = subprocess.run(command, capture_output=True, text=True)
    # the step's own output beside its reports: a step that fails leaves its message somewhere
    atomic.write_text(step_out / "release.log", f"$ {' '.join(command)}\n(exit {done.returncode})\n"
                                                f"{done.stdout}{done.stderr}")
    record = step_out / "release.json"
    if done.returncode not in (0, 1, DOES_NOT_INSTALL) or not record.is_file():
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise bisect.StepFailed(f"bisect stopped: release {version} --baseline {good} exited {done.returncode} "
                                f"without a verdict: {last} (output and logs: {step_out})")
    result = json.loads(record.read_text())
    if done.returncode == DOES_NOT_INSTALL or not result.get("installs", True):
        reasons[version] = " ".join(str(result.get("reason", "")).split())
        return None
    checks = set(result[changed])
    if not narrowed and checks:
        cases = sorted({tuple(c.split("/")[-1].split(".")[:2]) for c in checks})  # (spec, route) of each
        narrowed.extend(f for spec, route in cases for f in ("--spec", spec, "--route", route))
    return checks


def add_expectations_command(sub) -> None:  # pragma: no mutate block (declares arguments; test_expectations runs them)
    exp = sub.add_parser("expectations", help="review the expected-failure lists against a conformance report")
    actions = exp.add_subparsers(dest="action", required=True)
    update = actions.add_parser("update", help="stale and XPASS entries, and entries for the unexpected failures "
                                               "of REPORT; --write applies them")
    update.add_argument("report", type=Path, help="conformance.json of a run (a full run's: `nox -s matrix`)")
    update.add_argument("--write", action="store_true", help="remove the stale and XPASS entries, add the suggested "
                                                             "ones a known cause explains (each file atomically)")
    update.add_argument("--expectations", type=Path, default=resources.data("expectations"), metavar="DIR",
                        help="folder of expected failures and tolerances (default: the harness's own)")
    diff = actions.add_parser("compare", help="the outcome of every result id of two reports: the same? (exit 1 if not)")
    diff.add_argument("reports", type=Path, nargs=2, metavar="REPORT")


def run_expectations(args) -> int:
    """`expectations update` and `expectations compare` (harness/runs/expectations_update.py); no TensorFlow needed."""
    from ..runs import expectations_update

    if args.action == "compare":
        return expectations_update.compare_reports(*args.reports)
    if not args.expectations.is_dir():
        raise HarnessError(f"{args.expectations}: expectations folder does not exist")
    if args.write and resources.CHECKOUT is None and args.expectations.resolve() == resources.data("expectations").resolve():
        raise HarnessError(f"{args.expectations}: --write edits the installed package's own lists: "
                           f"pass --expectations DIR (a checkout's expectations/)")
    return expectations_update.update(args.report, args.expectations, args.write)


def run_report(args) -> int:
    """Prints the console summary and writes index.html (with several inputs, the merged reports too).

    No TensorFlow needed. Exit status as `conformance`: 1 if the (merged) report has unexpected results
    or is partial (an interrupted run's).
    """

    from ..reports import html_report, report, report_files

    try:
        inputs = [report.read(path) for path in args.reports]
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = args.out.resolve()
    if len(inputs) > 1:
        merged = report.merge(inputs)
        written = [*report_files.write_report(out, merged, html=False)]
    else:
        merged, written = inputs[0], []
    written.append(html_report.render(merged, out))
    print(report.table(merged["results"], report.columns(merged)))
    print(f"reports: {' '.join(map(str, written))}")
    if merged.get("partial"):
        print(report.partial_note(merged["results"]))
    return 1 if merged.get("partial") or any(r["outcome"] in report.FAILING for r in merged["results"]) else 0


def run_replay(args) -> int:  # pragma: no mutate block
    """Plays a stored story; prints each step and where the trajectories part (exit 1), if they do."""
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ..exports import bundle, validate
    from ..testing import interleave
    from ..runs import runner
    from .. import runtimes

    runner.configure_tensorflow(1)
    story, _ = interleave.read_story(args.folder)
    b = bundle.open_bundle(args.folder / "bundle")
    data = b.data()
    validate.check_export(b.saved_model, data, b.data_path)
    export = runner.Export(b.name, b.saved_model, data, b.manifest["steps"], b.manifest["resume_steps"], TF_PYTHON)
    work = Path(tempfile.mkdtemp(prefix="replay-"))
    reference = interleave.Reference.compute(export, work / "reference", export.steps + export.resume_steps)
    from ..runtimes.java import Java  # the stories are about TF Java

    java = runtimes.single(f"{Java.kind}-{args.java or TF_JAVA}", args.cache_dir, work / "logs")
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


def _cases(args, tf_versions: list[str]) -> list[tuple]:
    """The run's cases: (exporter TF, spec, route), of this shard."""
    from ..exports import spec

    specs = [spec.find(name) for name in args.spec] if args.spec else spec.all_specs()
    shard = getattr(args, "shard", None)
    cases = [(exporter, s, route) for exporter in tf_versions for s in specs
             for route in (s.routes if args.all else s.ci_routes) if not args.route or route in args.route]
    if shard:  # deterministic: the case list does not depend on the machine or on earlier runs
        k, n = shard
        cases = cases[k - 1::n]
    return cases


def _exports(args, cases: list[tuple], runtime_names: list[str]):  # pragma: no mutate block
    """The exports of the run's cases, and a not-applicable result per runtime for each route an
    exporter cannot author."""
    from .. import runtimes
    from ..exports import validate
    from ..errors import ExportFailed, NotApplicable
    from ..runs.runner import BLOCKED, NOT_APPLICABLE, Export, Result

    built = _build_all(cases, args.cache_dir, args.jobs, args.out.resolve() / "logs" / "exports")
    exports, not_run = [], []
    for (exporter, s, route), b in zip(cases, built):
        case = f"{s.name}.{route}"
        if isinstance(b, NotApplicable):
            not_run += [Result(name, case, "export", None, str(b), outcome=NOT_APPLICABLE,
                                      exporter=exporter) for name in runtime_names]
            continue
        if isinstance(b, ExportFailed):  # the exporter's own failure, in its row; nothing to run in the others
            reference = runtimes.reference(exporter)
            not_run += [Result(name, case, "export", False, str(b), exporter=exporter) if name == reference else
                               Result(name, case, "export", None, f"blocked by {case}.export", outcome=BLOCKED,
                                      exporter=exporter) for name in runtime_names]
            continue
        data = b.data()
        validate.check_export(b.saved_model, data, b.data_path)
        exports.append(Export(b.name, b.saved_model, data, s.steps, s.resume_steps, exporter))
    return exports, not_run


def _build_all(cases, cache_dir: Path, jobs: int, logs: Path) -> list:  # pragma: no mutate block
    """The bundle (or NotApplicable, or ExportFailed) of each (exporter, spec, route), in case order.

    Another TF version exports in a subprocess of its own venv, so up to `jobs` of those run side by
    side while this process exports its own TF's cases (in the main thread: Keras' global state is
    not for threads). Virtualenvs are provisioned first, one at a time.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ..exports import bundle
    from ..runs import venvs
    from ..errors import ExportFailed, NotApplicable

    def build(case):
        exporter, s, route = case
        try:
            return bundle.build(s, route, cache_dir / "exports", exporter, logs / exporter / f"{s.name}.{route}.log")
        except (NotApplicable, ExportFailed) as e:
            return e

    elsewhere = {v for v in {c[0] for c in cases} if venvs.interpreter(v, cache_dir) != Path(sys.executable)}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {i: pool.submit(build, c) for i, c in enumerate(cases) if c[0] in elsewhere}
        here = {i: build(c) for i, c in enumerate(cases) if c[0] not in elsewhere}
        return [futures[i].result() if i in futures else here[i] for i in range(len(cases))]


if __name__ == "__main__":
    sys.exit(main())
