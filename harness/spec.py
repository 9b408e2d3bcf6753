"""Declarative reference-model specs (specs/*.toml), validated on load."""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HarnessError

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
LAYER_TYPES = {"feature_scale": set(), "dense": {"units", "activation"}}
LOSSES = {"mean_squared_error"}
OPTIMIZERS = {"adam": {"learning_rate", "beta_1", "beta_2", "epsilon"}}
DTYPES = {"float32", "float64"}


@dataclass(frozen=True)
class TensorDecl:
    name: str
    shape: tuple[int, ...]  # without the batch dimension
    dtype: str


@dataclass(frozen=True)
class Layer:
    type: str
    units: int | None = None
    activation: str | None = None


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    seed: int
    routes: tuple[str, ...]
    inputs: tuple[TensorDecl, ...]
    labels: tuple[TensorDecl, ...]
    layers: tuple[Layer, ...]
    loss: str
    optimizer: dict  # name plus hyper-parameters
    batch_size: int
    steps: int
    resume_steps: int
    predict_size: int
    digest: str  # sha256 of the parsed content: what export caching keys on
    raw: dict = field(repr=False, compare=False)

    def with_optimizer(self, **hyper) -> Spec:
        """A copy with some optimizer hyper-parameters replaced (used by property tests)."""
        raw = copy.deepcopy(self.raw)
        raw["optimizer"].update(hyper)
        return parse(raw, f"{self.name} (optimizer {hyper})")


def load(path: str | Path) -> Spec:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"{path}: spec file does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"{path}: not valid TOML: {e}") from None
    return parse(raw, str(path))


def find(name: str) -> Spec:
    """The spec called `name` in specs/."""
    path = SPECS_DIR / f"{name}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SPECS_DIR.glob("*.toml")))
        raise HarnessError(f"{path}: no spec named {name!r} (known: {known})")
    return load(path)


def all_specs() -> list[Spec]:
    return [load(p) for p in sorted(SPECS_DIR.glob("*.toml"))]


def parse(raw: dict, where: str) -> Spec:
    def fail(msg: str):
        raise HarnessError(f"{where}: {msg}")

    def need(table: dict, key: str, kind, ctx: str = ""):
        if key not in table:
            fail(f"missing key {ctx}{key!r}")
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            fail(f"{ctx}{key!r} must be {kind.__name__}, got {value!r}")
        return value

    def tensors(section: str) -> tuple[TensorDecl, ...]:
        table = need(raw, section, dict)
        if len(table) != 1:
            fail(f"[{section}] must declare exactly one tensor for now, got {list(table)}")
        out = []
        for name, decl in table.items():
            ctx = f"{section}.{name}."
            shape = need(decl, "shape", list, ctx)
            if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
                fail(f"{ctx}shape must be a list of positive ints, got {shape!r}")
            dtype = need(decl, "dtype", str, ctx)
            if dtype not in DTYPES:
                fail(f"{ctx}dtype {dtype!r} is not one of {sorted(DTYPES)}")
            out.append(TensorDecl(name, tuple(shape), dtype))
        return tuple(out)

    layers = []
    for i, table in enumerate(need(raw, "layers", list)):
        kind = need(table, "type", str, f"layers[{i}].")
        if kind not in LAYER_TYPES:
            fail(f"layers[{i}].type {kind!r} is not one of {sorted(LAYER_TYPES)}")
        extra = set(table) - {"type"} - LAYER_TYPES[kind]
        if extra:
            fail(f"layers[{i}] ({kind}) has unknown keys {sorted(extra)}")
        units = need(table, "units", int, f"layers[{i}].") if kind == "dense" else None
        layers.append(Layer(kind, units, table.get("activation")))

    optimizer = dict(need(raw, "optimizer", dict))
    opt_name = need(optimizer, "name", str, "optimizer.")
    if opt_name not in OPTIMIZERS:
        fail(f"optimizer.name {opt_name!r} is not one of {sorted(OPTIMIZERS)}")
    for key in OPTIMIZERS[opt_name]:
        optimizer[key] = need(optimizer, key, float, "optimizer.")
    unknown = set(optimizer) - OPTIMIZERS[opt_name] - {"name"}
    if unknown:
        fail(f"optimizer has unknown keys {sorted(unknown)}")

    loss = need(raw, "loss", str)
    if loss not in LOSSES:
        fail(f"loss {loss!r} is not one of {sorted(LOSSES)}")
    training = need(raw, "training", dict)
    positive = {k: need(training, k, int, "training.") for k in ("batch_size", "steps", "resume_steps", "predict_size")}
    for key, value in positive.items():
        if value <= 0:
            fail(f"training.{key} must be positive, got {value}")
    routes = need(raw, "routes", list)
    if not routes or not all(isinstance(r, str) for r in routes):
        fail(f"routes must be a non-empty list of route names, got {routes!r}")

    digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
    return Spec(
        name=need(raw, "name", str),
        description=raw.get("description", ""),
        seed=need(raw, "seed", int),
        routes=tuple(routes),
        inputs=tensors("inputs"),
        labels=tensors("labels"),
        layers=tuple(layers),
        loss=loss,
        optimizer=optimizer,
        digest=digest,
        raw=raw,
        **positive,
    )
