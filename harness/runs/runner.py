"""The conformance matrix: export x runtime -> checks, each compared with the Python reference.

For each export, the reference is the TF2 loader of its exporter's TF version (runtime
"python-<exporter>") training it `steps` steps, saving, then `resume_steps` more without
interruption. Each runtime then trains the same first `steps` steps from the export and saves
both ways; the reference runtime resumes from what it saved and must rejoin the reference
trajectory. Each runtime also restores the reference's checkpoints of step `steps` into fresh
loads of the export (by its saver, by the restore signature, and by value through set_weights),
trains the remaining steps, and must rejoin the reference trajectory too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..plan import checkpoints, compare
from .. import checks
from ..checks import outputs_by_step
from ..errors import HarnessError, NotApplicable
from .expectations import Expectation
from ..plan.interface import ZOO, Interface
from ..reports.outcomes import BLOCKED, FAIL, NOT_APPLICABLE, PASS, XFAIL, XPASS, Result  # noqa: F401 (the runner's vocabulary)
from ..runtimes import registry
from .timing import Clock, NoClock
from ..plan.trajectory import RESTORE_WAYS, STAGES, WEIGHTS_KEY, Failure, Restore, RuntimeFailure, Trajectory, execute, restore_and_train, with_variables  # with_variables: runner's name for it

NO_CLOCK = NoClock()
PLAN_CHECKS = tuple(c.name for c in checks.PLAN)
RESTORE_CHECKS = tuple(c.name for c in checks.RESTORE)
CHECKS = PLAN_CHECKS + RESTORE_CHECKS
STAGE_OF_CHECK = {c.name: c.stage for c in checks.PLAN}
FIRST_CHECK_OF_STAGE = {stage: next(c for c in PLAN_CHECKS if STAGE_OF_CHECK[c] == stage) for stage in STAGES}


@dataclass
class Export:
    """What the runner needs of an export: where it is, its data, how many steps to run, who wrote it."""
    name: str  # "<spec>.<route>", or the folder name of a user's export
    saved_model: Path
    data: dict[str, np.ndarray]
    steps: int
    resume_steps: int
    exporter: str  # TF version whose Python is this export's reference (the one that wrote it, for the zoo)
    interface: Interface = ZOO

    @property
    def reference_runtime(self) -> str:
        return registry.reference(self.exporter)


def configure_tensorflow(threads: int) -> None:  # pragma: no mutate block (runs TF)
    """Fixed thread counts, set before TensorFlow runs anything: part of what makes runs comparable.

    Also quiets TensorFlow's Python warnings so the report stays readable (errors still show).
    """
    import logging

    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    logging.getLogger("absl").setLevel(logging.ERROR)  # "Importing a function ... custom gradients", per load

    config = tf.config.threading
    if (config.get_intra_op_parallelism_threads(), config.get_inter_op_parallelism_threads()) == (threads, threads):
        return
    try:
        config.set_intra_op_parallelism_threads(threads)
        config.set_inter_op_parallelism_threads(threads)
    except RuntimeError as e:
        raise HarnessError(f"TensorFlow must be configured before it starts: {e}") from None


def reference(export: Export, python, workdir: Path) -> tuple[Trajectory, Trajectory]:  # pragma: no mutate block (runs TF)
    """The uninterrupted trajectory in `python` (the exporter's TF2 loader): steps [0, k) then [k, k+m),
    saving after each part, in one session.

    Raises HarnessError when Python itself cannot train the export: nothing can be compared then.
    """
    first, second = Trajectory(0), Trajectory(export.steps)
    try:
        session = python.open_session(export.saved_model, tags=export.interface.tags)
    except RuntimeFailure as e:
        raise HarnessError(f"the Python reference run failed at load: {e}") from None
    try:
        execute(session, export.data, range(0, export.steps), workdir / "first", export.interface, first)
        if not first.failure:
            execute(session, export.data, range(export.steps, export.steps + export.resume_steps), workdir / "second",
                    export.interface, second)
    finally:
        _close(session)
    for part in (first, second):
        if part.failure:
            raise HarnessError(f"the Python reference run failed at {part.failure.stage}: {part.failure.error}")
    return first, second


def second_run(export: Export, python, own_run: Trajectory | None, workdir: Path, clock: Clock) -> Trajectory:
    """A second Python run of the first steps in a fresh load, to see nondeterminism: the reference runtime's
    own run (`own_run`) when its losses and predictions are complete, else a repeat (which saves nothing)."""
    if own_run is not None and not (own_run.failure and own_run.failure.stage in ("load", "train", "predict")):
        return Trajectory(0, own_run.losses, own_run.metrics, own_run.predictions)
    with clock.stage(python.name, "reference.repeat"):
        return repeat(export, python, workdir / "reference-again")


def _close(session) -> None:
    try:
        session.close()
    except RuntimeFailure:  # the worker is gone; the failure that ended it is already recorded
        pass


def repeat(export: Export, python, workdir: Path) -> Trajectory:  # pragma: no mutate block (runs TF)
    """The first steps again in a fresh session, saving nothing: two Python runs must agree."""
    again = Trajectory(0)
    try:
        session = python.open_session(export.saved_model, tags=export.interface.tags)
    except RuntimeFailure as e:
        again.failure = Failure("load", str(e))
        return again
    try:
        return execute(session, export.data, range(0, export.steps), workdir, export.interface, again, save=False)
    finally:
        _close(session)


def check_export(export: Export, runtimes: list, python, workdir: Path,
                 tolerance=lambda runtime, test_id, exporter: 0.0, band=lambda runtime, exporter: None,
                 clock: Clock = NO_CLOCK) -> list[Result]:
    """All checks of one export: the reference's own (it trains, and trains the same twice), then each runtime.

    `python` is the reference runtime (python-<exporter>); tolerance(runtime name, test id, exporter)
    -> the case's relative tolerance (0: bit-exact required); band(runtime name, exporter) -> the
    cross-version drift band by dtype (compare.CROSS_VERSION_BAND) when that runtime runs another TF
    than the exporter's, else None. `clock` gets the seconds of each stage (timing.py).
    """
    def own(check: str, passed: bool, detail: str, **notes) -> Result:
        return Result(python.name, export.name, check, passed, detail, notes=notes)  # _stamp sets the exporter

    try:
        with clock.stage(python.name, "reference"):
            ref = reference(export, python, workdir / "reference")
    except HarnessError as e:
        return _stamp([own("reference", False, str(e))] + _blocked(export, runtimes, "reference"), export)
    ran, resumes = {}, {}  # runtime -> its run, Python's resume from what it saved
    saver_restore = saver_checkpoint_for(export, ref[0], workdir)
    weights_restore = weights_for(export, ref, python, workdir)
    expected: dict[str, Trajectory] = {}  # way (or "resume") -> Python's own, where that checkpoint is not the whole state
    judged = {}

    def judge(runtime) -> None:
        nonlocal expected
        results = check_runtime(runtime, export, ref, workdir / runtime.name, python,
                                lambda check, name=runtime.name: tolerance(name, f"{export.name}.{check}", export.exporter),
                                ran, saver_restore, band(runtime.name, export.exporter), weights_restore,
                                expected=dict(expected), resumes=resumes, clock=clock)
        if runtime.name == python.name:
            expected = own_resumes(results, ran[python.name], resumes.get(python.name), export)
        judged[runtime.name] = results

    ordered = sorted(runtimes, key=lambda r: r.name != python.name)  # the reference runtime first: see own_resumes
    if ordered and ordered[0].name == python.name:
        judge(ordered.pop(0))  # its run is also the second Python run (second_run)
    again = second_run(export, python, ran.get(python.name), workdir, clock)
    repeated = compare.compare({**outputs_by_step(ref[0]), **ref[0].predictions},
                               {**outputs_by_step(again), **again.predictions})
    losses = ref[0].losses + ref[1].losses
    if again.failure or not repeated.ok:
        detail = f"two Python runs of the same steps differ: {again.failure.error if again.failure else repeated.summary()}"
        return _stamp([own("reference", True, "ok", losses=losses), own("reference.deterministic", False, detail)]
                      + _blocked(export, runtimes, "reference.deterministic"), export)
    out = [own("reference", True, "ok", losses=losses), own("reference.deterministic", True, repeated.summary())]
    for runtime in ordered:
        judge(runtime)
    for runtime in runtimes:
        out += judged[runtime.name]
    _without_reference_saver(out, ref[0], python.name)
    for runtime in runtimes:  # e.g. a Java team's own program must see exactly what the harness saw through JPype
        other = runtime.same_outputs_as and f"{runtime.same_outputs_as}-{runtime.version}"
        if runtime.name in ran and other in ran:
            out.append(same_run(runtime.name, export.name, ran[runtime.name], ran[other], other))
    return _stamp(out, export)


def _without_reference_saver(results: list[Result], first: Trajectory, python: str) -> None:  # pragma: no mutate block (reads a checkpoint)
    """When the Python reference's own saver checkpoint holds no variable (the TF2 loader does not save a TF1
    graph's reference variables), nothing can be compared with it, nor resumed from it in Python: the harness's
    limit, said so (N/A), never a runtime's failure. The restore parts (the reference's checkpoint re-keyed for
    each saver) still run."""
    if not first.saver_checkpoint:
        return
    try:
        empty = not checkpoints.read(first.saver_checkpoint)
    except HarnessError:
        return
    if not empty:
        return
    why = (f"the Python reference ({python}) saves none of this export's variables through its saver (a TF1 graph's "
           f"reference variables), so its saver checkpoint cannot be compared with, nor resumed from in Python")
    for r in results:
        if r.check == "checkpoint.saver" or (r.runtime == python and r.check in ("resume.loss", "resume.variables")
                                              and r.passed is False):
            r.outcome, r.detail, r.passed, r.comparison = NOT_APPLICABLE, why, None, None


def own_resumes(results: list[Result], got: Trajectory, resumed: Trajectory | None, export: Export) -> dict[str, Trajectory]:
    """Python's own resumes (the reference runtime's restore parts and its resume from its own checkpoint) that
    do not rejoin the uninterrupted run: that convention does not carry the whole training state (optimizer
    slots, a step counter, random state). That is the export's finding, not a failure: Python's own checks of it
    become not applicable, saying what differs, and every other runtime is compared with Python's own resume
    through the same convention (like with like). Returns {way or "resume": that part}."""
    by_check = {r.check: r for r in results}
    parts = {**{way: got.restored.get(way) for way in RESTORE_WAYS}, "resume": resumed}
    expected = {}
    for way, part in parts.items():
        prefix = "resume" if way == "resume" else f"restore.{way}"
        pair = [by_check.get(f"{prefix}.loss"), by_check.get(f"{prefix}.variables")]
        diverged = [r for r in pair if r is not None and r.comparison is not None and not r.comparison.ok]
        if part is None or part.failure or not diverged or any(r is not None and r.comparison is None and r.passed is False
                                                                for r in pair):
            continue
        expected[way] = part
        what = ("resuming from its own checkpoint" if way == "resume" else
                f"restoring the reference's checkpoint of step {export.steps} by {way} into a fresh load")
        finding = (f"the {'saved' if way == 'resume' else way} checkpoint is not the whole training state: "
                   f"{results[0].runtime} itself, {what}, trains on to other values than the uninterrupted run "
                   f"({diverged[0].comparison.first_divergence}); the other runtimes are compared with this resume "
                   f"(like with like)")
        for r in pair:
            if r is not None:
                r.outcome, r.detail = NOT_APPLICABLE, finding
                r.notes["fidelity"] = {"convention": way, "differs": diverged[0].comparison.summary()}
    return expected


def saver_checkpoint_for(export: Export, first: Trajectory, workdir: Path) -> tuple[str | None, str]:  # pragma: no mutate block (runs TF: reads the export, writes a checkpoint)
    """What the runtimes' savers restore: the reference's checkpoint keyed as the export's own saver reads
    it (checkpoints.in_layout_of), or (None, why) when the harness cannot write one."""
    try:
        return checkpoints.in_layout_of(export.saved_model, first.saver_checkpoint,
                                        workdir / "reference" / "first" / "saver-by-name" / "variables")
    except HarnessError as e:  # the harness's own limit: restore.saver.* not applicable, never the export's failure
        return None, f"the harness cannot re-key its reference checkpoint for this export's saver: {e}"


def weights_for(export: Export, ref: tuple[Trajectory, Trajectory], python, workdir: Path) -> tuple[str | None, str]:  # pragma: no mutate block (writes the reference's weights)
    """What the runtimes set through set_weights: the reference's get_weights outputs of step k (an .npz),
    or (None, why that cannot be checked).

    Weights by value need not be the whole training state (a federated client's optimizer restarts): then
    Python's own restore by value is what the other runtimes are compared with (check_export)."""
    interface = export.interface
    if not (interface.get_weights and interface.set_weights):
        return None, "export has no get_weights and set_weights signatures (weights by value)"
    path = workdir / "reference" / "first" / "weights.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{WEIGHTS_KEY + name: value for name, value in ref[0].weights.items()})
    return str(path), ""


def same_run(runtime: str, case: str, got: Trajectory, other: Trajectory, other_name: str) -> Result:
    """equals.<other>: losses (and metrics), predictions, weights by value and both checkpoints of two runs
    of one runtime, bit for bit."""
    check = "equals." + other_name
    if got.failure or other.failure:
        failed = got.failure or other.failure
        return Result(runtime, case, check, None, f"blocked: a run failed at {failed.stage}", outcome=BLOCKED)
    tensors = ({**outputs_by_step(other), **other.predictions, **{f"weights:{k}": v for k, v in other.weights.items()}},
               {**outputs_by_step(got), **got.predictions, **{f"weights:{k}": v for k, v in got.weights.items()}})
    for mine, theirs in ((got.saver_checkpoint, other.saver_checkpoint), (got.signature_checkpoint, other.signature_checkpoint)):
        if mine and theirs:
            try:
                expected, actual = checkpoints.comparable(theirs, mine)
            except HarnessError as e:  # a runtime's unreadable output is this check's failure, not the harness's
                return Result(runtime, case, check, False, str(e))
            tensors[0].update({f"{Path(theirs).parent.name}:{k}": v for k, v in expected.items()})
            tensors[1].update({f"{Path(theirs).parent.name}:{k}": v for k, v in actual.items()})
    comparison = compare.compare(*tensors)
    return Result(runtime, case, check, comparison.ok, comparison.summary(), comparison)


def _stamp(results: list[Result], export: Export) -> list[Result]:
    for r in results:
        r.exporter = export.exporter
    return results


def _blocked(export: Export, runtimes: list, cause: str) -> list[Result]:
    return [Result(r.name, export.name, check, None, f"blocked by {export.name}.{cause}", outcome=BLOCKED)
            for r in runtimes for check in CHECKS]


def check_runtime(runtime, export: Export, ref: tuple[Trajectory, Trajectory], workdir: Path, python,
                  tolerance=lambda check: 0.0, ran: dict | None = None,
                  saver_restore: tuple[str | None, str] | None = None, band: dict | None = None,
                  weights_restore: tuple[str | None, str] | None = None, expected: dict | None = None,
                  resumes: dict | None = None, clock: Clock = NO_CLOCK) -> list[Result]:
    """Runs `runtime` on `export` and returns one Result per check in CHECKS (plus tensors.closed for Java).

    `python` (the reference runtime) resumes from what `runtime` saved; `ran`, if given, keeps the run.
    `saver_restore`: (the checkpoint the runtime's saver restores, or None and why that cannot be checked);
    by default the reference's own. `band`: the cross-version drift band every comparison of this runtime
    is held to (None: same TF). `weights_restore`: (what set_weights is given, or None and why not:
    weights_for), by default worked out here. `expected`: Python's own resumes that the restore parts and
    the resume are compared with instead of the uninterrupted run (own_resumes); `resumes`, if given, keeps
    Python's resume from what this runtime saved. `clock` gets the seconds of each stage."""
    ref_first, ref_second = ref
    saver_prefix, saver_why_not = saver_restore or (ref_first.saver_checkpoint, "")
    weights_prefix, weights_why_not = weights_restore or weights_for(export, ref, python, workdir)
    signature_restorable = bool(export.interface.save and export.interface.restore)
    can = runtime.capabilities
    not_restoring = {way: "" if getattr(can, f"restores_by_{way}") else runtime.why_not(f"restores_by_{way}") for way in RESTORE_WAYS}
    restore = Restore((export.steps, export.steps + export.resume_steps),
                      None if not_restoring["saver"] else saver_prefix,
                      ref_first.signature_checkpoint if signature_restorable and not not_restoring["signature"] else None,
                      None if not_restoring["weights"] else weights_prefix)
    got = timed_run(runtime, export, workdir, restore, clock)
    (ran if ran is not None else {})[runtime.name] = got
    resumed: list[Trajectory] = []

    def resume_once() -> Trajectory:  # Python resuming from what this runtime saved, run once (timed: resume)
        with clock.stage(runtime.name, "resume"):
            if not resumed and not can.saves_by_saver:  # no saver: from its save signature's checkpoint, if any
                if not signature_restorable:
                    raise NotApplicable(f"{runtime.not_saving}, and {checks.BY_NAME['restore.signature.loss'].missing}")
                resumed.append(resume_by_signature(export, got.signature_checkpoint, workdir / "resume", python))
            if not resumed:
                resumed.append(resume(export, got.saver_checkpoint, workdir / "resume", python))
        (resumes if resumes is not None else {})[runtime.name] = resumed[0]
        if resumed[0].failure:
            raise HarnessError(f"{python.name} could not resume from {runtime.name}'s checkpoint "
                               f"({resumed[0].failure.stage}): {resumed[0].failure.error}")
        return resumed[0]

    expected = expected or {}
    judging = Judging(export, ref_first, ref_second, got, tolerance, band, resume_once,
                      expected.get("resume" if can.saves_by_saver else "signature", ref_second))
    with clock.checks(runtime.name):
        out = [_plan_check(check, runtime, export, got, judging) for check in checks.PLAN]
        for way in RESTORE_WAYS:
            why_not = {  # what the export (or the harness) lacks first, then what the runtime cannot do
                "saver": saver_why_not, "weights": weights_why_not,
                "signature": "" if signature_restorable else checks.BY_NAME["restore.signature.loss"].missing}[way] \
                or not_restoring[way]
            out += _restore_checks(runtime.name, export, way, got, expected.get(way, ref_second), judging.variables,
                                   judging.trajectory, why_not)
    unreleased = got.notes.get("unreleased_native_pointers")
    if unreleased is not None:
        out.append(Result(runtime.name, export.name, "tensors.closed", unreleased == 0,
                          f"{unreleased} native tensors still alive after the calls returned"))
    return out


def timed_run(runtime, export: Export, workdir: Path, restore: Restore, clock: Clock) -> Trajectory:
    """The runtime's run of the export's first steps and restore part, its seconds on `clock` by stage."""
    started = time.perf_counter()
    got = runtime.run(export.saved_model, export.data, range(export.steps), workdir, export.interface, restore)
    clock.request(runtime.name, time.perf_counter() - started, worker_seconds(got))
    return got


def worker_seconds(got: Trajectory) -> dict[str, float]:
    """The stages' seconds a worker reported for a run and its restored parts (worker.run_plan)."""
    seconds = dict(got.notes.get("seconds", {}))
    for part in got.restored.values():
        for stage, s in part.notes.get("seconds", {}).items():
            seconds[stage] = seconds.get(stage, 0.0) + s
    return seconds


@dataclass
class Judging:
    """What a check measures one runtime's run with (checks.Check.measure): the run, the reference's two
    parts, and comparisons held to the runtime's tolerance and drift band."""
    export: Export
    ref_first: Trajectory
    ref_second: Trajectory
    got: Trajectory
    tolerance: object  # check -> relative tolerance
    band: dict | None
    resumed: object  # () -> Python's run resumed from what the runtime saved (run once)
    resume_expected: Trajectory | None = None  # what that resume must equal: the uninterrupted second part, or
    # Python's own resume where the checkpoint is not the whole training state (own_resumes)

    def variables(self, check: str, expected_prefix: str, actual_prefix: str) -> compare.Comparison:
        expected, actual = checkpoints.comparable(expected_prefix, actual_prefix)
        return compare.compare(expected, actual, self.tolerance(check), checkpoints.variable_names(expected_prefix),
                               self.band)

    def trajectory(self, check: str, expected: dict, actual: dict) -> compare.Comparison:
        return compare.compare(expected, actual, self.tolerance(check), band=self.band)


def _plan_check(check: checks.Check, runtime, export: Export, got: Trajectory, judging: Judging) -> Result:
    """One check of the plan: not applicable (the export lacks what it needs), failed or blocked by the
    stage the run failed at, or measured."""
    failed = got.failure.stage if got.failure else None
    result = Result(runtime.name, export.name, check.name, None)
    if check.requires and not getattr(export.interface, check.requires):
        result.detail, result.outcome = check.missing, NOT_APPLICABLE
    elif check.needs and not getattr(runtime.capabilities, check.needs):
        result.detail, result.outcome = runtime.why_not(check.needs), NOT_APPLICABLE
    elif check.stage == failed and check.name == FIRST_CHECK_OF_STAGE[check.stage]:
        result.passed, result.detail = False, f"failed at {failed}: {got.failure.error}"
    elif failed and STAGES.index(check.stage) >= STAGES.index(failed):
        result.detail, result.outcome = f"blocked by {export.name}.{FIRST_CHECK_OF_STAGE[failed]}", BLOCKED
    elif check.measure is None:
        result.passed, result.detail = True, "ok"
    else:
        try:
            result.comparison = check.measure(judging)
            result.passed, result.detail = result.comparison.ok, result.comparison.summary()
        except NotApplicable as e:  # what it measures cannot be had from this export and runtime, said why
            result.detail, result.outcome = str(e), NOT_APPLICABLE
            return result
        except HarnessError as e:  # e.g. a checkpoint that cannot be read: this check fails, by name
            result.passed, result.detail = False, str(e)
        if check.name == "train.loss":
            result.notes["losses"] = got.losses
    return result


def _restore_checks(runtime: str, export: Export, way: str, got: Trajectory, ref_second: Trajectory, variables,
                    trajectory, why_not: str) -> list[Result]:
    """restore.<way>.loss and restore.<way>.variables: the restored part against the reference's second part
    (both not applicable, `why_not`, when the harness cannot check that way)."""
    loss, variables_check = f"restore.{way}.loss", f"restore.{way}.variables"
    results = [Result(runtime, export.name, loss, None), Result(runtime, export.name, variables_check, None)]
    part = got.restored.get(way)
    if why_not:
        for r in results:
            r.detail, r.outcome = why_not, NOT_APPLICABLE
        return results
    if part is None:  # the plan never reached the restore part: the export did not load
        for r in results:
            r.detail, r.outcome = f"blocked by {export.name}.load", BLOCKED
        return results
    failed = part.failure.stage if part.failure else None
    first = export.steps
    if failed and failed not in ("save", "save_signature", "weights"):  # no losses: load, restore, train, or the worker died
        results[0].passed, results[0].detail = False, f"failed at {failed} (restore by {way}): {part.failure.error}"
        results[1].detail, results[1].outcome = f"blocked by {export.name}.{loss}", BLOCKED
        return results
    # The restored part's steps are named by what was asked (export.steps on), not by the runtime's own count.
    results[0].comparison = trajectory(loss, outputs_by_step(ref_second), outputs_by_step(part, first))
    results[0].passed, results[0].detail = results[0].comparison.ok, results[0].comparison.summary()
    results[0].notes["losses"] = part.losses
    results[0].notes["first_step"] = first
    if failed:
        results[1].passed, results[1].detail = False, f"failed at {failed} (restore by {way}): {part.failure.error}"
        return results
    try:
        if way == "weights":  # by value: get_weights' outputs, by name
            results[1].comparison = trajectory(variables_check, ref_second.weights, part.weights)
        else:
            expected, actual = ((ref_second.saver_checkpoint, part.saver_checkpoint) if way == "saver"
                                else (ref_second.signature_checkpoint, part.signature_checkpoint))
            results[1].comparison = variables(variables_check, expected, actual)
        results[1].passed, results[1].detail = results[1].comparison.ok, results[1].comparison.summary()
    except HarnessError as e:
        results[1].passed, results[1].detail = False, str(e)
    return results


def resume_by_signature(export: Export, prefix: str, workdir: Path, python) -> Trajectory:  # pragma: no mutate block (runs TF)
    """`python` loads the export, restores `prefix` with its restore signature and trains the remaining steps
    (what a runtime with no saver, TFLite, leaves Python to resume from)."""
    steps = (export.steps, export.steps + export.resume_steps)
    ran = python.run(export.saved_model, export.data, range(0), workdir / "run", export.interface,
                     Restore(steps, signature=prefix), variables_only=True)
    part = ran.restored.get("signature")
    if part is None:
        part = Trajectory(steps[0], failure=ran.failure or Failure("restore", "the restore part did not run"))
    part.notes["resumed_by"] = "signature"  # what resume.variables compares: the save signature's checkpoints
    return part


def resume(export: Export, prefix: str, workdir: Path, python) -> Trajectory:
    """`python` (the reference runtime) loads what a runtime saved and trains the remaining steps.

    A checkpoint inside a SavedModel (Python's re-export) is resumed by loading that SavedModel;
    a bare checkpoint (Session.save) is placed into a copy of the export: the export itself is
    never written.
    """
    steps = range(export.steps, export.steps + export.resume_steps)
    saved_model = Path(prefix).parent.parent
    if not (saved_model / "saved_model.pb").exists():
        saved_model = with_variables(export.saved_model, prefix, workdir / "export")
    return python.run(saved_model, export.data, steps, workdir / "run", export.interface, variables_only=True)


LISTED = " [listed in "  # how classify marks the detail of a listed check that failed otherwise


def classify(results: list[Result], expectations: tuple[Expectation, ...]) -> None:
    """Sets each result's outcome: PASS, FAIL, XFAIL (listed and failed as listed) or XPASS (listed, passed).

    A failure is expected when an entry that matches it explains it (its error, and its size when the
    entry bounds one), whatever the order of the entries; else it fails, with why the first entry that
    lists it does not explain it."""
    for result in results:
        if result.outcome in (BLOCKED, NOT_APPLICABLE):
            continue
        listed = [e for e in expectations if e.matches(result.test_id, result.exporter)]
        if result.passed:
            result.expectation = listed[0] if listed else None
            result.outcome = XPASS if listed else PASS
            continue
        why = [e.mismatch(result.detail, result.comparison) for e in listed]
        explained = [e for e, reason in zip(listed, why) if reason is None]
        result.expectation = (explained or listed or [None])[0]
        result.outcome = XFAIL if explained else FAIL
        if listed and not explained:
            result.detail += f"{LISTED}{listed[0].file.name}, but {why[0]}]"
