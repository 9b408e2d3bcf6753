"""The raw_module route: plain tf.Variables and tf.functions, no Keras; the optimizer in TF ops.

Implements the layers and optimizers a hand-written export usually has: feature_scale, dense,
seeded dropout; Adam (Keras' formulation) and SGD with (Nesterov) momentum.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ...errors import HarnessError
from ..spec import Spec
from . import common

ACTIVATIONS = {None: tf.identity, "relu": tf.nn.relu, "tanh": tf.tanh}


class RawModel(tf.Module):
    def __init__(self, spec: Spec):
        super().__init__(name="model")
        if spec.heads or spec.precision == "mixed_float16":
            raise HarnessError(f"raw_module implements single-output float32/float64 models, not {spec.name}")
        rng = np.random.default_rng(spec.seed)
        dtype = spec.precision
        width = spec.features.shape[-1]
        self.spec, self.layers = spec, []
        self.params = []
        for i, layer in enumerate(spec.layers):
            if layer.type == "feature_scale":
                self.params.append(tf.Variable(np.ones(width, dtype), name=f"layer{i}/scale"))
            elif layer.type == "dense":
                limit = np.sqrt(6.0 / (width + layer.units))  # Glorot uniform
                self.params.append(tf.Variable(rng.uniform(-limit, limit, (width, layer.units)).astype(dtype), name=f"layer{i}/kernel"))
                self.params.append(tf.Variable(np.zeros(layer.units, dtype), name=f"layer{i}/bias"))
                width = layer.units
            elif layer.type != "dropout":
                raise HarnessError(f"raw_module does not implement layer type {layer.type!r} ({spec.name})")

    def __call__(self, inputs: dict, training: bool):
        h = inputs[self.spec.features.name]
        params = iter(self.params)
        for i, layer in enumerate(self.spec.layers):
            if layer.type == "feature_scale":
                h = h * next(params)
            elif layer.type == "dense":
                h = ACTIVATIONS[layer.activation](tf.matmul(h, next(params)) + next(params))
            elif training:  # dropout, seeded by the train signature's seed input
                seed = tf.random.experimental.stateless_fold_in(tf.cast(inputs[self.spec.seed_input.name], tf.int64), i)
                h = tf.nn.experimental.stateless_dropout(h, layer.rate, seed=seed)
        return {"prediction": h}


class RawOptimizer(tf.Module):
    """Adam (as Keras computes it) or SGD with momentum, with an int64 iteration counter."""

    def __init__(self, spec: Spec, params):
        super().__init__(name="optimizer")
        options = dict(spec.optimizer)
        self.kind = options.pop("name")
        self.options = options  # assigned complete: tf.Module tracks dict attributes
        if self.kind not in ("adam", "sgd") or "schedule" in self.options or self.options.get("amsgrad"):
            raise HarnessError(f"raw_module implements Adam and SGD only, not {spec.optimizer} ({spec.name})")
        self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration")
        slots = ("m", "v") if self.kind == "adam" else ("momentum",) if self.options.get("momentum") else ()
        self.slots = {s: [tf.Variable(tf.zeros_like(p), name=f"{s}/{p.name.split(':')[0]}") for p in params] for s in slots}

    def apply(self, grads, params):
        o = self.options
        step = tf.cast(self.iteration + 1, params[0].dtype)
        lr = tf.cast(o.get("learning_rate", 0.001 if self.kind == "adam" else 0.01), params[0].dtype)
        for i, (g, p) in enumerate(zip(grads, params)):
            if self.kind == "adam":
                b1, b2, eps = (tf.cast(o.get(k, d), p.dtype) for k, d in (("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-7)))
                m, v = self.slots["m"][i], self.slots["v"][i]
                m.assign_add((g - m) * (1 - b1))
                v.assign_add((tf.square(g) - v) * (1 - b2))
                alpha = lr * tf.sqrt(1 - tf.pow(b2, step)) / (1 - tf.pow(b1, step))
                p.assign_sub(m * alpha / (tf.sqrt(v) + eps))
            elif "momentum" in self.slots:
                velocity, mu = self.slots["momentum"][i], tf.cast(o["momentum"], p.dtype)
                velocity.assign(mu * velocity - lr * g)
                p.assign_add(mu * velocity - lr * g if o.get("nesterov") else velocity)
            else:
                p.assign_sub(lr * g)
        self.iteration.assign_add(1)


def export(spec: Spec, out) -> list[str]:
    module = tf.Module()
    module.model = RawModel(spec)
    module.optimizer = RawOptimizer(spec, module.model.params)

    def train_step(feeds):
        with tf.GradientTape() as tape:
            loss = common.total_loss(spec, module.model(feeds, training=True), feeds)
        params = module.model.params
        module.optimizer.apply(tape.gradient(loss, params), params)
        return {"loss": loss}

    def predict(features):
        return module.model({spec.features.name: features}, training=False)

    slots = [v for group in module.optimizer.slots.values() for v in group]
    variables = common.named([*module.model.params, module.optimizer.iteration, *slots])
    common.save_module(module, common.signatures(spec, train_step, predict, variables), out)
    return list(variables)
