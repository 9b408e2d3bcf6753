"""What every TF2 route shares: signature input specs, the loss, and the save/restore signatures."""

from __future__ import annotations

import tensorflow as tf

from ...errors import HarnessError
from ..spec import Spec


def train_inputs(spec: Spec) -> list[tf.TensorSpec]:
    """Features, labels, then the per-step seed if any: the train signature's inputs, in order."""
    decls = [spec.features, *spec.labels] + ([spec.seed_input] if spec.seed_input else [])
    return [tf.TensorSpec(([None] if d.batched else []) + list(d.shape), d.dtype, name=d.name) for d in decls]


def predict_inputs(spec: Spec) -> list[tf.TensorSpec]:
    x = spec.features
    return [tf.TensorSpec([None, *x.shape], x.dtype, name=x.name)]


def loss_dtype(spec: Spec) -> tf.DType:
    return tf.float64 if spec.precision == "float64" else tf.float32


def total_loss(spec: Spec, outputs: dict, feeds: dict) -> tf.Tensor:
    """The spec's (weighted) loss, computed in float32 (float64 for float64 specs) whatever the compute dtype."""
    total = tf.constant(0.0, loss_dtype(spec))
    for term in spec.losses:
        out = tf.cast(outputs[term.output], loss_dtype(spec))
        label = feeds[term.label]
        if term.type == "mean_squared_error":
            value = tf.reduce_mean(tf.square(out - tf.cast(label, out.dtype)))
        else:  # sparse_softmax_cross_entropy, on logits
            value = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=label, logits=out))
        total += term.weight * value
    return total


def named(variables) -> dict:
    """Variables under readable, unique names (Keras 3 `.path`, else `.name` without ":0")."""
    out = {}
    for v in variables:
        name = getattr(v, "path", None) or v.name.split(":")[0]
        if name in out:
            raise HarnessError(f"two variables are both named {name!r}: the save signature needs unique names")
        out[name] = v
    return out


def signatures(spec: Spec, train_step, predict, variables: dict) -> dict:
    """name -> (python function, input signature) for train, predict, save and restore."""
    train_names = [s.name for s in train_inputs(spec)]
    names, values = list(variables), list(variables.values())

    def train(*args):
        return train_step(dict(zip(train_names, args)))

    # The outputs of save/restore depend on the side effects explicitly: a signature that returns
    # its input unchanged is otherwise answered without running the function body at all.
    def save(checkpoint_path):
        tensors = [tf.convert_to_tensor(v) for v in values]
        written = tf.raw_ops.SaveV2(prefix=checkpoint_path, tensor_names=names, shape_and_slices=[""] * len(names),
                                    tensors=tensors)
        with tf.control_dependencies([written]):
            return {"checkpoint_path": tf.identity(checkpoint_path)}

    def restore(checkpoint_path):
        restored = tf.raw_ops.RestoreV2(prefix=checkpoint_path, tensor_names=names, shape_and_slices=[""] * len(names),
                                        dtypes=[v.dtype for v in values])
        assigned = [v.assign(tf.ensure_shape(value, v.shape)) for v, value in zip(values, restored)]
        with tf.control_dependencies(assigned):
            return {"checkpoint_path": tf.identity(checkpoint_path)}

    path = [tf.TensorSpec([], tf.string, name="checkpoint_path")]
    return {"train": (train, train_inputs(spec)), "predict": (predict, predict_inputs(spec)),
            "save": (save, path), "restore": (restore, path)}


def save_module(module: tf.Module, functions: dict, out) -> None:
    """Attaches the functions to `module` and saves it with them as signatures."""
    signatures_ = {}
    for name, (fn, signature) in functions.items():
        setattr(module, name, tf.function(fn, input_signature=signature))
        signatures_[name] = getattr(module, name)
    tf.saved_model.save(module, str(out), signatures=signatures_)
