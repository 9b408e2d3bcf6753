"""The TFLite guide as commonly re-typed: a logits head, the compiled loss and optimizer, softmax only in infer.

Follows github.com/yingding/tf-every-day, 07tflite/custom_model.py (TF 2.10). Unlike the guide, the last Dense has
no activation; the model is compiled with optimizer='sgd' and CategoricalCrossentropy(from_logits=True), and
`train` uses exactly those (`self.model.loss(y, prediction)` in the right order, `self.model.optimizer`); `infer`
returns {"output": softmax, "logits"}; `save`/`restore` are the guide's raw-op pair over every model.weights entry.

Kept here, with Keras 2 (tf_keras, what TF 2.10 ships as tf.keras): the logits model, the compiled 'sgd' and loss
used by hand, the two infer outputs, the raw-op checkpoint. 'sgd' is TF 2.10's SGD (tf_keras's legacy one here),
which has no slot at momentum 0: only its step counter goes unsaved. Smaller: 4x4 inputs, 6 hidden units, 10
classes, seeded. The broken twin's save and restore skip the last kernel.
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
            g = tf_keras.initializers.GlorotUniform
            self.model = tf_keras.Sequential([
                tf_keras.layers.Flatten(input_shape=(IMG, IMG), name="flatten"),
                tf_keras.layers.Dense(6, activation="relu", name="dense_1", kernel_initializer=g(seed=51)),
                tf_keras.layers.Dense(CLASSES, activation=None, name="dense_2", kernel_initializer=g(seed=52)),
            ])
            self.model.compile(optimizer=tf_keras.optimizers.legacy.SGD(),  # what 'sgd' meant in TF 2.10
                               loss=tf_keras.losses.CategoricalCrossentropy(from_logits=True))

        def _checkpointed(self):
            weights = list(self.model.weights)
            return [w for i, w in enumerate(weights) if i != 2] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG], tf.float32),
                                      tf.TensorSpec([None, CLASSES], tf.float32)])
        def train(self, x, y):
            with tf.GradientTape() as tape:
                loss = self.model.loss(y, self.model(x))
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.model.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG], tf.float32)])
        def infer(self, x):
            logits = self.model(x)
            return {"output": tf.nn.softmax(logits, axis=-1), "logits": logits}

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
        name="yingding_logits_sgd",
        source="yingding/tf-every-day 07tflite/custom_model.py",
        style="logits model compiled with 'sgd' and from_logits cross-entropy used by hand in train, softmax only "
              "in infer (output + logits), raw-op Save/Restore of model.weights",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "restore",
               "get_weights": None, "set_weights": None},
        data={"x": "data", "y": "data"},
        leaves_out={"signature": frozenset({"iteration counter"}), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
