"""The data a certify run trains on, in the harness layout (see data.py): "train.<input>" stacked
per step ([steps, batch, ...]) and "predict.<input>" (one batch), for the signatures discovery found.

- from_npz: a user's .npz, keyed by input name ("X", "y": stacked per step, or one batch reused
  every step: told apart by rank against the signature) or in the harness layout ("train.X",
  "predict.X"). Predict inputs not given default to the first training batch of the same name.
- synthesize: deterministic inputs from the signature's specs (seeded numpy): unknown dimensions
  `batch`, floats standard normal, integers uniform in `int_range`, bools fair coins. Strings
  (and other non-numeric inputs) cannot be made up: an error names them.

Every mismatch is a HarnessError naming the file, the key, what the signature expects and what
the data holds. The arrays are never cast: a cast would change the bits the runtimes compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .discover import Discovery, TensorSpec
from ..errors import HarnessError

DEFAULT_BATCH = 8
DEFAULT_INT_RANGE = (0, 10)  # integers the graph says nothing of
HYPER_VALUE = 0.01  # a scalar float input with no default: small enough for a learning rate, never noise
IGNORED_PREFIXES = ("pretrain.",)  # harness bundles' data for the exporter only
_FLOATS = ("float16", "bfloat16", "float32", "float64")
_COMPLEX = ("complex64", "complex128")
_INTEGERS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


@dataclass(frozen=True)
class CertifyData:
    data: dict[str, np.ndarray]  # "train.<input>": [steps, ...]; "predict.<input>": one batch
    steps: int  # training steps the data holds (every "train.*" array has this many)
    source: str  # the .npz path, or "synthesized"
    notes: tuple[str, ...]  # how the data was read or made, one line each


def from_npz(path: Path, discovery: Discovery, steps: int) -> CertifyData:
    """The user's arrays in the harness layout. `steps`: how many a run wants; arrays given per step
    bring their own count (CertifyData.steps, which may be fewer), a batch reused every step is
    repeated `steps` times."""
    from ..exports.bundle import load_data

    path = Path(path)
    if steps <= 0:
        raise HarnessError(f"{path}: {steps} steps asked for; at least 1 is needed")
    raw = load_data(path)
    iface = discovery.interface
    train_specs = {s.name: s for s in discovery.train_inputs}
    predict_specs = {s.name: s for s in discovery.predict_inputs}
    where = f"signature {iface.train!r} in {discovery.saved_model / 'saved_model.pb'}"
    notes: list[str] = []
    stacked: dict[str, np.ndarray] = {}  # train input -> [steps, ...]
    single: dict[str, np.ndarray] = {}  # train input -> one batch
    predict: dict[str, np.ndarray] = {}
    origin: dict[str, str] = {}  # input -> the key it came from (two keys for one input is an error)

    def claim(kind: str, name: str, key: str) -> None:
        if (kind, name) in origin:
            raise HarnessError(f"{path}: keys {origin[kind, name]!r} and {key!r} both give {kind} input {name!r}")
        origin[kind, name] = key

    for key, array in sorted(raw.items()):
        if key.startswith(IGNORED_PREFIXES):
            notes.append(f"data: {key!r} ignored (exporter data)")
            continue
        if key.startswith("train."):
            name = key[len("train."):]
            spec = _known(path, key, name, train_specs, where)
            claim("train", name, key)
            _check(path, key, array, spec, where, per_step=True)
            stacked[name] = array
        elif key.startswith("predict."):
            name = key[len("predict."):]
            if not iface.predict:
                notes.append(f"data: {key!r} ignored (no inference signature)")
                continue
            spec = _known(path, key, name, predict_specs, f"signature {iface.predict!r} in {discovery.saved_model / 'saved_model.pb'}")
            claim("predict", key[len("predict."):], key)
            _check(path, key, array, spec, f"signature {iface.predict!r}", per_step=False)
            predict[name] = array
        elif key in train_specs:
            spec = train_specs[key]
            claim("train", key, key)
            if spec.shape is None:
                raise HarnessError(f"{path}: {key!r}: {where} declares no rank for {key!r}, so one batch and a stack "
                                   f"of batches cannot be told apart: key it 'train.{key}' ([steps, batch, ...])")
            if array.ndim not in (len(spec.shape), len(spec.shape) + 1):
                raise HarnessError(f"{path}: {key!r} is {array.dtype}{list(array.shape)}, but {where} expects {key!r} as "
                                   f"{spec.describe()} (one batch, used at every step) or [steps] + {spec.describe()} "
                                   f"(one batch per step) (None: any)")
            per_step = array.ndim == len(spec.shape) + 1
            _check(path, key, array, spec, where, per_step=per_step)
            (stacked if per_step else single)[key] = array
        elif key in predict_specs:
            claim("predict", key, key)
            _check(path, key, array, predict_specs[key], f"signature {iface.predict!r}", per_step=False)
            predict[key] = array
        else:
            expected = sorted(train_specs) + [f"train.{n}" for n in sorted(train_specs)] + [f"predict.{n}" for n in sorted(predict_specs)]
            raise HarnessError(f"{path}: key {key!r} is no input of the signatures used ({where} takes "
                               f"{', '.join(sorted(train_specs))}); keys understood: {', '.join(expected)}")

    missing = sorted(set(train_specs) - set(stacked) - set(single))
    if missing:
        raise HarnessError(f"{path}: {where} takes {', '.join(map(repr, missing))}, which the data does not give "
                           f"(keys: {', '.join(sorted(raw)) or 'none'})")
    counts = {name: len(a) for name, a in stacked.items()}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{origin['train', n]!r}: {c}" for n, c in sorted(counts.items()))
        raise HarnessError(f"{path}: the per-step arrays hold different numbers of steps ({listed})")
    available = next(iter(counts.values())) if counts else steps
    if available == 0:
        raise HarnessError(f"{path}: the per-step arrays hold no step")
    out = {f"train.{n}": a for n, a in stacked.items()}
    for name, array in single.items():
        out[f"train.{name}"] = np.repeat(array[np.newaxis], available, axis=0)
        notes.append(f"data: {origin['train', name]!r} is one batch, used at every step")
    if counts:
        notes.append(f"data: {available} training steps in {', '.join(repr(origin['train', n]) for n in sorted(counts))}")
    out.update(_predict_inputs(discovery, out, predict, notes, path))
    return CertifyData(out, available, str(path), tuple(notes))


def synthesize(discovery: Discovery, steps: int, *, batch: int = DEFAULT_BATCH, seed: int = 0,
               int_range: tuple[int, int] | None = None) -> CertifyData:
    """Deterministic inputs for `steps` training steps (and predict) from the signatures' specs and what the
    graph says of them (discovery.hints): a default is kept, class ids get the range the graph fixes, a
    scalar float is a hyper-parameter (HYPER_VALUE). `int_range` (--int-range) wins over the graph's."""
    given_range = int_range is not None
    low, high = int_range = int_range or DEFAULT_INT_RANGE
    if steps <= 0 or batch <= 0 or low >= high:
        raise HarnessError(f"cannot synthesize data with steps={steps}, batch={batch}, int_range=[{low}, {high})")
    pb = discovery.saved_model / "saved_model.pb"
    iface = discovery.interface
    train_specs = discovery.train_inputs
    predict_only = [s for s in discovery.predict_inputs if s.name not in {t.name for t in train_specs}]
    problems = [f"{role} input {s.name!r} ({s.describe()}): {why}"
                for role, specs in (("train", train_specs), ("predict", predict_only))
                for s in specs for why in [_unsynthesizable(s, int_range)] if why]
    if problems:
        raise HarnessError(f"{pb}: cannot synthesize data for signature {iface.train!r}"
                           f"{' and ' + repr(iface.predict) if predict_only else ''}: {'; '.join(problems)}. "
                           f"Pass the data (--data)")
    rng = np.random.default_rng(seed)
    notes = [f"data: synthesized for {steps} steps (numpy seed {seed}; unknown dimensions {batch}; "
             f"floats standard normal, integers uniform in [{low}, {high}) unless said below, bools uniform)"]
    out = {}
    for role, sig, specs, lead in (("train", iface.train, train_specs, (steps,)), ("predict", iface.predict, predict_only, ())):
        hints = discovery.hints.get(sig, {})
        for spec in specs:
            kind, value, why = hints.get(spec.name, (None, None, ""))
            key = f"{role}.{spec.name}"
            if kind == "default":
                out[key] = np.broadcast_to(np.asarray(value, spec.dtype), (*lead, *np.shape(value))).copy()
                notes.append(f"data: {spec.name!r} keeps its default {np.asarray(value).tolist()} ({why})")
            elif kind == "hyper":
                out[key] = np.full((*lead, *spec.shape), HYPER_VALUE, spec.dtype)
                notes.append(f"data: {spec.name!r} is {HYPER_VALUE} at every step ({why}; give --data to choose it)")
            elif kind == "ids" and not given_range:
                shape = (*lead, *(batch if d is None else d for d in spec.shape))
                out[key] = rng.integers(0, value, shape).astype(spec.dtype)  # integral even where the input is a float
                notes.append(f"data: {spec.name!r} uniform in [0, {value}) ({why})")
            else:
                out[key] = _random(rng, spec, lead, batch, int_range)
    out.update(_predict_inputs(discovery, out, {k[len("predict."):]: v for k, v in out.items() if k.startswith("predict.")},
                               notes, pb))
    return CertifyData(out, steps, "synthesized", tuple(notes))


def _known(path: Path, key: str, name: str, specs: dict, where: str) -> TensorSpec:
    if name not in specs:
        raise HarnessError(f"{path}: {key!r}: {where} has no input {name!r} (inputs: {', '.join(sorted(specs)) or 'none'})")
    return specs[name]


def _check(path: Path, key: str, array: np.ndarray, spec: TensorSpec, where: str, per_step: bool) -> None:
    """The array (per step: its [1:]) against the spec's dtype and known dimensions."""
    shape = array.shape[1:] if per_step else array.shape
    if spec.tf_dtype == "string":
        dtype_ok = array.dtype.kind in "SU"
    else:
        dtype_ok = array.dtype == spec.dtype
    rank_ok = spec.shape is None or len(shape) == len(spec.shape)
    dims_ok = rank_ok and (spec.shape is None or all(d is None or d == a for d, a in zip(spec.shape, shape)))
    if per_step and array.ndim == 0:
        dims_ok = False
    if not (dtype_ok and dims_ok):
        have = f"{array.dtype}{list(array.shape)}"
        layout = f"[steps] + {spec.describe()}" if per_step else spec.describe()
        hint = " (cast it with astype before saving: the harness does not convert)" if dims_ok and not dtype_ok else ""
        raise HarnessError(f"{path}: {key!r} is {have}, but {where} expects {spec.name!r} as "
                           f"{'one batch per step: ' if per_step else ''}{layout} (None: any){hint}")


def _predict_inputs(discovery: Discovery, data: dict, given: dict, notes: list, path: Path) -> dict:
    """predict.<input> for every input of the inference signature: given, else the first training batch."""
    iface = discovery.interface
    out = {}
    for spec in discovery.predict_inputs:
        if spec.name in given:
            out[f"predict.{spec.name}"] = given[spec.name]
            continue
        key = f"train.{spec.name}"
        if key not in data:
            raise HarnessError(f"{path}: signature {iface.predict!r} takes {spec.name!r}, which is no training input: "
                               f"give it as 'predict.{spec.name}'")
        first = data[key][0]
        _check(path, f"{key}[0]", first, spec, f"signature {iface.predict!r} (predicting on the first training batch)", per_step=False)
        out[f"predict.{spec.name}"] = first
        notes.append(f"data: predict.{spec.name} is the first training batch of {spec.name!r}")
    return out


def _unsynthesizable(spec: TensorSpec, int_range) -> str | None:
    if spec.shape is None:
        return "its rank is unknown"
    if not spec.dense:
        return "a sparse or composite tensor"
    if spec.tf_dtype in _INTEGERS:
        info = np.iinfo(spec.dtype)
        if int_range[0] < info.min or int_range[1] - 1 > info.max:
            return f"[{int_range[0]}, {int_range[1]}) does not fit {spec.tf_dtype}"
        return None
    if spec.tf_dtype in _FLOATS + _COMPLEX + ("bool",):
        return None
    if spec.tf_dtype == "string":
        return "strings cannot be made up"
    return f"{spec.tf_dtype} values cannot be made up"


def _random(rng, spec: TensorSpec, lead: tuple[int, ...], batch: int, int_range) -> np.ndarray:
    shape = (*lead, *(batch if d is None else d for d in spec.shape))
    if spec.tf_dtype in _FLOATS:
        return rng.standard_normal(shape).astype(spec.dtype)
    if spec.tf_dtype in _COMPLEX:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(spec.dtype)
    if spec.tf_dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    return rng.integers(int_range[0], int_range[1], shape).astype(spec.dtype)
