"""TensorFlow Lite's on-device training guide: a Keras Sequential inside a tf.Module, raw-op checkpoint of all weights.

Follows github.com/tensorflow/tensorflow, tensorflow/lite/g3doc/examples/on_device_training/overview.ipynb (the
"On-Device Training in TensorFlow Lite" notebook). Its `Model(tf.Module)` holds a Sequential (Flatten, Dense relu,
Dense softmax over 10 classes), compiles it with 'sgd' but trains with a second, separate SGD instance; `train`
calls CategoricalCrossentropy(prediction, y) (arguments swapped) and returns the loss plus every gradient keyed by
its tensor name; `save`/`restore` write and read every `model.weights` entry by name with tf.raw_ops.Save/Restore.

Kept here: that structure with Keras 2 (tf_keras, what tf.keras was for the guide's TF 2.7), the separate plain SGD
(tf_keras's legacy SGD, the guide-era optimizer: no slot at momentum 0, so its only state is the step), the
swapped-argument loss, gradients as extra outputs (keyed by layer instead of by graph tensor name). Smaller: 4x4
images, 8 hidden units, 10 classes, seeded initializers. The broken twin's save and restore skip the last bias.
"""

from __future__ import annotations

from pathlib import Path

from . import Case

IMG = 4
CLASSES = 10


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            init = tf_keras.initializers.GlorotUniform
            self.model = tf_keras.Sequential([
                tf_keras.layers.Flatten(input_shape=(IMG, IMG), name="flatten"),
                tf_keras.layers.Dense(8, activation="relu", name="dense_1", kernel_initializer=init(seed=1)),
                tf_keras.layers.Dense(CLASSES, activation="softmax", name="dense_2", kernel_initializer=init(seed=2)),
            ])
            self.model.compile(optimizer="sgd", loss=tf_keras.losses.CategoricalCrossentropy(from_logits=True))
            self._loss_fn = tf_keras.losses.CategoricalCrossentropy()
            self._optim = tf_keras.optimizers.legacy.SGD()  # TF 2.7's SGD: no slot at momentum 0

        def _checkpointed(self):
            weights = list(self.model.weights)
            return weights[:-1] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG], tf.float32),
                                      tf.TensorSpec([None, CLASSES], tf.float32)])
        def train(self, x, y):
            with tf.GradientTape() as tape:
                prediction = self.model(x)
                loss = self._loss_fn(prediction, y)  # swapped, as in the guide
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self._optim.apply_gradients(zip(gradients, self.model.trainable_variables))
            result = {"loss": loss}
            for var, grad in zip(self.model.trainable_variables, gradients):
                result["grad_" + var.name.replace("/", "_").replace(":0", "")] = grad
            return result

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG], tf.float32)])
        def infer(self, x):
            return {"output": self.model(x)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def save(self, checkpoint_path):
            weights = self._checkpointed()
            tf.raw_ops.Save(filename=checkpoint_path, tensor_names=[w.name for w in weights],
                            data=[w.read_value() for w in weights])
            return {"checkpoint_path": checkpoint_path}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def restore(self, checkpoint_path):
            restored = {}
            for var in self._checkpointed():
                value = tf.raw_ops.Restore(file_pattern=checkpoint_path, tensor_name=var.name, dt=var.dtype)
                var.assign(value)
                restored[var.name.replace("/", "_").replace(":0", "")] = value
            return restored

    model = Model()
    tf.saved_model.save(model, str(out), signatures={
        "train": model.train.get_concrete_function(),
        "infer": model.infer.get_concrete_function(),
        "save": model.save.get_concrete_function(),
        "restore": model.restore.get_concrete_function(),
    })


def case() -> Case:
    return Case(
        name="tflite_guide_fashion",
        source="tensorflow/tensorflow tensorflow/lite/g3doc/examples/on_device_training/overview.ipynb",
        style="Keras 2 Sequential in a tf.Module, a second plain SGD for train, gradients as extra train outputs, "
              "raw-op Save/Restore of model.weights by name",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "restore",
               "get_weights": None, "set_weights": None},
        data={"x": "data", "y": "data"},
        leaves_out={"signature": frozenset({"iteration counter"}), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
