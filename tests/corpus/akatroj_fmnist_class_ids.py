"""A federated Fashion-MNIST client: class ids as a float [None] vector, sparse cross-entropy over a 10-logit head.

Follows github.com/Akatroj/Federated-Learning-in-MCC, federated_learning/fmnist_testing/model.py. `FmnistModel`
(tf.Module) compiles Flatten -> Dense(128, relu) -> Dense(10) with Adam(1e-4) and
SparseCategoricalCrossentropy(from_logits=True); `train_epoch(x_batch, y_batch)` takes the labels as class ids in a
float32 [None] vector (the script feeds train_labels.astype(float32)); `predict` answers the argmax as int32 beside
the logits; `compute_loss(y_true [None], logits_pred [None, 10])` evaluates the loss of given tensors (no
variable); `save(path)`/`restore(path)` are raw-op over every model.weights entry; `get_weights_for_fl(unused)` (a
dummy string input) and `set_weights_from_fl(a0, a1, ...)` carry the weights by value.

Kept here, with Keras 2 (tf_keras, the repository's era): all seven signatures, float class ids in [0, 10) read by
the sparse loss, the int32 argmax output, Adam at 1e-4. Smaller: 4x4 images, 8 hidden units, seeded. Neither
convention carries Adam's slots or step. The broken twin's get_weights_for_fl/set_weights_from_fl pair skips the
last weight (the output bias).
"""

from __future__ import annotations

from pathlib import Path

from . import Case

IMG = 4
NUM_CLASSES = 10


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    class FmnistModel(tf.Module):
        def __init__(self, lr=1e-4):
            super().__init__()
            g = tf_keras.initializers.GlorotUniform
            self.model = tf_keras.Sequential([
                tf_keras.layers.Flatten(input_shape=(IMG, IMG)),
                tf_keras.layers.Dense(8, activation="relu", kernel_initializer=g(seed=61)),
                tf_keras.layers.Dense(NUM_CLASSES, kernel_initializer=g(seed=62)),
            ])
            self.model.compile(optimizer=tf_keras.optimizers.Adam(lr),
                               loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))

        def _by_value(self):
            weights = list(self.model.weights)
            return weights[:-1] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG], tf.float32), tf.TensorSpec([None], tf.float32)])
        def train_epoch(self, x_batch, y_batch):
            with tf.GradientTape() as tape:
                loss = self.model.loss(y_batch, self.model(x_batch))
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.model.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG], tf.float32)])
        def predict(self, x):
            logits = self.model(x)
            return {"output": tf.argmax(tf.nn.softmax(logits, axis=-1), axis=-1, output_type=tf.int32),
                    "logits": logits}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def save(self, path):
            weights = self.model.weights
            tf.raw_ops.Save(filename=path, tensor_names=[w.name for w in weights],
                            data=[w.read_value() for w in weights])
            return {"result": tf.constant(1)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32),
                                      tf.TensorSpec([None, NUM_CLASSES], tf.float32)])
        def compute_loss(self, y_true, logits_pred):
            return {"loss": self.model.loss(y_true, logits_pred)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def restore(self, path):
            for var in self.model.weights:
                var.assign(tf.raw_ops.Restore(file_pattern=path, tensor_name=var.name, dt=var.dtype))
            return {"result": tf.constant(1)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def get_weights_for_fl(self, unused):
            return {f"a{i}": w.read_value() for i, w in enumerate(self._by_value())}

        @tf.function
        def set_weights_from_fl(self, **params):
            for i, w in enumerate(self._by_value()):
                w.assign(params[f"a{i}"])
            return self.get_weights_for_fl(unused="...")

    model = FmnistModel()
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
        name="akatroj_fmnist_class_ids",
        source="Akatroj/Federated-Learning-in-MCC federated_learning/fmnist_testing/model.py",
        style="class ids as a float32 [None] vector into sparse cross-entropy over 10 logits, int32 argmax predict "
              "output, raw-op save/restore plus weights by value behind a dummy string input, compute_loss decoy",
        build=build,
        roles={"train": "train_epoch", "loss": "loss", "predict": "predict", "save": "save", "restore": "restore",
               "get_weights": "get_weights_for_fl", "set_weights": "set_weights_from_fl"},
        data={"x_batch": "data", "y_batch": "class-ids:10"},
        leaves_out={"signature": frozenset({"optimizer slots", "iteration counter"}),
                    "weights": frozenset({"optimizer slots", "iteration counter"}),
                    "saver": frozenset()},
        broken_leaves_out={"weights": frozenset({"variables"})},
    )
