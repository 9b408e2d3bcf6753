"""A federated-learning wrapper with both conventions: a raw-op checkpoint and weights by value (dummy string input).

Follows github.com/Akatroj/Federated-Learning-in-MCC, federated_learning/tflite_model_wrapper.py (the module) with
federated_learning/tflite_model_utils.py (its signatures) and federated_learning/models.py (the local-time model).
`TFLiteModelWrapper(tf.Module)` compiles a Keras model with Adam and MSE; the signatures are `train_epoch(x_batch,
y_batch)` (labels a [None] vector), `predict`, `save(path)`/`restore(path)` (raw-op Save/ Restore of every
model.weights entry, answering {"result": 1}), `compute_loss(y_true, y_pred)` (the loss of two given tensors: it
reads no variable), `get_weights_for_fl(unused)` — a scalar string input that is ignored, because the Android
TFLite runtime rejected signatures with no inputs — returning a0, a1, ..., and `set_weights_from_fl(a0, a1, ...)`.

Kept here, with Keras 2 (tf_keras, what the repository ran on): all seven signatures, the dummy string input, the
[None]-shaped labels, the Dense(5, relu) -> Dense(1) model over 4 inputs (seeded), Adam. Neither convention carries
Adam's slots or step. The broken twin's restore skips the last weight (the output bias).
"""

from __future__ import annotations

from pathlib import Path

from . import Case

INPUTS = 4


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    class TFLiteModelWrapper(tf.Module):
        def __init__(self):
            super().__init__()
            g = tf_keras.initializers.GlorotUniform
            self.model = tf_keras.Sequential([
                tf_keras.layers.Dense(5, activation="relu", kernel_initializer=g(seed=11)),
                tf_keras.layers.Dense(1, kernel_initializer=g(seed=12)),
            ])
            self.model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=0.001),
                               loss=tf_keras.losses.MeanSquaredError())
            self.model.build(input_shape=(None, INPUTS))

        @tf.function(input_signature=[tf.TensorSpec([None, INPUTS], tf.float32), tf.TensorSpec([None], tf.float32)])
        def train_epoch(self, x_batch, y_batch):
            with tf.GradientTape() as tape:
                loss = self.model.loss(y_batch, self.model(x_batch))
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.model.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None, INPUTS], tf.float32)])
        def predict(self, x):
            return {"output": self.model(x)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def save(self, path):
            weights = self.model.weights
            tf.raw_ops.Save(filename=path, tensor_names=[w.name for w in weights],
                            data=[w.read_value() for w in weights])
            return {"result": tf.constant(1)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32), tf.TensorSpec([None], tf.float32)])
        def compute_loss(self, y_true, y_pred):
            return {"loss": self.model.loss(y_true, y_pred)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def restore(self, path):
            weights = self.model.weights[:-1] if broken else self.model.weights
            for var in weights:
                var.assign(tf.raw_ops.Restore(file_pattern=path, tensor_name=var.name, dt=var.dtype))
            return {"result": tf.constant(1)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def get_weights_for_fl(self, unused):
            return {f"a{i}": w.read_value() for i, w in enumerate(self.model.weights)}

        @tf.function
        def set_weights_from_fl(self, **params):
            for i, w in enumerate(self.model.weights):
                w.assign(params[f"a{i}"])
            return self.get_weights_for_fl(unused="...")

    model = TFLiteModelWrapper()
    get_weights = model.get_weights_for_fl.get_concrete_function()
    initial = get_weights(unused=tf.constant("trash"))
    set_weights = model.set_weights_from_fl.get_concrete_function(**initial)
    tf.saved_model.save(model, str(out), signatures={
        "train_epoch": model.train_epoch.get_concrete_function(),
        "predict": model.predict.get_concrete_function(),
        "save": model.save.get_concrete_function(),
        "restore": model.restore.get_concrete_function(),
        "compute_loss": model.compute_loss.get_concrete_function(),
        "get_weights_for_fl": get_weights,
        "set_weights_from_fl": set_weights,
    })


def case() -> Case:
    return Case(
        name="akatroj_fl_wrapper",
        source="Akatroj/Federated-Learning-in-MCC federated_learning/tflite_model_wrapper.py",
        style="train named train_epoch with [None] labels, raw-op save/restore AND weights by value behind a dummy "
              "string input (get_weights_for_fl(unused)), a compute_loss decoy that reads no variable, Adam",
        build=build,
        roles={"train": "train_epoch", "loss": "loss", "predict": "predict", "save": "save", "restore": "restore",
               "get_weights": "get_weights_for_fl", "set_weights": "set_weights_from_fl"},
        data={"x_batch": "data", "y_batch": "data"},
        leaves_out={"signature": frozenset({"optimizer slots", "iteration counter"}),
                    "weights": frozenset({"optimizer slots", "iteration counter"}),
                    "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
