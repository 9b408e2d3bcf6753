"""The verdict engine alone, fast (no TensorFlow run, no worker): checks, outcomes, reports, exit status.

A fake runtime returns trajectories made here, and checkpoints are dicts kept in memory, so
every path through runner.check_runtime (pass, divergence, failure at a stage, blocked, not
applicable, the restore part, a leak) and everything that reports it is exercised in
milliseconds. `nox -s mutants` runs these against mutated copies of the engine.
"""

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main as cli
from harness.plan import compare
from harness.runs import expectations, runner
from harness.reports import report, report_files
from harness.plan.interface import ZOO
from harness.runs.runner import BLOCKED, CHECKS, FAIL, NOT_APPLICABLE, PASS, XFAIL, XPASS, Result
from harness.plan.trajectory import Failure, Trajectory
from harness.runtimes import Capabilities, Runtime

STEPS, RESUME = 3, 2
CASE = "mlp.tf_keras"
# The fake world's export has every part a check needs: a metric beside the loss, weights by value.
FULL = replace(ZOO, metrics=("accuracy",), get_weights="get_weights", set_weights="set_weights")
WEIGHTS = "ref1/weights.npz"  # what set_weights is given (runner.weights_for, faked by the store fixture)


class Store:
    """Checkpoints in memory: prefix -> {key: array}."""

    def __init__(self):
        self.saved: dict[str, dict] = {}

    def put(self, prefix: str, values: dict) -> str:
        self.saved[prefix] = {k: np.asarray(v) for k, v in values.items()}
        return prefix

    def comparable(self, expected: str, actual: str):
        from harness.errors import HarnessError

        for prefix in (expected, actual):
            if prefix not in self.saved:
                raise HarnessError(f"{prefix}.index: checkpoint index does not exist")
        return self.saved[expected], self.saved[actual]


def weights(step: int, way: str = "saver") -> dict:
    """The variables after `step` steps; the signature's checkpoint has other keys than the saver's."""
    if way == "signature":
        return {"sig/w": np.full(3, step, np.float32), "sig/iteration": np.array(step, np.int64)}
    return {"w": np.full(3, step, np.float32), "iteration": np.array(step, np.int64)}


def part(store: Store, name: str, first: int, count: int, offset: float = 0.0) -> Trajectory:
    """A trajectory on the reference's path (or `offset` off it): losses 1/(s+1), checkpoints of the last step."""
    t = Trajectory(first)
    t.losses = [np.float32(1.0 / (s + 1) + offset) for s in range(first, first + count)]
    t.metrics = [{"accuracy": np.float32(0.5 + s / 10 + offset)} for s in range(first, first + count)]
    t.predictions = {"y": np.arange(4, dtype=np.float32) * (first + count)}
    t.weights = {"w": np.full(3, first + count + offset, np.float32)}
    t.saver_checkpoint = store.put(f"{name}/saver", weights(first + count))
    t.signature_checkpoint = store.put(f"{name}/signature", weights(first + count, "signature"))
    return t


DATA = {"train.x": np.zeros((5, 2, 1), np.float32)}  # what the runtimes must be given, as it is


def to_junit(results) -> str:
    """JUnit XML from Result objects, as a run writes it: through their JSON."""
    return report.junit_from_json(report.to_json(results, {}, 0.0))


class FakeRuntime(Runtime):
    kind = "fake"

    def __init__(self, name, make, **capabilities):
        self.name, self.make = name, make
        self.version = name.rsplit("-", 1)[-1]
        self.same_outputs_as = "java" if name.startswith("java-plain-") else None
        self.capabilities = Capabilities(**capabilities)
        self.not_restoring = "trains from the export only"
        self.calls = []

    def run(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.make(kwargs.get("restore", args[5] if len(args) > 5 else None))


class FakePython:
    """The reference runtime resuming from what a runtime saved: on the path unless told otherwise."""

    def __init__(self, store, trajectory=None):
        self.name, self.store, self.trajectory = "python-x", store, trajectory
        self.calls = []

    def run(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        resumed = self.trajectory or part(self.store, "resumed", STEPS, RESUME)
        restore = kwargs.get("restore") or (args[5] if len(args) > 5 else None)
        if restore is not None and restore.signature:  # a resume through the restore signature: its restore part
            first = Trajectory(0)
            first.restored["signature"] = resumed
            return first
        return resumed


LABELS = {"w": "layer/w", "sig/w": "layer/w"}  # checkpoint key -> variable name, as the object graph gives it


@pytest.fixture
def store(monkeypatch):
    s = Store()
    s.copies = []
    monkeypatch.setattr(runner.checkpoints, "comparable", s.comparable)
    monkeypatch.setattr(runner.checkpoints, "variable_names", lambda prefix: LABELS if prefix in s.saved else None)

    def with_variables(saved_model, prefix, directory):
        s.copies.append((saved_model, prefix, directory))
        return directory / "copied"
    monkeypatch.setattr(runner, "with_variables", with_variables)
    real_weights_for = runner.weights_for  # writes the reference's weights and runs Python: test_weights_for has it
    monkeypatch.setattr(runner, "weights_for", lambda e, ref, python, workdir: (WEIGHTS, "") if e.interface.get_weights
                        else real_weights_for(e, ref, python, workdir))
    return s


SAVED_MODEL = Path("/nonexistent/saved_model")
WORK = Path("/nonexistent/work")


def export(interface=FULL) -> runner.Export:
    return runner.Export(CASE, SAVED_MODEL, DATA, STEPS, RESUME, "2.0", interface)


def reference(store):
    return part(store, "ref1", 0, STEPS), part(store, "ref2", STEPS, RESUME)


def good(store, offset=0.0, restored_offset=0.0):
    def make(restore):
        t = part(store, "rt", 0, STEPS, offset)
        if restore:
            for way in ("saver", "signature", "weights"):
                if getattr(restore, way):
                    t.restored[way] = part(store, f"rt-{way}", *restore.steps[:1], restore.steps[1] - restore.steps[0],
                                           restored_offset)
        return t
    return make


def check(store, make, interface=FULL, python=None, tolerance=lambda check: 0.0) -> dict[str, Result]:
    runtime = FakeRuntime("rt-1", make)
    e = export(interface)
    results = runner.check_runtime(runtime, e, reference(store), WORK, python or FakePython(store), tolerance)
    assert all(r.runtime == "rt-1" and r.case == CASE for r in results)
    by_check = {r.check: r for r in results}
    assert len(by_check) == len(results)
    return by_check


def test_a_runtime_on_the_reference_path_passes_every_check_bit_exactly(store):
    results = check(store, good(store))
    assert list(results) == list(CHECKS)
    assert all(r.passed is True and r.outcome == "" for r in results.values())
    assert results["load"].detail == "ok" and results["load"].comparison is None
    for name, r in results.items():
        if name != "load":
            assert r.comparison.verdict == compare.BIT_EXACT and r.detail == r.comparison.summary(), name
    assert [float(l) for l in results["train.loss"].notes["losses"]] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert [float(l) for l in results["restore.saver.loss"].notes["losses"]] == [0.25, pytest.approx(0.2)]
    assert results["restore.signature.loss"].comparison.compared == 2 * RESUME  # loss and accuracy per step
    # A restore part trains on from the export's steps: its plotted losses start there.
    assert [(name, r.notes.get("first_step")) for name, r in results.items() if "first_step" in r.notes] == [
        ("restore.saver.loss", STEPS), ("restore.signature.loss", STEPS), ("restore.weights.loss", STEPS)]
    # Every scalar output of the train signature is compared, each by name: the loss and its metrics.
    assert results["train.loss"].comparison.compared == 2 * STEPS
    assert results["restore.weights.loss"].comparison.compared == 2 * RESUME
    assert results["checkpoint.weights"].comparison.compared == 1 == results["restore.weights.variables"].comparison.compared


def test_the_plan_asks_for_the_reference_checkpoints_of_step_k(store):
    runtime, python = FakeRuntime("rt-1", good(store)), FakePython(store)
    ref = reference(store)
    runner.check_runtime(runtime, export(), ref, WORK, python)
    ((args, kwargs),) = runtime.calls
    (saved_model, data, steps, workdir, interface, restore), = [args + tuple(kwargs.values())]
    assert (saved_model, data, steps, workdir, interface) == (SAVED_MODEL, DATA, range(0, STEPS), WORK, FULL)
    assert restore.steps == (STEPS, STEPS + RESUME)
    assert (restore.saver, restore.signature, restore.weights) == (ref[0].saver_checkpoint, ref[0].signature_checkpoint,
                                                                   WEIGHTS)
    # Python resumes from a copy of the export holding what the runtime saved (a bare checkpoint).
    assert store.copies == [(SAVED_MODEL, "rt/saver", WORK / "resume" / "export")]
    ((args, kwargs),) = python.calls
    assert args == (WORK / "resume" / "export" / "copied", DATA, range(STEPS, STEPS + RESUME), WORK / "resume" / "run",
                    FULL)
    assert kwargs == {"variables_only": True}  # what a resume saves is read back as variables, never shipped


def test_python_resumes_a_checkpoint_inside_a_saved_model_by_loading_that_saved_model(store, tmp_path):
    inside = tmp_path / "reexport"
    (inside / "variables").mkdir(parents=True)
    (inside / "saved_model.pb").write_bytes(b"")
    prefix = str(inside / "variables" / "variables")

    def make(restore):
        t = good(store)(restore)
        t.saver_checkpoint = store.put(prefix, weights(STEPS))
        return t
    python = FakePython(store)
    runtime = FakeRuntime("rt-1", make)
    results = {r.check: r for r in runner.check_runtime(runtime, export(), reference(store), WORK, python)}
    assert results["resume.loss"].passed and store.copies == []
    assert python.calls[0][0][0] == inside


def test_a_diverging_loss_names_its_step_and_spares_the_other_checks(store):
    def make(restore):
        t = good(store)(restore)
        t.losses[2] = np.nextafter(t.losses[2], np.float32(2))
        return t
    results = check(store, make)
    loss = results["train.loss"]
    assert loss.passed is False and loss.comparison.verdict == compare.DIVERGED and loss.comparison.max_ulp == 1
    assert loss.detail.startswith("diverged") and "first: step 2" in loss.detail
    assert all(r.passed for name, r in results.items() if name != "train.loss")


@pytest.mark.parametrize("check_name, damage", [
    ("predict", lambda t, s: t.predictions.update(y=-t.predictions["y"])),
    ("checkpoint.saver", lambda t, s: s.put(t.saver_checkpoint, {**weights(STEPS), "iteration": STEPS + 1})),
    ("checkpoint.signature", lambda t, s: s.put(t.signature_checkpoint, {**weights(STEPS, "signature"),
                                                                          "sig/w": np.zeros(3, np.float32)})),
    ("checkpoint.weights", lambda t, s: t.weights.update(w=np.zeros(3, np.float32))),
    ("checkpoint.weights", lambda t, s: t.weights.clear()),  # the getter's outputs missing: diverged, not passed
    ("train.loss", lambda t, s: t.metrics[1].update(accuracy=np.float32(0.99))),  # a metric alone
    ("train.loss", lambda t, s: t.metrics.clear()),  # a runtime that drops the metrics
])
def test_each_comparison_reports_its_own_divergence(store, check_name, damage):
    def make(restore):
        t = good(store)(restore)
        damage(t, store)
        return t
    results = check(store, make)
    assert results[check_name].passed is False and results[check_name].comparison.verdict == compare.DIVERGED
    assert [n for n, r in results.items() if not r.passed] == [check_name]


def test_tolerance_is_asked_per_check(store):
    asked = []

    def tolerance(name):
        asked.append(name)
        return 1e-3 if name == "train.loss" else 0.0

    def make(restore):
        t = good(store)(restore)
        t.losses[0] = np.nextafter(t.losses[0], np.float32(2))
        return t
    results = check(store, make, tolerance=tolerance)
    assert results["train.loss"].passed and results["train.loss"].comparison.verdict == compare.WITHIN
    assert results["train.loss"].comparison.relative_tolerance == 1e-3
    assert set(asked) == set(CHECKS) - {"load"}


@pytest.mark.parametrize("stage, first_failed, blocked", [
    ("train", "train.loss", ["predict", "checkpoint.saver", "checkpoint.signature", "resume.loss", "resume.variables",
                             "checkpoint.weights"]),
    ("predict", "predict", ["checkpoint.saver", "checkpoint.signature", "resume.loss", "resume.variables",
                            "checkpoint.weights"]),
    ("save", "checkpoint.saver", ["checkpoint.signature", "resume.loss", "resume.variables", "checkpoint.weights"]),
    ("save_signature", "checkpoint.signature", ["checkpoint.weights"]),
    ("weights", "checkpoint.weights", []),
])
def test_a_failure_fails_the_first_check_of_its_stage_and_blocks_the_later_ones(store, stage, first_failed, blocked):
    def make(restore):
        t = good(store)(restore)
        t.failure = Failure(stage, "Boom: it broke")
        return t
    results = check(store, make)
    assert results[first_failed].passed is False and results[first_failed].outcome == ""
    assert results[first_failed].detail == f"failed at {stage}: Boom: it broke"
    for name in blocked:
        assert results[name].outcome == BLOCKED and results[name].passed is None, name
        assert results[name].detail == f"blocked by {CASE}.{first_failed}"
    passed = [n for n, r in results.items() if r.passed]
    assert passed == [n for n in CHECKS if n not in blocked and n != first_failed]  # the restore part is its own


def test_an_export_that_does_not_load_blocks_everything_after_load(store):
    def make(restore):
        t = Trajectory(0)
        t.failure = Failure("load", "NotFound: no such export")
        return t
    results = check(store, make)
    assert results["load"].passed is False and results["load"].detail == "failed at load: NotFound: no such export"
    for name in CHECKS[1:]:
        assert results[name].outcome == BLOCKED and results[name].passed is None, name
    assert results["restore.saver.loss"].detail == f"blocked by {CASE}.load"


@pytest.mark.parametrize("way", ["saver", "signature", "weights"])
@pytest.mark.parametrize("stage", ["load", "restore", "train", "restore.saver.train"])
def test_a_restore_part_that_fails_fails_its_loss_check_and_blocks_its_variables(store, way, stage):
    def make(restore):
        t = good(store)(restore)
        t.restored[way] = Trajectory(STEPS)
        t.restored[way].failure = Failure(stage, "DataLoss: bad checkpoint")
        return t
    results = check(store, make)
    loss, variables = results[f"restore.{way}.loss"], results[f"restore.{way}.variables"]
    assert loss.passed is False and loss.detail == f"failed at {stage} (restore by {way}): DataLoss: bad checkpoint"
    assert variables.outcome == BLOCKED and variables.detail == f"blocked by {CASE}.restore.{way}.loss"
    assert [n for n, r in results.items() if not r.passed] == [f"restore.{way}.loss", f"restore.{way}.variables"]


@pytest.mark.parametrize("way, stage", [("saver", "save"), ("signature", "save_signature"), ("weights", "weights")])
def test_a_restore_part_that_cannot_save_still_compares_its_losses(store, way, stage):
    def make(restore):
        t = good(store)(restore)
        t.restored[way].failure = Failure(stage, "IOError: disk full")
        return t
    results = check(store, make)
    assert results[f"restore.{way}.loss"].passed is True
    variables = results[f"restore.{way}.variables"]
    assert variables.passed is False and variables.detail == f"failed at {stage} (restore by {way}): IOError: disk full"


@pytest.mark.parametrize("way", ["saver", "signature", "weights"])
def test_a_restore_that_loses_state_diverges(store, way):
    def make(restore):
        t = good(store)(restore)
        t.restored[way] = part(store, f"bad-{way}", STEPS, RESUME, offset=0.5)
        store.put(t.restored[way].saver_checkpoint, weights(0))
        store.put(t.restored[way].signature_checkpoint, weights(0, "signature"))
        return t
    results = check(store, make)
    for what in ("loss", "variables"):
        r = results[f"restore.{way}.{what}"]
        assert r.passed is False and r.comparison.verdict == compare.DIVERGED, what
    named = "w[0]: expected" if way == "weights" else "(layer/w): expected"  # by output name; by the object graph
    assert named in results[f"restore.{way}.variables"].detail
    assert [n for n, r in results.items() if not r.passed] == [f"restore.{way}.loss", f"restore.{way}.variables"]


def test_restore_signature_checks_are_not_applicable_without_save_and_restore_signatures(store):
    for interface in (replace(FULL, restore=None), replace(FULL, save=None)):
        runtime = FakeRuntime("rt-1", good(store))
        results = {r.check: r for r in runner.check_runtime(runtime, export(interface), reference(store),
                                                             WORK, FakePython(store))}
        restore = runtime.calls[0][0][5]
        assert restore.signature is None and restore.saver is not None
        for name in ("restore.signature.loss", "restore.signature.variables"):
            assert results[name].outcome == NOT_APPLICABLE and results[name].passed is None
            assert results[name].detail == "export has no save and restore signatures"
        assert results["restore.saver.loss"].passed and results["restore.saver.variables"].passed
    no_save = check(store, good(store), replace(FULL, save=None))
    assert no_save["checkpoint.signature"].outcome == NOT_APPLICABLE
    assert no_save["checkpoint.signature"].detail == "export has no save signature"
    no_predict = check(store, good(store), replace(FULL, predict=None))
    assert no_predict["predict"].outcome == NOT_APPLICABLE
    assert no_predict["predict"].detail == "export has no inference signature"


def test_weights_checks_are_not_applicable_without_get_and_set_weights(store):
    runtime = FakeRuntime("rt-1", good(store))
    results = {r.check: r for r in runner.check_runtime(runtime, export(ZOO), reference(store), WORK, FakePython(store))}
    assert runtime.calls[0][0][5].weights is None
    assert results["checkpoint.weights"].outcome == NOT_APPLICABLE
    assert results["checkpoint.weights"].detail == "export has no get_weights signature (weights by value)"
    for name in ("restore.weights.loss", "restore.weights.variables"):
        assert results[name].outcome == NOT_APPLICABLE and results[name].passed is None
        assert results[name].detail == "export has no get_weights and set_weights signatures (weights by value)"
    assert all(r.passed for name, r in results.items() if "weights" not in name)


def test_a_resume_that_fails_fails_both_resume_checks_by_name(store):
    broken = Trajectory(STEPS)
    broken.failure = Failure("train", "Oops: cannot train")
    results = check(store, good(store), python=FakePython(store, broken))
    for name in ("resume.loss", "resume.variables"):
        assert results[name].passed is False
        assert results[name].detail == "python-x could not resume from rt-1's checkpoint (train): Oops: cannot train"
    assert [n for n, r in results.items() if not r.passed] == ["resume.loss", "resume.variables"]


def test_a_resume_off_the_path_diverges(store):
    results = check(store, good(store), python=FakePython(store, part(store, "off", STEPS, RESUME, offset=1.0)))
    assert results["resume.loss"].comparison.verdict == compare.DIVERGED
    assert "first: step 3" in results["resume.loss"].detail


def test_an_unreadable_checkpoint_fails_its_check_by_name(store):
    def make(restore):
        t = good(store)(restore)
        t.saver_checkpoint = "missing/prefix"
        return t
    results = check(store, make)
    assert results["checkpoint.saver"].passed is False
    assert results["checkpoint.saver"].detail == "missing/prefix.index: checkpoint index does not exist"


@pytest.mark.parametrize("leaked, passed", [(0, True), (2, False)])
def test_tensors_left_open_are_counted(store, leaked, passed):
    def make(restore):
        t = good(store)(restore)
        t.notes["unreleased_native_pointers"] = leaked
        return t
    results = check(store, make)
    closed = results["tensors.closed"]
    assert closed.passed is passed and closed.detail == f"{leaked} native tensors still alive after the calls returned"
    assert list(results)[-1] == "tensors.closed"


def test_check_export_blocks_every_runtime_when_the_reference_is_nondeterministic(store, monkeypatch):
    ref = reference(store)
    monkeypatch.setattr(runner, "reference", lambda e, python, workdir: ref)
    again = part(store, "again", 0, STEPS, offset=1e-3)
    monkeypatch.setattr(runner, "repeat", lambda e, python, workdir: again)
    runtime = FakeRuntime("rt-1", good(store))
    results = runner.check_export(export(), [runtime], FakePython(store), WORK)
    assert [(r.runtime, r.check, r.passed) for r in results[:2]] == [("python-x", "reference", True),
                                                                     ("python-x", "reference.deterministic", False)]
    assert results[1].detail.startswith("two Python runs of the same steps differ: diverged")
    assert [r.check for r in results[2:]] == list(CHECKS)
    assert all(r.outcome == BLOCKED and r.detail == f"blocked by {CASE}.reference.deterministic" for r in results[2:])
    assert not runtime.calls and {r.exporter for r in results} == {"2.0"}
    assert {(r.runtime, r.case) for r in results[2:]} == {("rt-1", CASE)}
    assert results[0].detail == "ok" and results[0].notes["losses"] == ref[0].losses + ref[1].losses
    assert results[0].case == CASE


def test_a_repeat_that_fails_is_reported_as_nondeterminism_with_its_error(store, monkeypatch):
    monkeypatch.setattr(runner, "reference", lambda e, python, workdir: reference(store))
    broken = Trajectory(0)
    broken.failure = Failure("load", "Crash: worker died")
    monkeypatch.setattr(runner, "repeat", lambda e, python, workdir: broken)
    results = runner.check_export(export(), [FakeRuntime("rt-1", good(store))], FakePython(store), WORK)
    assert results[1].detail == "two Python runs of the same steps differ: Crash: worker died"


def test_check_export_runs_every_runtime_against_one_reference(store, monkeypatch):
    ref, e, python, calls = reference(store), export(), FakePython(store), []
    monkeypatch.setattr(runner, "reference", lambda *args: calls.append(("reference", *args)) or ref)
    monkeypatch.setattr(runner, "repeat", lambda *args: calls.append(("repeat", *args)) or part(store, "again", 0, STEPS))
    runtimes = [FakeRuntime("rt-1", good(store)), FakeRuntime("rt-2", good(store, offset=0.25, restored_offset=0.25))]
    asked = []

    def tolerance(runtime, test_id, exporter):
        asked.append((runtime, test_id, exporter))
        return 0.9 if (runtime, test_id) == ("rt-2", f"{CASE}.train.loss") else 0.0
    results = runner.check_export(e, runtimes, python, WORK, tolerance)
    assert calls == [("reference", e, python, WORK / "reference"), ("repeat", e, python, WORK / "reference-again")]
    assert [(r.runtime, r.case, r.check, r.passed, r.detail) for r in results[:1]] == [
        ("python-x", CASE, "reference", True, "ok")]
    assert results[1].check == "reference.deterministic" and results[1].passed
    ran = {**runner.outputs_by_step(ref[0]), **ref[0].predictions}
    assert results[1].detail == compare.compare(ran, ran).summary()
    assert results[0].notes["losses"] == ref[0].losses + ref[1].losses
    by = {(r.runtime, r.check): r for r in results}
    assert by["rt-1", "train.loss"].passed and by["rt-2", "train.loss"].comparison.verdict == compare.WITHIN
    assert not by["rt-2", "restore.saver.loss"].passed
    assert ("rt-1", f"{CASE}.train.loss", "2.0") in asked and ("rt-2", f"{CASE}.restore.signature.variables", "2.0") in asked
    assert {r.exporter for r in results} == {"2.0"} and len(results) == 2 + 2 * len(CHECKS)
    assert runtimes[0].calls[0][0][3] == WORK / "rt-1" and runtimes[1].calls[0][0][3] == WORK / "rt-2"


def test_check_export_reports_a_reference_that_cannot_run(store, monkeypatch):
    from harness.errors import HarnessError

    def broken(e, python, workdir):
        raise HarnessError("the Python reference run failed at train: Nope")
    monkeypatch.setattr(runner, "reference", broken)
    results = runner.check_export(export(), [FakeRuntime("rt-1", good(store))], FakePython(store), WORK)
    assert {(r.runtime, r.case) for r in results[1:]} == {("rt-1", CASE)} and results[0].case == CASE
    assert (results[0].check, results[0].passed, results[0].detail) == (
        "reference", False, "the Python reference run failed at train: Nope")
    assert all(r.outcome == BLOCKED and r.detail == f"blocked by {CASE}.reference" for r in results[1:])


# --- outcomes -------------------------------------------------------------------------------------

def listed(tmp_path, body: str, runtime="rt-1") -> expectations.Expectations:
    """`runtime`'s expectations from one file, rt-1.toml, whose entries all name it."""
    (tmp_path / "rt-1.toml").write_text(body.replace("]]\n", f']]\nruntime = "{runtime}"\n'))
    return expectations.load(runtime, tmp_path)


ENTRY = '[[expected_failure]]\ncase = "mlp.*.train.loss"\nerror = "^failed at train: Boom"\nreason = "r"\nlinks = ["https://e.org/1"]\n'


def test_classify_leaves_blocked_and_not_applicable_alone(tmp_path):
    results = [Result("rt-1", CASE, "train.loss", None, "blocked", outcome=BLOCKED),
               Result("rt-1", CASE, "predict", None, "n/a", outcome=NOT_APPLICABLE)]
    runner.classify(results, listed(tmp_path, ENTRY).failures)
    assert [r.outcome for r in results] == [BLOCKED, NOT_APPLICABLE] and results[0].expectation is None


def test_an_expectation_is_scoped_by_exporter(tmp_path):
    entries = listed(tmp_path, ENTRY.replace('links', 'exporter = "2.1*"\nlinks'))
    for exporter, outcome in (("2.15.0", XFAIL), ("2.0", FAIL)):
        r = Result("rt-1", CASE, "train.loss", False, "failed at train: Boom", exporter=exporter)
        runner.classify([r], entries.failures)
        assert r.outcome == outcome, exporter
    assert (entries.failures[0].exporter, entries.failures[0].case) == ("2.1*", "mlp.*.train.loss")


def test_a_list_of_case_globs_matches_any_of_them_and_nothing_else(tmp_path):
    entries = listed(tmp_path, '[[expected_failure]]\ncase = ["m.*.train.loss", "m.*.checkpoint.*"]\nerror = "^diverged"\nmax_relative = 0.01\n'
                               'reason = "r"\nlinks = ["https://e.org"]\n'
                               '[[tolerance]]\ncase = ["lstm.*.train.loss", "cnn.*"]\nrelative = 1e-6\nreason = "r"\n')
    (entry,) = entries.failures
    assert entry.case == "m.*.train.loss | m.*.checkpoint.*"
    hits = [c for c in ("train.loss", "checkpoint.saver", "load", "tensors.closed", "predict") if entry.matches(f"m.r.{c}", "2.0")]
    assert hits == ["train.loss", "checkpoint.saver"]
    assert [entries.relative_tolerance(t, "2.0") for t in ("lstm.r.train.loss", "cnn.r.predict", "lstm.r.predict")] == [
        1e-6, 1e-6, 0.0]


def test_tolerances_match_case_and_exporter(tmp_path):
    entries = listed(tmp_path, '[[tolerance]]\ncase = "lstm.*"\nrelative = 1e-6\nreason = "rounding"\nexporter = "2.2*"\n'
                               '[[tolerance]]\ncase = "lstm.*"\nrelative = 1e-5\nreason = "older"\n')
    assert entries.relative_tolerance("lstm.tf_keras.train.loss", "2.21.0") == 1e-6
    assert entries.relative_tolerance("lstm.tf_keras.train.loss", "2.15.0") == 1e-5
    assert entries.relative_tolerance("mlp.tf_keras.train.loss", "2.21.0") == 0.0
    assert entries.tolerances[0].reason == "rounding" and entries.tolerances[0].file == tmp_path / "rt-1.toml"


@pytest.mark.parametrize("body, message", [
    ('[[tolerance]]\ncase = "x"\nrelative = 0.5\nreason = "r"\n', "'relative' must be a float in (0, 0.01), got 0.5"),
    ('[[tolerance]]\ncase = "x"\nrelative = 0.0\nreason = "r"\n', "'relative' must be a float in (0, 0.01), got 0.0"),
    ('[[tolerance]]\ncase = "x"\nrelative = 1\nreason = "r"\n', "'relative' must be a float in (0, 0.01), got 1"),
    ('[[tolerance]]\ncase = "x"\nrelative = 1e-6\n', "tolerance[0]: needs a 'reason'"),
    ('[[tolerance]]\ncase = "x"\nrelative = 1e-6\nreason = " "\n', "tolerance[0]: needs a 'reason'"),
    ('[[tolerance]]\ncase = []\nrelative = 1e-6\nreason = "r"\n', "tolerance[0]: 'case' must be a non-empty glob"),
    ('[[tolerance]]\ncase = "x"\nrelative = 1e-6\nreason = "r"\nexporter = ""\n', "'exporter' must be a TF version glob"),
    ('[[tolerance]]\ncase = "x"\nrelative = 1e-6\nreason = "r"\nwhy = "r"\n', "tolerance[0]: unknown keys ['why']"),
    ('[[expected_failure]]\ncase = "x"\nerror = "e"\nreason = "r"\nlinks = ["http://e.org"]\n', "at least one https:// link"),
    ('[[expected_failure]]\ncase = ""\nerror = "e"\nreason = "r"\nlinks = ["https://e.org"]\n', "'case' must be a non-empty glob"),
    ('[[expected_failure]]\ncase = ["a", 3]\nerror = "e"\nreason = "r"\nlinks = ["https://e.org"]\n', "'case' must be a non-empty glob"),
    ('[[expected_failure]]\ncase = ["a|b"]\nerror = "e"\nreason = "r"\nlinks = ["https://e.org"]\n', "'case' must be a non-empty glob"),
    ('[[expected_failure]]\ncase = "x"\nerror = 3\nreason = "r"\nlinks = ["https://e.org"]\n', "'error' must be a non-empty string"),
    ('[[expected_failure]]\ncase = "x"\nerror = "e"\nreason = "r"\nlinks = []\n', "at least one https:// link"),
    ('junk = 1\n', "unknown keys ['junk']"),
])
def test_bad_entries_are_rejected_with_their_place(tmp_path, body, message):
    from harness.errors import HarnessError

    with pytest.raises(HarnessError) as error:
        listed(tmp_path, body)
    assert message in str(error.value) and str(tmp_path / "rt-1.toml") in str(error.value)


def test_a_runtime_without_a_file_expects_nothing(tmp_path):
    assert expectations.load("rt-none", tmp_path) == expectations.Expectations()


def test_an_invalid_toml_file_is_named(tmp_path):
    from harness.errors import HarnessError

    (tmp_path / "rt-1.toml").write_text("runtime = [")
    with pytest.raises(HarnessError, match="rt-1.toml: not valid TOML"):
        expectations.load("rt-1", tmp_path)


def test_the_shipped_expectations_load(tmp_path):
    java = expectations.load("java-1.1.0")
    assert java.failures and java.tolerances and all(e.file.name == "expected_failures.toml" for e in java.failures)
    assert all(e.applies_to("java-1.1.0") for e in java.failures + java.tolerances)


# --- reports and exit status --------------------------------------------------------------------

def outcomes(tmp_path, *kinds) -> list[Result]:
    entry = listed(tmp_path, ENTRY).failures[0]
    made = []
    for i, kind in enumerate(kinds):
        r = Result("rt-1", f"case{i}.r", "train.loss", kind in (PASS, XPASS), f"detail {kind}", outcome=kind,
                   exporter="2.0")
        if kind in (PASS, XPASS, FAIL):
            r.comparison = compare.compare({"a": np.ones(2)}, {"a": np.ones(2) * (2 if kind == FAIL else 1)})
        if kind in (XFAIL, XPASS):
            r.expectation = entry
        made.append(r)
    return made


@pytest.mark.parametrize("kinds, failing", [
    ((PASS,), False), ((PASS, XFAIL, BLOCKED, NOT_APPLICABLE), False), ((PASS, FAIL), True), ((PASS, XPASS), True),
    ((XPASS,), True), ((FAIL,), True),
])
def test_a_run_fails_on_an_unexpected_failure_or_an_unexpected_pass(tmp_path, kinds, failing):
    results = outcomes(tmp_path, *kinds)
    assert cli.exit_status(results) == (1 if failing else 0)
    assert report.to_json(results, {}, 1.0)["ok"] is (not failing)
    suites = ET.fromstring(to_junit(results).split("\n", 1)[1])
    assert sum(int(s.get("failures")) for s in suites) == sum(k in (FAIL, XPASS) for k in kinds)
    assert len([c for c in suites.iter("testcase") if c.find("failure") is not None]) == sum(k in (FAIL, XPASS) for k in kinds)


def test_a_setup_failure_without_a_comparison_fails_the_run():
    r = Result("java-9", "", "setup", False, "the JVM cannot start", outcome=FAIL)
    assert cli.exit_status([r]) == 1 and r.id == "java-9/setup" and r.test_id == "setup"


def test_json_report_carries_every_result(tmp_path):
    results = outcomes(tmp_path, PASS, FAIL, XFAIL, XPASS, BLOCKED, NOT_APPLICABLE)
    doc = report.to_json(results, {"cpu": "x"}, 12.34)
    assert doc["environment"] == {"cpu": "x"} and doc["seconds"] == 12.3
    assert doc["summary"] == {PASS: 1, FAIL: 1, XFAIL: 1, XPASS: 1, BLOCKED: 1, NOT_APPLICABLE: 1}
    first = doc["results"][0]
    assert first["id"] == "2.0/rt-1/case0.r.train.loss" and first["outcome"] == PASS and first["detail"] == "detail PASS"
    assert (first["exporter"], first["runtime"], first["case"], first["check"]) == ("2.0", "rt-1", "case0.r", "train.loss")
    assert first["comparison"]["verdict"] == compare.BIT_EXACT and first["expectation"] is None
    assert doc["results"][1]["comparison"]["verdict"] == compare.DIVERGED
    assert doc["results"][2]["expectation"] == {"file": str(tmp_path / "rt-1.toml"), "case": "mlp.*.train.loss",
                                                "reason": "r", "links": ["https://e.org/1"]}
    assert doc["results"][4]["comparison"] is None
    json.dumps(doc)  # serializable


def test_junit_report_marks_each_outcome(tmp_path):
    results = outcomes(tmp_path, PASS, FAIL, XFAIL, XPASS, BLOCKED, NOT_APPLICABLE)
    results.append(Result("rt-2", "", "setup", False, "no JVM", outcome=FAIL))
    suites = ET.fromstring(to_junit(results).split("\n", 1)[1])
    assert suites.get("name") == "tf-training-conformance"
    (one, two) = suites
    assert (one.get("name"), one.get("tests"), one.get("failures"), one.get("skipped")) == ("rt-1", "6", "2", "3")
    assert (two.get("name"), two.get("tests"), two.get("failures"), two.get("skipped")) == ("rt-2", "1", "1", "0")
    cases = list(one)
    assert [c.get("classname") for c in cases[:1]] == ["rt-1.case0.r@2.0"] and cases[0].get("name") == "train.loss"
    assert list(two)[0].get("classname") == "rt-2.runtime"
    assert len(cases[0]) == 0  # PASS: nothing inside
    assert cases[1].find("failure").get("message") == "detail FAIL" and cases[1].find("failure").text == "detail FAIL"
    assert cases[2].find("skipped").get("message") == "expected failure: r https://e.org/1"
    assert cases[3].find("failure").get("message") == "expected to fail (rt-1.toml: mlp.*.train.loss) but passed: remove the entry"
    assert cases[4].find("skipped").get("message") == "detail BLOCKED"
    assert cases[5].find("skipped").get("message") == "detail N/A"
    assert to_junit(results).startswith("<?xml")


def test_table_without_surprises_says_so(tmp_path):
    text = report.table(outcomes(tmp_path, PASS), ["rt-1"])
    assert "Unexpected results:" not in text and "Expected failures" not in text
    assert text.splitlines()[-1] == "1 passed, 0 failed, 0 expected failures, 0 blocked, 0 not applicable"


def test_reports_are_written_where_asked(tmp_path):
    results = outcomes(tmp_path, PASS, XPASS)
    json_path, junit_path = report_files.write(tmp_path / "out", results, {}, 2.0, runtimes=["late", "rt-1"])
    assert json_path == tmp_path / "out" / "conformance.json" and junit_path == tmp_path / "out" / "junit.xml"
    assert json.loads(json_path.read_text())["runtimes"] == ["late", "rt-1"]  # what to_json is given, it gets
    assert json.loads(json_path.read_text())["ok"] is False
    assert junit_path.read_text() == to_junit(results)


# --- command line (no run) ----------------------------------------------------------------------

@pytest.mark.parametrize("text, shard", [("1/1", (1, 1)), ("2/4", (2, 4)), ("4/4", (4, 4))])
def test_shards(text, shard):
    assert cli._shard(text) == shard


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "1/0"])
def test_bad_shards(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="--shard"):
        cli._shard(text)


def test_bad_arguments_exit_2_before_anything_runs(capsys, tmp_path):
    assert cli.main(["conformance", "-j", "0", "--expectations", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "error: -j must be at least 1, got 0" in capsys.readouterr().err
    assert cli.main(["conformance", "--expectations", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert f"{tmp_path / 'nope'}: expectations folder does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("way", ["saver", "signature"])
def test_an_unreadable_restored_checkpoint_fails_its_variables_check_by_name(store, way):
    def make(restore):
        t = good(store)(restore)
        setattr(t.restored[way], f"{way}_checkpoint", f"gone-{way}")
        return t
    results = check(store, make)
    variables = results[f"restore.{way}.variables"]
    assert variables.passed is False and variables.detail == f"gone-{way}.index: checkpoint index does not exist"
    assert results[f"restore.{way}.loss"].passed


def test_classify_goes_on_after_a_blocked_result_and_keeps_the_detail(tmp_path):
    entries = listed(tmp_path, ENTRY).failures
    results = [Result("rt-1", CASE, "predict", None, "blocked", outcome=BLOCKED),
               Result("rt-1", CASE, "train.loss", False, "failed at train: Boom"),
               Result("rt-1", "other.tf_keras", "train.loss", False, "failed at train: Boom"),
               Result("rt-1", "mlp.raw", "train.loss", False, "failed at train: Crash")]
    runner.classify(results, entries)
    assert [r.outcome for r in results] == [BLOCKED, XFAIL, FAIL, FAIL]
    assert results[1].expectation is entries[0] and results[2].expectation is None and results[3].expectation is entries[0]
    assert results[3].detail == ("failed at train: Crash [listed in rt-1.toml, but its error does not match "
                                 "/^failed at train: Boom/]")


def test_an_entry_applies_to_the_runtimes_it_names(tmp_path):
    (tmp_path / "any.toml").write_text(ENTRY.replace("]]\n", ']]\nruntime = "java-8"\n'))
    assert expectations.load("java-9", tmp_path) == expectations.Expectations()
    assert [e.runtime for e in expectations.load("java-8", tmp_path).failures] == ["java-8"]


def test_a_bad_exporter_glob_names_its_entry(tmp_path):
    from harness.errors import HarnessError

    with pytest.raises(HarnessError) as error:
        listed(tmp_path, ENTRY.replace("links", 'exporter = ""\nlinks'))
    assert f"{tmp_path / 'rt-1.toml'}: expected_failure[0]: 'exporter' must be a TF version glob" in str(error.value)


@pytest.mark.parametrize("relative", ["0.01", "-1e-6", "1e-2"])
def test_a_tolerance_must_stay_below_one_percent(tmp_path, relative):
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="'relative' must be a float in"):
        listed(tmp_path, f'[[tolerance]]\ncase = "x"\nrelative = {relative}\nreason = "r"\n')


def test_junit_failure_message_is_the_start_of_the_detail(tmp_path):
    r = Result("rt-1", "mlp.tf_keras", "train.loss", False, "diverged: " + "y" * 600, outcome=FAIL)
    failure = ET.fromstring(to_junit([r]).split("\n", 1)[1]).find("testsuite/testcase/failure")
    assert failure.get("message") == r.detail[:500] and failure.text == r.detail


def test_written_json_carries_the_environment(tmp_path):
    json_path, _ = report_files.write(tmp_path, outcomes(tmp_path, PASS), {"threads": 1}, 2.0)
    assert json.loads(json_path.read_text())["environment"] == {"threads": 1}


def test_judge_classifies_each_runtime_with_its_own_expectations(tmp_path):
    (tmp_path / "rt-1.toml").write_text(ENTRY.replace("]]\n", ']]\nruntime = "rt-1"\n'))
    expected = cli.load_expectations(["rt-1", "rt-2"], tmp_path)
    assert expected["rt-1"].failures and expected["rt-2"] == expectations.Expectations()
    assert cli.load_expectations(["rt-1"], None) == {"rt-1": expectations.Expectations()}  # `check` expects nothing
    same = lambda runtime: Result(runtime, CASE, "train.loss", False, "failed at train: Boom")  # noqa: E731
    results = [same("rt-1"), same("rt-2")]
    assert cli.judge(results, ["rt-1", "rt-2"], expected) == 1
    assert [r.outcome for r in results] == [XFAIL, FAIL]
    only_listed = [same("rt-1")]
    assert cli.judge(only_listed, ["rt-1"], expected) == 0 and only_listed[0].outcome == XFAIL


def test_a_planted_session_changes_only_what_its_fault_names():
    from harness.testing import faults

    class Session:
        def call(self, signature, feeds):
            return {"loss": np.float32(0.5)} if signature == "train" else {"y": np.ones(2, np.float32)}

    message = {"op": "run", "loader": "java", "fault": "java-loss-sign-flipped", "interface": ZOO.to_dict(),
               "data": {"train.x": np.zeros((2, 4, 1)), "train.y": np.zeros((2, 4, 1)), "predict.x": np.zeros((4, 1))}}
    planted = faults.wrap(faults.find(message["fault"]), Session(), message, lambda: None)
    assert planted.plan.labels == ("y",)
    assert planted.call("train", {"x": np.zeros((4, 1)), "y": np.zeros((4, 1))})["loss"] == np.float32(-0.5)
    assert planted.call("predict", {"x": np.zeros((4, 1))})["y"].tolist() == [1.0, 1.0]


def test_same_run_compares_losses_predictions_and_both_checkpoints_bit_for_bit(store):
    """equals.<other>: plain Java against JPype (runner.same_run), on every output the plan has."""
    jpype = part(store, "jpype", 0, STEPS)
    same = part(store, "plain", 0, STEPS)
    ok = runner.same_run("java-plain-1.1.0", CASE, same, jpype, "java-1.1.0")
    assert (ok.check, ok.passed, ok.comparison.verdict) == ("equals.java-1.1.0", True, "bit-exact")
    assert ok.comparison.compared == 2 * STEPS + 1 + 1 + 2 + 2  # losses and metrics, the prediction, weights, checkpoints
    for name, damage in (
            ("loss", lambda t: t.losses.__setitem__(1, np.nextafter(t.losses[1], np.float32(2)))),
            ("metric", lambda t: t.metrics[2].update(accuracy=np.float32(0))),
            ("weights", lambda t: t.weights.update(w=-t.weights["w"])),
            ("prediction", lambda t: t.predictions.__setitem__("y", t.predictions["y"] + np.float32(1))),
            ("saver", lambda t: store.put(t.saver_checkpoint, {**weights(STEPS), "iteration": np.array(0, np.int64)})),
            ("signature", lambda t: store.put(t.signature_checkpoint, {**weights(STEPS, "signature"), "sig/w": np.zeros(3, np.float32)}))):
        other = part(store, f"plain-{name}", 0, STEPS)
        damage(other)
        got = runner.same_run("java-plain-1.1.0", CASE, other, jpype, "java-1.1.0")
        assert got.passed is False and got.comparison.verdict == "diverged", (name, got.detail)
    broken = part(store, "plain-broken", 0, STEPS)
    broken.failure = Failure("train", "boom")
    blocked = runner.same_run("java-plain-1.1.0", CASE, broken, jpype, "java-1.1.0")
    assert (blocked.passed, blocked.outcome) == (None, BLOCKED) and "failed at train" in blocked.detail
    assert (blocked.runtime, blocked.case, blocked.check) == ("java-plain-1.1.0", CASE, "equals.java-1.1.0")
    assert ok.detail == ok.comparison.summary()
    # A checkpoint only one side wrote is not compared (its own checks say why it is missing).
    one_sided = part(store, "plain-one-sided", 0, STEPS)
    one_sided.saver_checkpoint = None
    got = runner.same_run("java-plain-1.1.0", CASE, one_sided, jpype, "java-1.1.0")
    assert got.passed and got.comparison.compared == 2 * STEPS + 1 + 1 + 2
    # A checkpoint the runtime wrote that cannot be read fails this check by name, not the run.
    unreadable = part(store, "plain-unreadable", 0, STEPS)
    unreadable.signature_checkpoint = "plain-unreadable/missing"
    got = runner.same_run("java-plain-1.1.0", CASE, unreadable, jpype, "java-1.1.0")
    assert (got.runtime, got.case, got.check, got.passed, got.outcome) == ("java-plain-1.1.0", CASE, "equals.java-1.1.0",
                                                                           False, "")
    assert got.detail == "plain-unreadable/missing.index: checkpoint index does not exist" and got.comparison is None


class WeightsSession:
    """A SignatureSession of a linear model trained by momentum-like SGD: w moves, a slot counts steps.
    get_weights returns w (and the slot when `whole`); set_weights takes exactly that back."""

    def __init__(self, whole: bool):
        self.whole, self.state = whole, {"w": np.float32(1.0), "slot": np.float32(0.0)}

    def call(self, signature, feeds):
        if signature == "train":
            loss = self.state["w"] * self.state["w"] + self.state["slot"]
            self.state = {"w": np.float32(self.state["w"] * 0.5), "slot": np.float32(self.state["slot"] + 1)}
            return {"loss": loss}
        if signature == "get":
            return {k: np.asarray(v) for k, v in self.state.items() if self.whole or k == "w"}
        assert signature == "set" and set(feeds) == ({"w", "slot"} if self.whole else {"w"}), feeds
        self.state.update({k: np.float32(v) for k, v in feeds.items()})
        return {}

    def save_variables(self, directory):
        return str(directory)

    def close(self):
        pass


@pytest.mark.parametrize("whole", [True, False])
def test_weights_by_value_are_given_as_the_reference_had_them(tmp_path, whole):
    """runner.weights_for writes the reference's weights of step k, by name, whether or not they are the whole
    training state (a slot not among them): own_resumes then compares the runtimes with Python's own resume."""
    from harness.plan.interface import Interface
    from harness.plan.trajectory import execute

    interface = Interface(predict=None, save=None, restore=None, get_weights="get", set_weights="set")
    data = {"train.x": np.zeros((STEPS + RESUME, 1), np.float32)}
    e = runner.Export(CASE, SAVED_MODEL, data, STEPS, RESUME, "2.0", interface)
    reference_session = WeightsSession(whole)
    ref = (execute(reference_session, data, range(STEPS), tmp_path / "1", interface),
           execute(reference_session, data, range(STEPS, STEPS + RESUME), tmp_path / "2", interface))
    assert not ref[0].failure and set(ref[0].weights) == ({"w", "slot"} if whole else {"w"})
    prefix, why_not = runner.weights_for(e, ref, None, tmp_path)  # runs nothing: no Python is needed
    assert (prefix, why_not) == (str(tmp_path / "reference" / "first" / "weights.npz"), "")
    with np.load(prefix) as saved:  # what set_weights is given: the reference's weights of step k, by name
        assert {k: float(saved[k]) for k in saved.files} == ({"weights.w": 0.125, "weights.slot": 3.0} if whole
                                                              else {"weights.w": 0.125})
    no_pair = runner.Export(CASE, SAVED_MODEL, data, STEPS, RESUME, "2.0", replace(interface, get_weights=None))
    assert runner.weights_for(no_pair, ref, None, tmp_path) == (
        None, "export has no get_weights and set_weights signatures (weights by value)")


def test_check_export_compares_plain_java_with_the_jpype_run_of_its_own_version(store, monkeypatch):
    ref = reference(store)
    monkeypatch.setattr(runner, "reference", lambda *args: ref)
    monkeypatch.setattr(runner, "repeat", lambda *args: part(store, "again", 0, STEPS))
    one_ulp = good(store, offset=float(np.spacing(np.float32(1))))  # plain Java 1.1.0 one step off JPype's path
    runtimes = [FakeRuntime("java-1.1.0", good(store)), FakeRuntime("java-plain-1.1.0", one_ulp),
                FakeRuntime("java-plain-1.0.0", good(store)), FakeRuntime("java-plain-1.2.0", good(store))]
    results = runner.check_export(export(), runtimes, FakePython(store), WORK, lambda *a: 0.9)
    equals = [r for r in results if r.check.startswith("equals.")]
    # java-plain-1.0.0 and 1.2.0 have no JPype run of their version in this run: nothing to compare with.
    assert [(r.runtime, r.case, r.check, r.exporter) for r in equals] == [
        ("java-plain-1.1.0", CASE, "equals.java-1.1.0", "2.0")]
    assert equals[0].passed is False and equals[0].comparison.verdict == compare.DIVERGED  # tolerances do not apply
    assert results[-1] is equals[0]  # after every runtime's own checks


def test_a_runtime_that_does_not_restore_says_why_in_its_restore_checks(store):
    """The plain-Java program trains from the export only: its capabilities say so, and why."""
    asked = []

    def plain(restore):
        asked.append(restore)
        return good(store)(None)
    runtime = FakeRuntime("rt-1", plain, restores_by_saver=False, restores_by_signature=False)
    results = {r.check: r for r in runner.check_runtime(runtime, export(), reference(store), WORK, FakePython(store))}
    assert asked[0].saver is None and asked[0].signature is None  # not asked to restore at all
    for way in ("saver", "signature"):
        for name in (f"restore.{way}.loss", f"restore.{way}.variables"):
            assert (results[name].outcome, results[name].detail) == (NOT_APPLICABLE, "trains from the export only")
    assert results["train.loss"].passed and results["resume.loss"].passed

    class Worded(FakeRuntime):  # a kind may say per capability why not
        def why_not(self, capability):
            return f"lacks {capability}"
    worded = Worded("rt-1", plain, restores_by_saver=False, restores_by_weights=False)
    results = {r.check: r for r in runner.check_runtime(worded, export(), reference(store), WORK, FakePython(store))}
    assert [results[f"restore.{way}.loss"].detail for way in ("saver", "weights")] == [
        "lacks restores_by_saver", "lacks restores_by_weights"]


def test_restored_steps_are_named_by_the_steps_asked_not_by_the_runtimes_own_count(store):
    def miscounted(restore):
        t = good(store)(restore)
        for part in t.restored.values():
            part.first_step = 0  # the runtime's bookkeeping; the losses are the right ones
        return t
    results = check(store, miscounted)
    for way in ("saver", "signature", "weights"):
        assert results[f"restore.{way}.loss"].passed, results[f"restore.{way}.loss"].detail


def test_a_planted_session_trains_through_its_own_call():
    """A session's own prepared train step (JavaSession.trainer) would skip a planted fault's hooks."""
    from harness.testing import faults
    from harness.plan.trajectory import trainer

    class Session:
        def call(self, signature, feeds):
            return {"loss": np.float32(0.5)}

        def trainer(self, data, interface):
            return lambda step: np.float32(0.5)  # what a prepared step answers, bypassing call()

    message = {"op": "run", "loader": "java", "fault": "java-loss-sign-flipped", "interface": ZOO.to_dict(),
               "data": {"train.x": np.zeros((2, 4, 1)), "train.y": np.zeros((2, 4, 1)), "predict.x": np.zeros((4, 1))}}
    planted = faults.wrap(faults.find(message["fault"]), Session(), message, lambda: None)
    assert trainer(planted, message["data"])(0) == np.float32(-0.5)
    assert trainer(Session(), message["data"])(0) == np.float32(0.5)


# -- drift across TF versions ---------------------------------------------------------------------

def test_a_runtime_of_another_tf_drifts_within_the_band_and_fails_beyond_it(store, monkeypatch):
    ref = reference(store)
    monkeypatch.setattr(runner, "reference", lambda *args: ref)
    monkeypatch.setattr(runner, "repeat", lambda *args: part(store, "again", 0, STEPS))
    near, far = 2e-6, 2e-3  # of losses <= 1: inside and beyond float32's band (1e-4, norm-wise)
    def saved_near(restore):  # losses on the path, saved variables `near` off it
        t = good(store)(restore)
        t.saver_checkpoint = store.put("near/saver", {k: v * np.float32(1 + near) if v.dtype == np.float32 else v
                                                      for k, v in weights(STEPS).items()})
        return t
    runtimes = [FakeRuntime("same-tf", good(store, offset=near)), FakeRuntime("other-tf", good(store, offset=near)),
                FakeRuntime("other-tf-far", good(store, offset=far)), FakeRuntime("other-tf-variables", saved_near)]
    band = lambda runtime, exporter: None if runtime == "same-tf" else compare.CROSS_VERSION_BAND
    by = {(r.runtime, r.check): r for r in runner.check_export(export(), runtimes, FakePython(store), WORK, band=band)}
    assert not by["same-tf", "train.loss"].passed  # one TF: 0 ulp, whatever the band
    drifted = by["other-tf", "train.loss"]
    assert drifted.passed and drifted.comparison.verdict == compare.DRIFT and drifted.comparison.max_ulp > 0
    assert drifted.detail.startswith("drift: ") and "cross-version band 0.0001" in drifted.detail
    assert by["other-tf", "checkpoint.saver"].comparison.verdict == compare.BIT_EXACT  # only the losses moved
    beyond = by["other-tf-far", "train.loss"]
    assert not beyond.passed and beyond.comparison.verdict == compare.DIVERGED
    variables = by["other-tf-variables", "checkpoint.saver"]  # saved variables are held to the band too
    assert variables.passed and variables.comparison.verdict == compare.DRIFT, variables.detail


def test_the_band_is_for_runtimes_of_another_tf_than_the_exporters_and_off_with_fail_on_drift():
    band = cli.drift_band(False)
    assert band("java-1.1.0", "2.21.0") is compare.CROSS_VERSION_BAND  # TF Java 1.1.0 runs TF 2.18
    assert band("python-2.22.0rc0", "2.21.0") is compare.CROSS_VERSION_BAND
    assert band("python-session-2.21.0", "2.21.0") is None and band("java-1.1.0+native-1.2.0", "2.21.0") is None
    assert cli.drift_band(True)("java-1.1.0", "2.21.0") is None
    # A kind with kernels of its own (TFLite's) has its band even on the exporter's TF and with --fail-on-drift.
    from harness.runtimes.tflite import KERNELS_BAND

    assert band("tflite-2.21.0", "2.21.0") is KERNELS_BAND and cli.drift_band(True)("tflite-2.21.0", "2.21.0") is KERNELS_BAND


def test_the_console_says_how_far_each_runtime_drifted():
    def drifted(case, ulp, scaled, runtime="java-1.1.0"):
        c = compare.Comparison(compare.DRIFT, max_ulp=ulp, max_scaled=scaled, band=1e-4)
        return Result(runtime, case, "train.loss", True, c.summary(), c, PASS, exporter="2.22.0rc0")
    results = [drifted("mlp.a", 3, 1e-6), drifted("cnn.a", 320, 2.3e-5), drifted("cnn.a", 7, 4e-7, "python-2.21.0"),
               Result("java-1.1.0", "mlp.b", "train.loss", True, "bit-exact", compare.Comparison(compare.BIT_EXACT), PASS,
                      exporter="2.22.0rc0")]
    text = report.table(results, ["python-2.21.0", "java-1.1.0"])
    assert report.drift_lines(report._dicts(results)) == [
        "", "Drift (another TF than the exporter's rounds differently; within the band, not failures):",
        "  exports by 2.22.0rc0 in java-1.1.0: 2 drifted, at most 320 ulp, norm-wise 2.3e-05 (cnn.a.train.loss)",
        "  exports by 2.22.0rc0 in python-2.21.0: 1 drifted, at most 7 ulp, norm-wise 4e-07 (cnn.a.train.loss)"]
    rows = {line.split()[1]: line.split()[2:] for line in text.splitlines() if line.startswith("2.22.0rc0")}
    assert rows == {"cnn.a": ["d7", "d320"], "mlp.a": [".", "d3"], "mlp.b": [".", "="]}
    assert "\n".join(report.drift_lines(report._dicts(results))) in text


def test_drift_lines_are_ordered_by_exporter_version_then_runtime_and_name_an_unknown_exporter():
    def drifted(exporter, runtime):
        c = compare.Comparison(compare.DRIFT, max_ulp=2, max_scaled=1e-6, band=1e-4)
        return Result(runtime, "m.a", "train.loss", True, c.summary(), c, PASS, exporter=exporter)
    ran = [("2.10.0", "b-1"), ("2.9.0", "b-1"), ("", "b-1"), ("2.9.0", "a-1"), ("2.10.0", "a-1")]
    lines = report.drift_lines(report._dicts([drifted(e, rt) for e, rt in ran]))
    assert [line.split(":")[0] for line in lines[2:]] == [  # "" (an old report's results) first, 2.9 before 2.10
        "  exports by ? in b-1", "  exports by 2.9.0 in a-1", "  exports by 2.9.0 in b-1",
        "  exports by 2.10.0 in a-1", "  exports by 2.10.0 in b-1"]


def test_tensorflow_errors_are_told_without_the_python_stack_tensorflow_appends():
    from harness.plan.trajectory import describe

    eager = ValueError('Graph execution error:\n\nDetected at node save/RestoreV2 defined at (most recent call last):\n'
                       '  File "<frozen runpy>", line 198, in _run_module_as_main\n\n'
                       '  File "/w/harness/plan/trajectory.py", line 113, in restore_and_train\n    restore(x)\n\n'
                       'Key beta1_power not found in checkpoint\n\t [[{{node save/RestoreV2}}]] [Op:__inference_restore_1]')
    assert describe(eager) == ("ValueError: Graph execution error: Detected at node save/RestoreV2 Key beta1_power not "
                               "found in checkpoint [[{{node save/RestoreV2}}]] [Op:__inference_restore_1]")
    session = ValueError("Detected at node 'save/RestoreV2' defined at (most recent call last):\nNode: 'save/RestoreV2'\n"
                         "Key beta1_power not found in checkpoint\n\nOriginal stack trace for 'save/RestoreV2':\n"
                         '  File "x", line 3, in y\n    z()\n')
    assert describe(session) == ("ValueError: Detected at node 'save/RestoreV2' Node: 'save/RestoreV2' Key beta1_power "
                                 "not found in checkpoint")


def no_saver(store, asked):
    """A runtime with no saver (TFLite): it checkpoints through the save signature only."""
    def make(restore):
        asked.append(restore)
        t = good(store)(restore)
        t.saver_checkpoint = None
        return t
    runtime = FakeRuntime("rt-1", make, saves_by_saver=False, restores_by_saver=False)
    runtime.not_saving = "has no saver"
    return runtime


def test_a_runtime_without_a_saver_is_resumed_from_its_save_signature(store):
    """checkpoint.saver does not apply (said why); Python restores the runtime's save-signature checkpoint with
    the restore signature and trains on, and resume.variables compares the signature checkpoints."""
    asked, python = [], FakePython(store)
    results = {r.check: r for r in runner.check_runtime(no_saver(store, asked), export(), reference(store), WORK, python)}
    assert (results["checkpoint.saver"].outcome, results["checkpoint.saver"].detail) == (NOT_APPLICABLE, "has no saver")
    assert asked[0].saver is None and asked[0].signature == "ref1/signature"
    (args, kwargs), = python.calls  # one resume, shared by both resume checks
    restore = kwargs.get("restore") or args[5]
    assert (restore.signature, restore.saver, restore.steps) == ("rt/signature", None, (STEPS, STEPS + RESUME))
    assert list(args[2]) == [] and args[0] == SAVED_MODEL  # from a fresh load of the export, no step before
    assert args[3] == WORK / "resume" / "run"  # where a resume writes, as from a saver's checkpoint
    for name in ("resume.loss", "resume.variables"):
        assert results[name].outcome == "" and results[name].passed, results[name]  # classified later
        assert results[name].comparison.compared > 0
    assert results["resume.variables"].comparison.compared == len(weights(0, "signature"))


def test_a_resume_from_the_save_signature_off_the_path_diverges_and_a_failed_one_fails(store):
    off = part(store, "off", STEPS, RESUME, offset=0.5)
    off.signature_checkpoint = store.put("off/signature", {k: v + 1 for k, v in weights(STEPS + RESUME, "signature").items()})
    results = {r.check: r for r in runner.check_runtime(no_saver(store, []), export(), reference(store), WORK,
                                                        FakePython(store, off))}
    assert not results["resume.loss"].passed and results["resume.loss"].detail.startswith("diverged: ")
    assert not results["resume.variables"].passed and "sig/w" in results["resume.variables"].detail
    failed = Trajectory(STEPS)
    failed.failure = Failure("restore", "RestoreV2: not found")
    results = {r.check: r for r in runner.check_runtime(no_saver(store, []), export(), reference(store), WORK,
                                                        FakePython(store, failed))}
    for name in ("resume.loss", "resume.variables"):
        assert not results[name].passed and "could not resume from rt-1's checkpoint (restore): RestoreV2" in results[name].detail


def test_a_runtime_without_a_saver_and_an_export_without_save_signatures_is_not_resumed(store):
    interface = replace(FULL, save="", restore="")
    python = FakePython(store)
    results = {r.check: r for r in runner.check_runtime(no_saver(store, []), export(interface), reference(store), WORK, python)}
    for name in ("resume.loss", "resume.variables"):
        assert results[name].outcome == NOT_APPLICABLE
        assert results[name].detail == "has no saver, and export has no save and restore signatures"
    assert python.calls == []


def test_check_export_gives_every_runtime_the_checkpoints_it_restores_and_its_band(store, monkeypatch):
    """The reference's saver checkpoint of step k, re-keyed for the export's saver, and its weights by value are
    worked out once per export (from the first part) and given to every runtime's restore part."""
    ref, e, calls = reference(store), export(), []
    monkeypatch.setattr(runner, "reference", lambda *args: ref)
    monkeypatch.setattr(runner, "repeat", lambda *args: part(store, "again", 0, STEPS))
    monkeypatch.setattr(runner, "saver_checkpoint_for", lambda *args: calls.append(("saver", *args)) or ("by-name", ""))
    monkeypatch.setattr(runner, "weights_for", lambda *args: calls.append(("weights", *args)) or ("given.npz", ""))
    bands = []
    runtimes = [FakeRuntime("rt-1", good(store)), FakeRuntime("rt-2", good(store))]
    python = FakePython(store)
    runner.check_export(e, runtimes, python, WORK, band=lambda runtime, exporter: bands.append((runtime, exporter)))
    assert calls == [("saver", e, ref[0], WORK), ("weights", e, ref, python, WORK)]  # once, for both runtimes
    for runtime in runtimes:
        restore = runtime.calls[0][0][5]
        assert (restore.saver, restore.weights, restore.signature) == ("by-name", "given.npz", "ref1/signature")
    assert bands == [("rt-1", "2.0"), ("rt-2", "2.0")]


def test_check_runtime_works_out_the_weights_to_restore_unless_given_and_only_for_a_runtime_that_sets_them(store, monkeypatch):
    asked, ref, python, e = [], reference(store), FakePython(store), export()
    monkeypatch.setattr(runner, "weights_for", lambda *args: asked.append(args) or ("worked-out.npz", ""))
    runtime = FakeRuntime("rt-1", good(store))
    runner.check_runtime(runtime, e, ref, WORK, python)
    assert asked == [(e, ref, python, WORK)] and runtime.calls[0][0][5].weights == "worked-out.npz"
    given = FakeRuntime("rt-1", good(store))
    runner.check_runtime(given, e, ref, WORK, python, weights_restore=("given.npz", ""))
    assert len(asked) == 1 and given.calls[0][0][5].weights == "given.npz"
    by_value = FakeRuntime("rt-1", good(store), restores_by_weights=False)
    results = {r.check: r for r in runner.check_runtime(by_value, e, ref, WORK, python)}
    assert by_value.calls[0][0][5].weights is None
    assert (results["restore.weights.loss"].outcome, results["restore.weights.loss"].detail) == (
        NOT_APPLICABLE, "trains from the export only")


def test_a_checkpoint_that_is_not_the_whole_state_is_a_finding_and_runtimes_are_compared_like_with_like(store, monkeypatch):
    """TensorFlow's on-device layout restores the head's weights only: Python itself, restoring them, trains on
    to other values than the uninterrupted run. That is the export's finding (Python's own restore checks: N/A,
    saying what differs), and each runtime's restore is compared with Python's own restore the same way."""
    ref = reference(store)
    monkeypatch.setattr(runner, "reference", lambda *args: ref)
    monkeypatch.setattr(runner, "repeat", lambda *args: part(store, "again", 0, STEPS))
    off = 0.5  # every restore part of every runtime lands this far from the uninterrupted run
    runtimes = [FakeRuntime("java-1", good(store, restored_offset=off)), FakeRuntime("python-x", good(store, restored_offset=off)),
                FakeRuntime("java-2", good(store))]  # java-2 rejoins the uninterrupted run: unlike Python's own resume
    results = {(r.runtime, r.check): r for r in runner.check_export(export(), runtimes, FakePython(store), WORK)}
    runner.classify(list(results.values()), ())
    for way in ("saver", "signature", "weights"):
        own = results["python-x", f"restore.{way}.loss"]
        assert own.outcome == NOT_APPLICABLE and own.notes["fidelity"]["convention"] == way, own
        assert own.detail.startswith(f"the {way} checkpoint is not the whole training state: python-x itself, "
                                     f"restoring the reference's checkpoint of step {STEPS} by {way} into a fresh load")
        assert results["python-x", f"restore.{way}.variables"].outcome == NOT_APPLICABLE
        for check in (f"restore.{way}.loss",):
            assert results["java-1", check].outcome == PASS, results["java-1", check]
            assert results["java-2", check].outcome == FAIL, results["java-2", check]  # a false pass would hide this
    again = runner.check_export(export(), runtimes, FakePython(store), WORK)
    assert [r.runtime for r in again if r.check == "train.loss"] == ["java-1", "python-x", "java-2"]  # order kept
