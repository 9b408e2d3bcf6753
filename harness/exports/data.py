"""Deterministic training data, generated from a spec's seed and shipped beside each export.

Layout of data.npz: one array per signature input, keyed "<signature>.<input>".
"train.*" arrays are stacked per step ([steps, batch, ...], a seed input [steps, ...]);
"predict.*" is one batch; "pretrain.*" (distributed specs) feeds the exporter only.
"""

from __future__ import annotations

import numpy as np

from .spec import Spec, TensorDecl


def generate(spec: Spec) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    x = spec.features
    probe = _Target(spec, rng)  # a fixed random function of the features: the thing to learn
    out = {}
    parts = [("train", spec.steps + spec.resume_steps), ("pretrain", spec.pretrain_steps)]
    for part, steps in parts:
        if steps == 0:
            continue
        features = _features(x, (steps, spec.batch_size), rng)
        out[f"{part}.{x.name}"] = features
        for label in spec.labels:
            out[f"{part}.{label.name}"] = probe(label, features)
        if spec.seed_input is not None:
            seed = spec.seed_input
            out[f"{part}.{seed.name}"] = rng.integers(0, 2**31 - 1, (steps, *seed.shape)).astype(seed.dtype)
    out[f"predict.{x.name}"] = _features(x, (spec.predict_size,), rng)
    return out


def _features(decl: TensorDecl, lead: tuple[int, ...], rng) -> np.ndarray:
    if decl.kind == "ids":
        return rng.integers(0, decl.range, (*lead, *decl.shape)).astype(decl.dtype)
    return rng.standard_normal((*lead, *decl.shape)).astype(decl.dtype)


class _Target:
    """Labels as a smooth function of the features, plus noise: learnable, not in a few steps."""

    def __init__(self, spec: Spec, rng):
        x = spec.features
        self.rng, self.feature_rank = rng, len(x.shape)
        self.table = rng.standard_normal(x.range) if x.kind == "ids" else None
        width = int(np.prod(x.shape))
        self.weights = {l.name: rng.standard_normal((width, int(np.prod(l.shape)) * (l.range or 1))) / np.sqrt(width)
                        for l in spec.labels}

    def __call__(self, label: TensorDecl, features: np.ndarray) -> np.ndarray:
        lead = features.shape[: features.ndim - self.feature_rank]
        flat = features.reshape(*lead, -1)
        flat = self.table[flat] if self.table is not None else flat.astype(np.float64)
        signal = np.sin(flat @ self.weights[label.name]) + 0.5 * flat[..., :1]
        if label.kind == "classes":
            scores = signal.reshape(*lead, *label.shape, label.range)
            return scores.argmax(-1).astype(label.dtype)
        noisy = signal + 0.1 * self.rng.standard_normal(signal.shape)
        return noisy.reshape(*lead, *label.shape).astype(label.dtype)


def batch(data: dict[str, np.ndarray], signature: str, step: int | None = None) -> dict[str, np.ndarray]:
    """The feeds of one call: step `step` of the "train.*" arrays, or the "predict.*" arrays."""
    prefix = signature + "."
    return {
        key[len(prefix):]: (value if step is None else value[step])
        for key, value in data.items()
        if key.startswith(prefix)
    }
