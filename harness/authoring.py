"""Authoring routes: the ways users write a training export, each turning a Spec into a SavedModel.

Every route exports the same four signatures:
  train(x, y) -> {"loss"}         one optimizer step
  predict(x) -> {"prediction"}
  save(checkpoint_path) -> {"checkpoint_path"}     TF Lite on-device training convention:
  restore(checkpoint_path) -> {"checkpoint_path"}  SaveV2/RestoreV2 of every variable by name
besides the SavedModel's own saver_def (what TF Java's Session.save/restore use).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import tensorflow as tf

from .errors import HarnessError
from .spec import Spec

# route -> (Keras package, packaging)
ROUTES = {
    "tf_keras": ("tf_keras", "module"),  # Keras 2 layers and optimizer inside a tf.Module
    "keras3_archive": ("keras", "archive"),  # Keras 3 exported with keras.export.ExportArchive
    "keras3_module": ("keras", "module"),  # Keras 3 held by a plain tf.Module, tf.saved_model.save
}
SIGNATURES = ("train", "predict", "save", "restore")


def export(spec: Spec, route: str, out: Path) -> list[str]:
    """Writes the SavedModel for `spec` by `route` into `out`; returns the save-signature names."""
    if route not in ROUTES:
        raise HarnessError(f"route {route!r} is not one of {sorted(ROUTES)}")
    package, packaging = ROUTES[route]
    keras = importlib.import_module(package)
    keras.backend.clear_session()  # fresh layer names: the export does not depend on process history
    model = _model(keras, spec)
    optimizer = _optimizer(keras, spec)
    optimizer.build(model.trainable_variables)  # create the Adam slots before saving
    variables = _named_variables(model, optimizer)
    functions = _functions(spec, model, optimizer, variables)
    if packaging == "archive":
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.track(optimizer)
        for name, (fn, signature) in functions.items():
            archive.add_endpoint(name, fn, input_signature=signature)
        archive.write_out(str(out), verbose=False)
    else:
        module = tf.Module()
        module.model, module.optimizer = model, optimizer
        signatures = {}
        for name, (fn, signature) in functions.items():
            setattr(module, name, tf.function(fn, input_signature=signature))
            signatures[name] = getattr(module, name)
        tf.saved_model.save(module, str(out), signatures=signatures)
    return list(variables)


def _model(keras, spec: Spec):
    class FeatureScale(keras.layers.Layer):
        """A custom layer with its own trainable variable: one learned scale per feature."""

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return inputs * self.scale

    (x,) = spec.inputs
    inputs = keras.Input(shape=x.shape, dtype=x.dtype, name=x.name)
    h = inputs
    for i, layer in enumerate(spec.layers):
        if layer.type == "feature_scale":
            h = FeatureScale(dtype=x.dtype)(h)
        else:  # dense
            init = keras.initializers.GlorotUniform(seed=spec.seed + i)
            h = keras.layers.Dense(layer.units, activation=layer.activation, kernel_initializer=init, dtype=x.dtype)(h)
    return keras.Model(inputs, h)


def _optimizer(keras, spec: Spec):
    hyper = {k: v for k, v in spec.optimizer.items() if k != "name"}
    return keras.optimizers.Adam(**hyper)


def _named_variables(model, optimizer) -> dict:
    """Every model and optimizer variable under a readable, unique name (Keras 3 `.path`, else `.name`)."""
    opt_vars = optimizer.variables
    opt_vars = opt_vars() if callable(opt_vars) else opt_vars  # a method in tf_keras
    named = {}
    for v in [*model.variables, *opt_vars]:
        name = getattr(v, "path", None) or v.name.split(":")[0]
        if name in named:
            raise HarnessError(f"two variables are both named {name!r}: the save signature needs unique names")
        named[name] = v
    return named


def _functions(spec: Spec, model, optimizer, variables: dict) -> dict:
    (x,), (y,) = spec.inputs, spec.labels
    x_spec = tf.TensorSpec([None, *x.shape], x.dtype, name=x.name)
    y_spec = tf.TensorSpec([None, *y.shape], y.dtype, name=y.name)
    path_spec = tf.TensorSpec([], tf.string, name="checkpoint_path")
    names, values = list(variables), list(variables.values())

    def train(features, labels):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(features, training=True) - labels))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return {"loss": loss}

    def predict(features):
        return {"prediction": model(features, training=False)}

    # The outputs depend on the side effects explicitly: a signature that returns its input
    # unchanged is otherwise answered without running the function body at all.
    def save(checkpoint_path):
        tensors = [tf.convert_to_tensor(v) for v in values]
        written = tf.raw_ops.SaveV2(prefix=checkpoint_path, tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors)
        with tf.control_dependencies([written]):
            return {"checkpoint_path": tf.identity(checkpoint_path)}

    def restore(checkpoint_path):
        dtypes = [v.dtype for v in values]
        restored = tf.raw_ops.RestoreV2(prefix=checkpoint_path, tensor_names=names, shape_and_slices=[""] * len(names), dtypes=dtypes)
        assigned = [v.assign(tf.ensure_shape(value, v.shape)) for v, value in zip(values, restored)]
        with tf.control_dependencies(assigned):
            return {"checkpoint_path": tf.identity(checkpoint_path)}

    return {
        "train": (train, [x_spec, y_spec]),
        "predict": (predict, [x_spec]),
        "save": (save, [path_spec]),
        "restore": (restore, [path_spec]),
    }
