"""The Keras routes: tf_keras (Keras 2), keras3_archive and keras3_module (Keras 3), and
tfkeras_module: `tf.keras` as the seed article writes it, Keras 2 up to TF 2.15 and Keras 3 from 2.16.

One model class for both Keras versions: the spec's trunk layers applied to the feature input,
then one stack of layers per output head.
"""

from __future__ import annotations

import contextlib
import importlib

import tensorflow as tf

from ..data import batch
from ...errors import HarnessError
from ..spec import Layer, Spec
from . import common

OPTIMIZER_CLASSES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                     "nadam": "Nadam"}


def export(spec: Spec, route: str, out, data) -> list[str]:
    keras = tf.keras if route == "tfkeras_module" else importlib.import_module("tf_keras" if route == "tf_keras" else "keras")
    keras.backend.clear_session()  # fresh layer names: the export does not depend on process history
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(spec.replicas)]) if spec.replicas else None
    with strategy.scope() if strategy else contextlib.nullcontext():
        model, optimizer = _build(keras, spec)
    train_step = _train_step(keras, spec, model, optimizer)
    if strategy:  # users train under the strategy, then export and train elsewhere without it
        step = tf.function(lambda feeds: strategy.run(train_step, args=(feeds,)))
        for i in range(spec.pretrain_steps):
            step({k: tf.constant(v) for k, v in batch(data, "pretrain", i).items()})
        # The exported functions are traced on a plain copy of the trained state. Traced on the
        # mirrored variables, train() updates every replica's copy (ops pinned to /cpu:0 and
        # /cpu:1); loaded without the strategy, two Python runs of it were seen to differ.
        plain_model, plain_optimizer = _build(keras, spec)
        for target, source in zip([*plain_model.variables, *_variables(plain_optimizer)],
                                  [*model.variables, *_variables(optimizer)]):
            target.assign(source)
        model, optimizer = plain_model, plain_optimizer
        train_step = _train_step(keras, spec, model, optimizer)

    def predict(features):
        return model({spec.features.name: features}, training=False)

    variables = common.named([*model.variables, *_variables(optimizer)])
    functions = common.signatures(spec, train_step, predict, variables)
    if route == "keras3_archive":
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.track(optimizer)
        for name, (fn, signature) in functions.items():
            archive.add_endpoint(name, fn, input_signature=signature)
        archive.write_out(str(out), verbose=False)
    else:
        module = tf.Module()
        module.model, module.optimizer = model, optimizer
        common.save_module(module, functions, out)
    return list(variables)


def is_keras3(keras) -> bool:
    """By the version of the top-level module it comes from, not by its name or a distribution's:
    tf.keras is keras.api._v2.keras (Keras 2) in TF 2.15 and keras._tf_keras.keras (Keras 3) from
    2.16; `keras` may be installed as `keras-nightly` (TF pre-releases)."""
    package = importlib.import_module(keras.__name__.split(".")[0])  # keras or tf_keras
    return int(package.__version__.split(".")[0]) >= 3


def _build(keras, spec: Spec):
    model = _model_class(keras)(spec)
    model(_example_inputs(spec))  # build the variables
    optimizer = _optimizer(keras, spec)
    optimizer.build(model.trainable_variables)  # create the slots before saving
    return model, optimizer


def _variables(optimizer) -> list:
    """The optimizer's variables, as the save and restore signatures must carry them: what it lists,
    and the tf.Variables it keeps as attributes without listing them (tf_keras' Nadam keeps its
    momentum-schedule product in `_u_product`: a restore without it resumes on another trajectory)."""
    variables = optimizer.variables
    listed = list(variables() if callable(variables) else variables)  # a method in tf_keras
    seen = {id(v) for v in listed}
    return listed + [v for v in vars(optimizer).values() if isinstance(v, tf.Variable) and id(v) not in seen]


def _train_step(keras, spec: Spec, model, optimizer):
    mixed = spec.precision == "mixed_float16"
    keras3 = is_keras3(keras)

    def train_step(feeds):
        inputs = {d.name: feeds[d.name] for d in spec.inputs}
        with tf.GradientTape() as tape:
            loss = common.total_loss(spec, model(inputs, training=True), feeds)
            scaled = (optimizer.scale_loss(loss) if keras3 else optimizer.get_scaled_loss(loss)) if mixed else loss
        grads = tape.gradient(scaled, model.trainable_variables)
        if mixed and not keras3:
            grads = optimizer.get_unscaled_gradients(grads)  # Keras 3 unscales inside apply_gradients
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return {"loss": loss}

    return train_step


def _optimizer(keras, spec: Spec):
    options = {k: v for k, v in spec.optimizer.items() if k not in ("name", "schedule")}
    if "schedule" in spec.optimizer:  # the learning rate follows the iteration counter
        schedule = {k: v for k, v in spec.optimizer["schedule"].items() if k != "name"}
        options["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(**schedule)
    optimizer = getattr(keras.optimizers, OPTIMIZER_CLASSES[spec.optimizer["name"]])(**options)
    if spec.precision == "mixed_float16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer


def _example_inputs(spec: Spec) -> dict:
    return {d.name: tf.zeros(([1] if d.batched else []) + list(d.shape), d.dtype) for d in spec.inputs}


def _model_class(keras):
    class FeatureScale(keras.layers.Layer):
        """A custom layer with its own trainable variable: one learned scale per feature."""

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return inputs * tf.cast(self.scale, inputs.dtype)

    class SeededDropout(keras.layers.Layer):
        """Dropout whose randomness comes from the train signature's seed input (stateless ops)."""

        def __init__(self, rate, index, **kwargs):
            super().__init__(**kwargs)
            self.rate, self.index = rate, index

        def call(self, inputs, seed=None, training=False):
            if not training:
                return inputs
            layer_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), self.index)
            return tf.nn.experimental.stateless_dropout(inputs, self.rate, seed=layer_seed)

    class StatefulDropout(keras.layers.Layer):
        """tf.nn.dropout with no seed: random state lives in the kernel, so runs cannot agree."""

        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate

        def call(self, inputs, training=False):
            return tf.nn.dropout(inputs, self.rate) if training else inputs

    def make(spec: Spec, layer: Layer, index: int):
        dtype = spec.precision
        seed = spec.seed + index
        glorot = keras.initializers.GlorotUniform(seed=seed)
        kind = layer.type
        if kind == "feature_scale":
            return FeatureScale(dtype=dtype)
        if kind == "dense":
            return keras.layers.Dense(layer.units, activation=layer.activation, kernel_initializer=glorot, dtype=dtype)
        if kind == "conv2d":
            return keras.layers.Conv2D(layer.filters, layer.kernel_size, activation=layer.activation,
                                       kernel_initializer=glorot, dtype=dtype)
        if kind == "max_pool2d":
            return keras.layers.MaxPooling2D(layer.pool_size, dtype=dtype)
        if kind == "flatten":
            return keras.layers.Flatten(dtype=dtype)
        if kind == "embedding":
            init = keras.initializers.RandomUniform(-0.05, 0.05, seed=seed)
            return keras.layers.Embedding(layer.input_dim, layer.output_dim, embeddings_initializer=init, dtype=dtype)
        if kind == "global_average_pool1d":
            return keras.layers.GlobalAveragePooling1D(dtype=dtype)
        if kind == "batch_normalization":
            return keras.layers.BatchNormalization(dtype=dtype)
        if kind == "lstm":
            return keras.layers.LSTM(layer.units, kernel_initializer=glorot,
                                     recurrent_initializer=keras.initializers.Orthogonal(seed=seed), dtype=dtype)
        if kind == "dropout":
            return SeededDropout(layer.rate, index, dtype=dtype)
        if kind == "stateful_dropout":
            return StatefulDropout(layer.rate, dtype=dtype)
        raise HarnessError(f"layer type {kind!r} has no Keras mapping")

    class SpecModel(keras.Model):
        def __init__(self, spec: Spec):
            super().__init__()
            self.spec = spec
            self.trunk = [make(spec, layer, i) for i, layer in enumerate(spec.layers)]
            offset = len(spec.layers)
            self.head_stacks = []
            for name, layers in spec.heads.items():
                self.head_stacks.append([make(spec, layer, offset + i) for i, layer in enumerate(layers)])
                offset += len(layers)

        def call(self, inputs, training=False):
            h = inputs[self.spec.features.name]
            seed = inputs.get(self.spec.seed_input.name) if self.spec.seed_input else None
            h = _apply(self.trunk, h, seed, training)
            if not self.head_stacks:
                return {"prediction": h}
            return {name: _apply(stack, h, seed, training) for name, stack in zip(self.spec.heads, self.head_stacks)}

    def _apply(layers, h, seed, training):
        for layer in layers:
            if isinstance(layer, SeededDropout):
                h = layer(h, seed=seed, training=training)
            else:
                h = layer(h, training=training)
        return h

    return SpecModel
