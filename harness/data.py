"""Deterministic training data, generated from a spec's seed and shipped beside each export.

Layout of data.npz: one array per signature input, keyed "<signature>.<input>".
"train.*" arrays are stacked per step ([steps, batch, ...]); "predict.*" is one batch.
"""

from __future__ import annotations

import numpy as np

from .spec import Spec


def generate(spec: Spec) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    (x,), (y,) = spec.inputs, spec.labels
    steps = spec.steps + spec.resume_steps
    features = int(np.prod(x.shape))
    # A smooth nonlinear target with noise: the loss falls but does not reach zero in a few steps.
    w = rng.standard_normal(features)

    def target(inputs: np.ndarray) -> np.ndarray:
        flat = inputs.reshape(*inputs.shape[: -len(x.shape)], features)
        signal = np.sin(flat @ w)[..., None] + 0.5 * flat[..., :1]
        return np.broadcast_to(signal, (*signal.shape[:-1], *y.shape))

    train_x = rng.standard_normal((steps, spec.batch_size, *x.shape))
    train_y = target(train_x) + 0.1 * rng.standard_normal((steps, spec.batch_size, *y.shape))
    predict_x = rng.standard_normal((spec.predict_size, *x.shape))
    return {
        f"train.{x.name}": train_x.astype(x.dtype),
        f"train.{y.name}": train_y.astype(y.dtype),
        f"predict.{x.name}": predict_x.astype(x.dtype),
    }


def batch(data: dict[str, np.ndarray], signature: str, step: int | None = None) -> dict[str, np.ndarray]:
    """The feeds of one call: step `step` of the "train.*" arrays, or the "predict.*" arrays."""
    prefix = signature + "."
    return {
        key[len(prefix):]: (value if step is None else value[step])
        for key, value in data.items()
        if key.startswith(prefix)
    }
