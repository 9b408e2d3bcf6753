"""Faults planted on purpose (TEST-ONLY): to show the verdicts catch what a buggy runtime would do.

Nothing here runs unless a test, `nox -s mutants`, or a test-only switch asks for it:

  PLANTED         checkpoint faults: damage what a runtime path saved (the stateful tests, and
                  `python -m harness replay --plant-fault NAME`).
  RUNTIME_FAULTS  a buggy runtime in a conformance run: planted_kind(kind, fault) is the kind
                  misbehaving in one way, installed in place of the real one by the tests and by
                  `conformance --plant-fault NAME` (test-only; `nox -s mutants`). Its worker runs
                  harness.testing.planted_worker, which wraps the session the plan drives (wrong feeds, wrong
                  outputs, a skipped or extra call); in the harness process it damages what the
                  runtime returned or is given (its checkpoints), as a buggy runtime would write or read
                  them. `cases` name where the fault is observable; `nox -s mutants` plants each there
                  and counts whether conformance catches it. Production code reads no fault switch.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..plan import checkpoints

ENV = "HARNESS_PLANT_FAULT"  # test-only switch


def _is_slot(key: str, name: str) -> bool:
    """An optimizer slot: TF2 ".OPTIMIZER_SLOT" keys, tf_keras/raw "m/", "v/" names, Keras 3 "_momentum"/"_velocity"."""
    return (".OPTIMIZER_SLOT" in key or name.startswith(("m/", "v/", "vhat/"))
            or name.endswith(("_momentum", "_velocity")))


def _optimizer_slots_not_saved(values: dict) -> None:
    """Java's Session.save writes the weights but leaves the optimizer slots at their initial zeros."""
    names = checkpoints.variable_names_in(values)
    slots = [k for k in values if _is_slot(k, names.get(k, k))]
    if not slots:
        raise ValueError("no optimizer slot found in the checkpoint")
    for key in slots:
        values[key] = np.zeros_like(values[key])


def _iteration_off_by_one(values: dict) -> None:
    names = checkpoints.variable_names_in(values)
    (key,) = [k for k in values if names.get(k, k).split("/")[-1] in ("iteration", "iter")]
    values[key] = values[key] + 1


def _first_weight_one_ulp_up(values: dict) -> None:
    names = checkpoints.variable_names_in(values)
    key = next(k for k in sorted(values) if names.get(k, k).endswith("kernel") and not _is_slot(k, names.get(k, k)))
    value = np.array(values[key])
    flat = value.reshape(-1)
    flat[0] = np.nextafter(flat[0], np.inf, dtype=value.dtype)
    values[key] = value


PLANTED = {"java-saver-drops-slots": _optimizer_slots_not_saved}


# --- runtime faults: the session wrapper (applied in the worker) --------------------------------

@dataclass
class Plan:
    """What a planted session knows of the plan it is in."""
    interface: object  # interface.Interface
    labels: tuple[str, ...]  # train inputs that predict does not take (the labels, and a dropout seed)
    open_fresh: Callable[[], object]  # a new session on the same export, as loaded


class Planted:
    """A session that behaves like `inner` except where a subclass overrides a hook."""

    trainer = None  # not the inner session's: every train step goes through call(), where the hooks are

    def __init__(self, inner, plan: Plan):
        self.inner, self.plan = inner, plan
        self.trains = 0  # train calls so far in this session
        self.last_feeds: dict | None = None
        self.last_loss = None

    def __getattr__(self, name):  # e.g. `unreleased` (Java's pointer accounting)
        return getattr(self.inner, name)

    def call(self, signature, feeds):
        i = self.plan.interface
        if signature == i.train:
            changed = self.train_feeds({k: np.array(v) for k, v in feeds.items()})
            outputs = self.train(changed)
            self.trains += 1
            self.last_feeds = dict(feeds)
            self.last_loss = np.array(outputs[i.loss])
            return outputs
        if signature == i.predict:
            return self.predict(feeds)
        if signature == i.save:
            return self.save_signature(feeds)
        if signature == i.restore:
            return self.restore_signature(feeds)
        return self.inner.call(signature, feeds)

    # hooks
    def train_feeds(self, feeds: dict) -> dict:
        return feeds

    def train(self, feeds: dict) -> dict:
        return self.train_outputs(self.inner.call(self.plan.interface.train, feeds))

    def train_outputs(self, outputs: dict) -> dict:
        return outputs

    def predict(self, feeds: dict) -> dict:
        return self.inner.call(self.plan.interface.predict, feeds)

    def save_signature(self, feeds: dict):
        return self.inner.call(self.plan.interface.save, feeds)

    def restore_signature(self, feeds: dict):
        return self.inner.call(self.plan.interface.restore, feeds)

    def save_variables(self, directory: Path) -> str:
        return self.inner.save_variables(directory)

    def restore_variables(self, prefix: str) -> None:
        self.inner.restore_variables(prefix)

    def close(self):
        return self.inner.close()

    def _loss(self, outputs: dict, change) -> dict:
        key = self.plan.interface.loss
        return {**outputs, key: change(np.array(outputs[key]))}


class StaleBatch(Planted):
    """Trains on the previous step's batch from the second step on (an off-by-one in the data feeder)."""
    def train_feeds(self, feeds):
        return dict(self.last_feeds) if self.last_feeds is not None else feeds


class SkippedStep(Planted):
    """The third train call is never run: the runtime answers with the previous loss."""
    def train(self, feeds):
        if self.trains == 2 and self.last_loss is not None:
            return {self.plan.interface.loss: self.last_loss}
        return super().train(feeds)


class ExtraStep(Planted):
    """One more optimizer step on the last batch before Session.save (a retried call that was not idempotent)."""
    def save_variables(self, directory):
        if self.last_feeds is not None:
            self.inner.call(self.plan.interface.train, self.last_feeds)
        return self.inner.save_variables(directory)


class SwappedLabels(Planted):
    """Labels reach the wrong rows: two labels of one shape are swapped, a single one is fed in reverse row order."""
    def train_feeds(self, feeds):
        labels = [k for k in self.plan.labels if k in feeds and k != "seed"]
        same = [k for k in labels if feeds[k].shape == feeds[labels[0]].shape and feeds[k].dtype == feeds[labels[0]].dtype]
        if len(same) >= 2:
            feeds[same[0]], feeds[same[1]] = feeds[same[1]], feeds[same[0]]
        else:
            for k in labels:
                feeds[k] = feeds[k][::-1].copy()
        return feeds


class LabelOneUlp(Planted):
    """The first element of each float label is one ULP up (a lossy conversion of one value)."""
    def train_feeds(self, feeds):
        for k in self.plan.labels:
            if k in feeds and feeds[k].dtype.kind == "f":
                flat = feeds[k].reshape(-1)
                flat[0] = np.nextafter(flat[0], np.inf, dtype=flat.dtype)
        return feeds


class Float64Narrowed(Planted):
    """float64 inputs pass through float32 on the way in (a double[] copied through a float buffer)."""
    def train_feeds(self, feeds):
        return {k: v.astype(np.float32).astype(np.float64) if v.dtype == np.float64 else v for k, v in feeds.items()}

    def predict(self, feeds):
        return super().predict(self.train_feeds({k: np.array(v) for k, v in feeds.items()}))


class Float32Narrowed(Planted):
    """float32 inputs pass through float16 on the way in."""
    def train_feeds(self, feeds):
        return {k: v.astype(np.float16).astype(np.float32) if v.dtype == np.float32 else v for k, v in feeds.items()}


class IdsOffByOne(Planted):
    """Integer ids one lower than given (an off-by-one in an index conversion; never out of range)."""
    def train_feeds(self, feeds):
        return {k: np.where(v > 0, v - 1, v).astype(v.dtype) if v.dtype.kind in "iu" and k not in self.plan.labels else v
                for k, v in feeds.items()}


class SeedIgnored(Planted):
    """The dropout seed input is dropped: every step draws with seed 0."""
    def train_feeds(self, feeds):
        if "seed" in feeds:
            feeds["seed"] = np.zeros_like(feeds["seed"])
        return feeds


class LossTwoUlp(Planted):
    """The loss comes back two ULP up (a lossy conversion of the output)."""
    def train_outputs(self, outputs):
        return self._loss(outputs, lambda l: np.nextafter(np.nextafter(l, np.inf, dtype=l.dtype), np.inf, dtype=l.dtype))


class LossSignFlipped(Planted):
    """The loss comes back negated."""
    def train_outputs(self, outputs):
        return self._loss(outputs, lambda l: -l)


class LossLagsOneStep(Planted):
    """Each train call answers with the previous call's loss (a reused output buffer)."""
    def train(self, feeds):
        outputs = super().train(feeds)
        return {**outputs, self.plan.interface.loss: self.last_loss} if self.last_loss is not None else outputs


class LossNaN(Planted):
    """The third step's loss comes back NaN."""
    def train_outputs(self, outputs):
        return self._loss(outputs, lambda l: np.full_like(l, np.nan)) if self.trains == 2 else outputs


class StalePredictions(Planted):
    """predict answers from the export as loaded, not from the trained variables (a cached session)."""
    def predict(self, feeds):
        fresh = self.plan.open_fresh()
        try:
            return fresh.call(self.plan.interface.predict, feeds)
        finally:
            fresh.close()


class PredictionsReordered(Planted):
    """Prediction rows come back in reverse order."""
    def predict(self, feeds):
        return {k: np.asarray(v)[::-1].copy() for k, v in super().predict(feeds).items()}


class PredictionsWidened(Planted):
    """float32 predictions come back as float64 (values intact, dtype not)."""
    def predict(self, feeds):
        return {k: np.asarray(v).astype(np.float64) if np.asarray(v).dtype == np.float32 else v
                for k, v in super().predict(feeds).items()}


class NaNPayloadsCanonicalized(Planted):
    """Every NaN in the outputs comes back as the canonical quiet NaN (a bridge through Java's Float.NaN)."""
    def call(self, signature, feeds):
        outputs = super().call(signature, feeds)
        return {k: np.where(np.isnan(v), np.array(np.nan, np.asarray(v).dtype), v) if np.asarray(v).dtype.kind == "f" else v
                for k, v in outputs.items()} if isinstance(outputs, dict) else outputs


class SignedZerosLost(Planted):
    """Every -0.0 in the outputs comes back as +0.0 (a bridge that adds 0.0)."""
    def call(self, signature, feeds):
        outputs = super().call(signature, feeds)
        return {k: np.where(np.asarray(v) == 0, np.zeros((), np.asarray(v).dtype), v) if np.asarray(v).dtype.kind == "f"
                else v for k, v in outputs.items()} if isinstance(outputs, dict) else outputs


class SaveSignatureStale(Planted):
    """The save signature writes the variables of the export as loaded (it runs on another session)."""
    def save_signature(self, feeds):
        fresh = self.plan.open_fresh()
        try:
            return fresh.call(self.plan.interface.save, feeds)
        finally:
            fresh.close()


class RestoreSignatureIgnored(Planted):
    """The restore signature returns without restoring anything."""
    def restore_signature(self, feeds):
        return {}


class SaverRestoreIgnored(Planted):
    """Session.restore returns without restoring anything."""
    def restore_variables(self, prefix):
        return None


# --- runtime faults: the catalog -----------------------------------------------------------------

MLP = ("mlp_regression", "tf_keras")


@dataclass(frozen=True)
class RuntimeFault:
    name: str
    runtime: str  # the runtime kind it breaks ("java")
    what: str
    cases: tuple[tuple[str, str], ...] = (MLP,)  # (spec, route) where it is observable
    session: type[Planted] | None = None  # applied in the worker
    returned: Callable[[dict], None] | None = None  # damages the runtime's saver checkpoint (harness side)
    returned_signature: Callable[[dict], None] | None = None  # damages its save-signature checkpoint
    given: Callable[[dict], None] | None = None  # damages the checkpoint it is given to restore by its saver
    leaks: bool = False  # leaves every input tensor of a call open (TF Java's Calls.plantLeak)
    unobservable: str = ""  # why no check can see it, if none can (a survivor with its reason)
    checks: tuple[str, ...] = field(default=())  # checks expected to catch it (documentation; the count is any failure)


def _java(name, what, **kwargs) -> RuntimeFault:
    from ..runtimes.java import Java

    return RuntimeFault(f"{Java.kind}-{name}", Java.kind, what, **kwargs)


RUNTIME_FAULTS = {f.name: f for f in [
    _java("stale-batch", "trains on the previous step's batch", session=StaleBatch, checks=("train.loss",)),
    _java("skipped-step", "skips the third step, answering the previous loss", session=SkippedStep, checks=("train.loss",)),
    _java("extra-step", "one more step before Session.save", session=ExtraStep, checks=("checkpoint.saver",)),
    _java("swapped-labels", "labels fed to the wrong rows", session=SwappedLabels,
          cases=(MLP, ("multi_output", "tf_keras")), checks=("train.loss",)),
    _java("label-one-ulp", "one label element one ULP off", session=LabelOneUlp, checks=("train.loss",)),
    _java("float64-narrowed", "float64 inputs through float32", session=Float64Narrowed,
          cases=(("mlp_regression_float64", "raw_module"),), checks=("train.loss",)),
    _java("float32-narrowed", "float32 inputs through float16", session=Float32Narrowed, checks=("train.loss",)),
    _java("ids-off-by-one", "integer ids one lower", session=IdsOffByOne, cases=(("embedding", "tf_keras"),),
          checks=("train.loss",)),
    _java("seed-ignored", "the dropout seed input replaced by 0", session=SeedIgnored,
          cases=(("dropout", "raw_module"),), checks=("train.loss",)),
    _java("loss-2ulp", "the loss two ULP up", session=LossTwoUlp, checks=("train.loss",)),
    _java("loss-sign-flipped", "the loss negated", session=LossSignFlipped, checks=("train.loss",)),
    _java("loss-lags-one-step", "each loss is the previous step's", session=LossLagsOneStep, checks=("train.loss",)),
    _java("loss-nan", "the third loss NaN", session=LossNaN, checks=("train.loss",)),
    _java("nan-payloads-canonicalized", "NaN outputs come back as the canonical quiet NaN",
          session=NaNPayloadsCanonicalized,
          unobservable="no output of the zoo is NaN (a NaN loss is itself a divergence), and compare.py counts any "
                       "NaN equal to any NaN, whatever its payload: a payload is not a value"),
    _java("signed-zeros-lost", "-0.0 outputs come back as +0.0", session=SignedZerosLost,
          unobservable="compare.py counts -0.0 equal to +0.0 (IEEE equality; 0 ULP apart), and no loss or prediction "
                       "of the zoo is a zero"),
    _java("stale-predictions", "predictions of the untrained export", session=StalePredictions, checks=("predict",)),
    _java("predictions-reordered", "prediction rows reversed", session=PredictionsReordered, checks=("predict",)),
    _java("predictions-widened", "float32 predictions returned as float64", session=PredictionsWidened,
          checks=("predict",)),
    _java("save-signature-stale", "the save signature writes the untrained variables", session=SaveSignatureStale,
          checks=("checkpoint.signature",)),
    _java("restore-signature-ignored", "the restore signature restores nothing", session=RestoreSignatureIgnored,
          checks=("restore.signature.loss",)),
    _java("saver-restore-ignored", "Session.restore restores nothing", session=SaverRestoreIgnored,
          checks=("restore.saver.loss",)),
    _java("saver-drops-slots", "Session.save leaves the optimizer slots at zero", returned=_optimizer_slots_not_saved,
          checks=("checkpoint.saver", "resume.loss")),
    _java("saver-iteration-off-by-one", "Session.save writes the iteration counter plus one",
          returned=_iteration_off_by_one, checks=("checkpoint.saver",)),
    _java("saver-weight-one-ulp", "Session.save writes one weight one ULP up", returned=_first_weight_one_ulp_up,
          checks=("checkpoint.saver",)),
    _java("signature-checkpoint-drops-slots", "the save signature leaves the optimizer slots at zero",
          returned_signature=_optimizer_slots_not_saved, checks=("checkpoint.signature",)),
    _java("restore-drops-slots", "Session.restore leaves the optimizer slots at zero", given=_optimizer_slots_not_saved,
          checks=("restore.saver.loss",)),
    _java("restore-iteration-off-by-one", "Session.restore sets the iteration counter one ahead",
          given=_iteration_off_by_one, checks=("restore.saver.variables",)),
    _java("leaks-input-tensors", "closes no input tensor of a call", leaks=True, checks=("tensors.closed",)),
]}


def find(name: str) -> RuntimeFault:
    if name not in RUNTIME_FAULTS:
        raise ValueError(f"no such planted fault {name!r} (known: {', '.join(sorted(RUNTIME_FAULTS))})")
    return RUNTIME_FAULTS[name]


def planted_kinds(name: str) -> dict:
    """{kind: the planted kind} for the fault `name`: what a run installs in place of the registry's."""
    from ..runtimes import KINDS

    fault = find(name)
    return {fault.runtime: planted_kind(KINDS[fault.runtime], fault)}


def planted_kind(kind: type, fault: RuntimeFault) -> type:
    """`kind` (a WorkerRuntime subclass) misbehaving as `fault` says: its worker serves planted sessions
    (harness.testing.planted_worker around the kind's own Host), and its checkpoints are damaged harness-side."""
    from ..runtimes import WorkerStart
    from ..plan.trajectory import Restore

    class Planted(kind):
        planted = fault

        @classmethod
        def worker_key(cls, version: str) -> tuple[str, str]:
            return (f"planted-{kind.worker_key(version)[0]}", version)  # never a worker of the real kind

        def worker_start(self) -> WorkerStart:
            real = super().worker_start()
            (at,) = [i for i, arg in enumerate(real.command) if arg == "-m"]
            command = [*real.command[:at], "-m", "harness.testing.planted_worker", *real.command[at + 1:]]
            return WorkerStart(command, real.hello, real.what, {**real.env, ENV: fault.name})

        def run(self, saved_model, data, steps, workdir, interface=None, restore=None, **options):
            if restore is not None and restore.saver is not None:
                restore = Restore(restore.steps, damage_given(fault, "saver", restore.saver,
                                                              workdir.parent / f"{workdir.name}.planted"),
                                  restore.signature)
            trajectory = super().run(saved_model, data, steps, workdir, *([interface] if interface else []), restore,
                                     **options)
            for part in (trajectory, *trajectory.restored.values()):
                damage_returned(fault, part)
            return trajectory

    Planted.__name__ = Planted.__qualname__ = f"Planted{kind.__name__}"
    return Planted


class PlantedHost:
    """In a planted worker: the kind's own Host, with the sessions it opens wrapped by the fault."""

    def __init__(self, host, fault: RuntimeFault):
        self.host, self.fault = host, fault

    def __getattr__(self, name):  # start, echo, plain_java: the real host's
        return getattr(self.host, name)

    def open(self, saved_model: Path, message: dict):
        def fresh():
            session = self.host.open(saved_model, message)
            if self.fault.leaks:
                session.calls.plantLeak(True)
            return session

        return wrap(self.fault, fresh(), message, fresh)


def wrap(fault: RuntimeFault, session, message: dict, open_fresh: Callable[[], object]):
    """In a planted worker: `session` wrapped by the fault's Planted session, if it has one (the plan only)."""
    if fault.session is None or message.get("op") not in ("run", "restore"):
        return session
    from ..plan.interface import Interface

    data = message.get("data", {})
    inputs = {k.split(".", 1)[1] for k in data if k.startswith("predict.")}
    labels = tuple(k.split(".", 1)[1] for k in data if k.startswith("train.") and k.split(".", 1)[1] not in inputs)
    return fault.session(session, Plan(Interface.from_dict(message["interface"]), labels, open_fresh))


def damage_returned(fault: RuntimeFault | None, trajectory) -> None:
    """In the harness: damages the checkpoints a runtime returned, as the fault would have written them."""
    if fault is None:
        return
    if fault.returned and trajectory.saver_checkpoint:
        checkpoints.rewrite(trajectory.saver_checkpoint, fault.returned)
    if fault.returned_signature and trajectory.signature_checkpoint:
        checkpoints.rewrite(trajectory.signature_checkpoint, fault.returned_signature)


def damage_given(fault: RuntimeFault | None, way: str, prefix: str, workdir: Path) -> str:
    """In the harness: the checkpoint a runtime restores by its saver, as the fault would read it (a damaged copy)."""
    if fault is None or fault.given is None or way != "saver":
        return prefix
    copy = workdir / "planted-given"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir(parents=True)
    source = Path(prefix)
    for file in source.parent.glob(source.name + ".*"):
        shutil.copyfile(file, copy / file.name)
    checkpoints.rewrite(copy / source.name, fault.given)
    return str(copy / source.name)
