"""A regression net in the TFLite guide's mould, trained through the compiled model's own loss and optimizer.

Follows github.com/dkds/budget-predictor-test-1, models/budget_predictor.py. Its `Model(tf.Module)` compiles a
Sequential (Dense(256, relu) over 12 inputs, Dense(1)) with optimizer='adam', MSE and metrics; `train` takes the
loss from `self.model.loss` and applies it with `self.model.optimizer` (Adam, so m and v slots and a step counter);
`infer` returns both the raw output ("logits") and a softmax over its single unit ("output", which is 1.0 whatever
the input); `save`/`restore` write and read every model.weights entry by name with raw ops.

Kept here, with Keras 2 (tf_keras, what the guide-era code ran on): optimizer='adam' by string, the compiled loss
and optimizer used by hand, the two infer outputs, the raw-op checkpoint of model.weights (no slots, no step).
Smaller: 8 hidden units, seeded initializers. The broken twin's save and restore skip the first kernel.
"""

from __future__ import annotations

from pathlib import Path

from . import Case

INPUT_SIZE = 12


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            g = tf_keras.initializers.GlorotUniform
            self.model = tf_keras.Sequential([
                tf_keras.layers.Dense(8, activation="relu", input_shape=(INPUT_SIZE,), name="dense_1",
                                      kernel_initializer=g(seed=21)),
                tf_keras.layers.Dense(1, name="output", kernel_initializer=g(seed=22)),
            ])
            self.model.compile(optimizer="adam", loss=tf_keras.losses.MeanSquaredError(), metrics=["mse"])

        def _checkpointed(self):
            weights = list(self.model.weights)
            return weights[1:] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, INPUT_SIZE], tf.float32),
                                      tf.TensorSpec([None, 1], tf.float32)])
        def train(self, x, y):
            with tf.GradientTape() as tape:
                loss = self.model.loss(y, self.model(x))
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.model.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None, INPUT_SIZE], tf.float32)])
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
        name="dkds_budget_predictor",
        source="dkds/budget-predictor-test-1 models/budget_predictor.py",
        style="Keras 2 model compiled with optimizer='adam', train through model.loss and model.optimizer, infer "
              "with a constant softmax beside the logits, raw-op Save/Restore of model.weights",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "restore",
               "get_weights": None, "set_weights": None},
        data={"x": "data", "y": "data"},
        leaves_out={"signature": frozenset({"optimizer slots", "iteration counter"}), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
