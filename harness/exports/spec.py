"""Declarative reference-model specs (specs/*.toml), validated on load.

A spec file describes one model. Each `[variants.<name>]` table replaces top-level keys of it
(whole tables: a variant's [optimizer] is complete) and becomes a spec of its own, named
"<spec>_<name>" (e.g. the MLP with other optimizers).
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .. import resources
from ..errors import HarnessError

SPECS_DIR = resources.data("specs")

# layer type -> {option: (type, required)}
LAYERS = {
    "feature_scale": {},  # custom layer: one trainable scale per feature
    "dense": {"units": (int, True), "activation": (str, False)},
    "conv2d": {"filters": (int, True), "kernel_size": (int, True), "activation": (str, False)},
    "max_pool2d": {"pool_size": (int, True)},
    "flatten": {},
    "embedding": {"input_dim": (int, True), "output_dim": (int, True)},
    "global_average_pool1d": {},
    "batch_normalization": {},
    "dropout": {"rate": (float, True)},  # stateless, seeded by the train signature's "seed" input
    "stateful_dropout": {"rate": (float, True)},  # tf.nn.dropout: nondeterministic by design
    "lstm": {"units": (int, True)},
}
LOSSES = {"mean_squared_error", "sparse_softmax_cross_entropy"}
OPTIMIZERS = {
    "adam": {"learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad", "clipnorm"},
    "adamw": {"learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay"},
    "sgd": {"learning_rate", "momentum", "nesterov"},
    "rmsprop": {"learning_rate", "rho", "momentum", "epsilon", "centered"},
    "adagrad": {"learning_rate", "initial_accumulator_value", "epsilon"},
    "nadam": {"learning_rate", "beta_1", "beta_2", "epsilon"},
}
SCHEDULES = {"exponential_decay": {"initial_learning_rate", "decay_steps", "decay_rate"}}
PRECISIONS = {"float32", "float64", "mixed_float16"}
INPUT_KINDS = {"features", "ids", "seed"}  # seed: one per step, not batched
LABEL_KINDS = {"regression", "classes"}
DTYPES = {"float32", "float64", "int32", "int64"}
ROUTES = {"tf_keras", "keras3_archive", "keras3_module", "tfkeras_module", "raw_module", "tf1_graph"}


@dataclass(frozen=True)
class TensorDecl:
    name: str
    shape: tuple[int, ...]  # without the batch dimension
    dtype: str
    kind: str
    range: int | None = None  # ids: vocabulary size; classes: number of classes

    @property
    def batched(self) -> bool:
        return self.kind != "seed"


@dataclass(frozen=True)
class Layer:
    type: str
    options: dict = field(default_factory=dict)

    def __getattr__(self, name):  # layer.units, layer.rate, ...; None when not given
        if name.startswith("__"):
            raise AttributeError(name)
        return self.options.get(name)


@dataclass(frozen=True)
class LossTerm:
    output: str
    label: str
    type: str
    weight: float


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    seed: int
    routes: tuple[str, ...]
    ci_routes: tuple[str, ...]  # the routes CI runs; the rest run with --all
    inputs: tuple[TensorDecl, ...]
    labels: tuple[TensorDecl, ...]
    layers: tuple[Layer, ...]
    heads: dict  # output name -> tuple[Layer, ...]; empty: one output, "prediction"
    losses: tuple[LossTerm, ...]
    precision: str
    optimizer: dict  # name, hyper-parameters, optional schedule
    replicas: int  # > 1: built and pre-trained under MirroredStrategy over this many CPUs
    pretrain_steps: int
    batch_size: int
    steps: int
    resume_steps: int
    predict_size: int
    digest: str  # sha256 of the parsed content: what export caching keys on
    raw: dict = field(repr=False, compare=False)

    @property
    def features(self) -> TensorDecl:
        return next(d for d in self.inputs if d.kind != "seed")

    @property
    def seed_input(self) -> TensorDecl | None:
        return next((d for d in self.inputs if d.kind == "seed"), None)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.heads) or ("prediction",)

    def with_optimizer(self, **hyper) -> Spec:
        """A copy with some optimizer hyper-parameters replaced (used by property tests)."""
        raw = copy.deepcopy(self.raw)
        raw["optimizer"].update(hyper)
        return parse(raw, f"{self.name} (optimizer {hyper})")


def load(path: str | Path) -> list[Spec]:
    """The specs a file defines: the base spec, then one per variant."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"{path}: spec file does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"{path}: not valid TOML: {e}") from None
    variants = raw.pop("variants", {})
    if not isinstance(variants, dict):
        raise HarnessError(f"{path}: [variants] must be a table of tables")
    specs = [parse(raw, str(path))]
    for name, override in variants.items():
        merged = copy.deepcopy({**raw, **override})
        merged["name"] = f"{raw.get('name')}_{name}"
        specs.append(parse(merged, f"{path} [variants.{name}]"))
    return specs


def all_specs() -> list[Spec]:
    specs = [s for p in sorted(SPECS_DIR.glob("*.toml")) for s in load(p)]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise HarnessError(f"{SPECS_DIR}: spec names defined twice: {duplicates}")
    return specs


def find(name: str) -> Spec:
    """The spec (or variant) called `name` in specs/."""
    for s in all_specs():
        if s.name == name:
            return s
    known = ", ".join(s.name for s in all_specs())
    raise HarnessError(f"{SPECS_DIR}: no spec named {name!r} (known: {known})")


def parse(raw: dict, where: str) -> Spec:
    def fail(msg: str):
        raise HarnessError(f"{where}: {msg}")

    def need(table: dict, key: str, kind, ctx: str = "", default=...):
        if key not in table:
            if default is not ...:
                return default
            fail(f"missing key {ctx}{key!r}")
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            fail(f"{ctx}{key!r} must be {kind.__name__}, got {value!r}")
        return value

    def tensors(section: str, kinds: set[str], default_kind: str) -> tuple[TensorDecl, ...]:
        out = []
        for name, decl in need(raw, section, dict).items():
            ctx = f"{section}.{name}."
            unknown = set(decl) - {"shape", "dtype", "kind", "vocab", "classes"}
            if unknown:
                fail(f"{ctx[:-1]} has unknown keys {sorted(unknown)}")
            shape = need(decl, "shape", list, ctx)
            if not all(isinstance(d, int) and d > 0 for d in shape):
                fail(f"{ctx}shape must be a list of positive ints, got {shape!r}")
            dtype = need(decl, "dtype", str, ctx)
            if dtype not in DTYPES:
                fail(f"{ctx}dtype {dtype!r} is not one of {sorted(DTYPES)}")
            kind = need(decl, "kind", str, ctx, default_kind)
            if kind not in kinds:
                fail(f"{ctx}kind {kind!r} is not one of {sorted(kinds)}")
            size = None
            if kind in ("ids", "classes"):
                size = need(decl, "vocab" if kind == "ids" else "classes", int, ctx)
            out.append(TensorDecl(name, tuple(shape), dtype, kind, size))
        if not out:
            fail(f"[{section}] declares no tensor")
        return tuple(out)

    def layers(items, ctx: str) -> tuple[Layer, ...]:
        if not isinstance(items, list):
            fail(f"{ctx} must be a list of layer tables")
        out = []
        for i, table in enumerate(items):
            here = f"{ctx}[{i}]."
            kind = need(table, "type", str, here)
            if kind not in LAYERS:
                fail(f"{here}type {kind!r} is not one of {sorted(LAYERS)}")
            extra = set(table) - {"type"} - set(LAYERS[kind])
            if extra:
                fail(f"{ctx}[{i}] ({kind}) has unknown keys {sorted(extra)}")
            options = {}
            for option, (kind_of, required) in LAYERS[kind].items():
                if required or option in table:
                    options[option] = need(table, option, kind_of, here)
            out.append(Layer(kind, options))
        return tuple(out)

    inputs = tensors("inputs", INPUT_KINDS, "features")
    if sum(d.kind != "seed" for d in inputs) != 1 or sum(d.kind == "seed" for d in inputs) > 1:
        fail("[inputs] must declare exactly one feature input (kind 'features' or 'ids') and at most one 'seed'")
    labels = tensors("labels", LABEL_KINDS, "regression")
    trunk = layers(need(raw, "layers", list), "layers")
    heads = {name: layers(need(table, "layers", list, f"heads.{name}."), f"heads.{name}.layers")
             for name, table in need(raw, "heads", dict, default={}).items()}
    outputs = tuple(heads) or ("prediction",)
    if any(l.type == "dropout" for l in trunk) and not any(d.kind == "seed" for d in inputs):
        fail("a 'dropout' layer takes its randomness from a 'seed' input: declare one (kind = 'seed')")

    if "loss" in raw:
        loss = need(raw, "loss", str)
        if len(labels) != 1 or len(outputs) != 1:
            fail("'loss' names one loss for one output and one label; use [[losses]] for more")
        terms = (LossTerm(outputs[0], labels[0].name, loss, 1.0),)
    else:
        terms = tuple(LossTerm(need(t, "output", str, "losses."), need(t, "label", str, "losses."),
                               need(t, "type", str, "losses."), need(t, "weight", float, "losses."))
                      for t in need(raw, "losses", list))
    for term in terms:
        if term.type not in LOSSES:
            fail(f"loss {term.type!r} is not one of {sorted(LOSSES)}")
        if term.output not in outputs or term.label not in {l.name for l in labels}:
            fail(f"loss term {term} names an unknown output or label (outputs {outputs})")

    optimizer = copy.deepcopy(need(raw, "optimizer", dict))
    opt_name = need(optimizer, "name", str, "optimizer.")
    if opt_name not in OPTIMIZERS:
        fail(f"optimizer.name {opt_name!r} is not one of {sorted(OPTIMIZERS)}")
    unknown = set(optimizer) - OPTIMIZERS[opt_name] - {"name", "schedule"}
    if unknown:
        fail(f"optimizer ({opt_name}) has unknown keys {sorted(unknown)}")
    if "schedule" in optimizer:
        schedule = need(optimizer, "schedule", dict, "optimizer.")
        if need(schedule, "name", str, "optimizer.schedule.") not in SCHEDULES:
            fail(f"optimizer.schedule.name must be one of {sorted(SCHEDULES)}")
        if set(schedule) - {"name"} != SCHEDULES[schedule["name"]]:
            fail(f"optimizer.schedule needs exactly {sorted(SCHEDULES[schedule['name']])}")
        if "learning_rate" in optimizer:
            fail("optimizer: give either learning_rate or a schedule, not both")

    precision = need(raw, "precision", str, default="float32")
    if precision not in PRECISIONS:
        fail(f"precision {precision!r} is not one of {sorted(PRECISIONS)}")
    distribute = need(raw, "distribute", dict, default={})
    replicas = need(distribute, "replicas", int, "distribute.", 0)
    pretrain = need(distribute, "pretrain_steps", int, "distribute.", 0)

    training = need(raw, "training", dict)
    sizes = {k: need(training, k, int, "training.") for k in ("batch_size", "steps", "resume_steps", "predict_size")}
    for key, value in sizes.items():
        if value <= 0:
            fail(f"training.{key} must be positive, got {value}")
    routes = need(raw, "routes", list)
    if not routes or not set(routes) <= ROUTES:
        fail(f"routes must be a non-empty list of {sorted(ROUTES)}, got {routes!r}")
    ci_routes = need(raw, "ci_routes", list, default=routes)
    if not set(ci_routes) <= set(routes):
        fail(f"ci_routes {ci_routes} must be a subset of routes {routes}")

    digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
    return Spec(
        name=need(raw, "name", str),
        description=raw.get("description", ""),
        seed=need(raw, "seed", int),
        routes=tuple(routes),
        ci_routes=tuple(ci_routes),
        inputs=inputs,
        labels=labels,
        layers=trunk,
        heads=heads,
        losses=terms,
        precision=precision,
        optimizer=optimizer,
        replicas=replicas,
        pretrain_steps=pretrain,
        digest=digest,
        raw=raw,
        **sizes,
    )
