"""Checks an export and its data before any runtime touches them; errors name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plan import checkpoints
from .data import batch
from ..errors import HarnessError

REQUIRED = {"train": "loss", "predict": None}  # signature -> output it must have


def check_export(saved_model: Path, data: dict[str, np.ndarray], data_path: Path) -> set[str]:
    """Validates `saved_model` against `data`; returns the names of its signatures."""
    from ..certify.discover import read_meta_graph

    saved_model = Path(saved_model)
    pb, meta = read_meta_graph(saved_model)
    signatures = {k: v for k, v in meta.signature_def.items() if not k.startswith("__")}  # not __saved_model_init_op
    for name, output in REQUIRED.items():
        if name not in signatures:
            raise HarnessError(f"{pb}: no {name!r} signature (it has: {', '.join(sorted(signatures)) or 'none'})")
        if output and output not in signatures[name].outputs:
            raise HarnessError(f"{pb}: signature {name!r} has no {output!r} output (outputs: {sorted(signatures[name].outputs)})")
        _check_inputs(pb, name, signatures[name], data, data_path, per_step=name == "train")
    checkpoints.read(saved_model / "variables" / "variables")  # a truncated data file fails here, by name
    return set(signatures)


def _check_inputs(pb: Path, name: str, signature, data, data_path: Path, per_step: bool) -> None:
    from tensorflow import as_dtype

    feeds = batch(data, name, 0 if per_step else None)
    want, have = set(signature.inputs), set(feeds)
    if want != have:
        raise HarnessError(f"{data_path}: signature {name!r} in {pb} takes inputs {sorted(want)}, "
                           f"but the data has {sorted(have)} (keys '{name}.<input>')")
    for key, info in signature.inputs.items():
        dtype = np.dtype(as_dtype(info.dtype).as_numpy_dtype)
        dims = [d.size for d in info.tensor_shape.dim]
        array = feeds[key]
        if array.dtype != dtype or len(array.shape) != len(dims) or any(d >= 0 and d != a for d, a in zip(dims, array.shape)):
            raise HarnessError(f"{data_path}: '{name}.{key}' is {array.dtype}{list(array.shape)}{' per step' if per_step else ''}, "
                               f"but signature {name!r} in {pb} expects {dtype}{dims} (-1: any)")
