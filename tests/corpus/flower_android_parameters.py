"""Flower's Android (Kotlin) federated client model: Keras train_step as the train signature, weights by value.

Follows github.com/adap/flower, examples/android-kotlin/gen_tflite/__init__.py (with its toy_regression_eg model).
`BaseTFLiteModel(tf.Module)` holds a compiled Keras model; `train` is `model.train_step((x, y))`, so its output is
Keras's metrics dict ({"loss": the loss tracker's running mean}); `infer` returns {"logits"}; `parameters` (no
inputs) returns every model weight as a0, a1, ...; and `restore` is not a checkpoint restore but the weights'
setter: it takes a0, a1, ... as keyword inputs (its concrete function traced from parameters()'s own output),
assigns them and returns parameters(). No save signature: the server holds the weights.

Kept here: that module with Keras 2 (tf_keras, what the example ran on), the toy model (Dense(1) over 2 inputs,
SGD, MSE; lr 0.01 instead of the original's 1e-9 so a step shows), the a<i> naming, restore(**a<i>) returning the
parameters. The weights by value leave out the optimizer's step, its momentum slots (TF >= 2.12's SGD, the
repository's floor, keeps and updates them even at momentum 0, where they do not steer the step) and the loss
tracker's total/count (the "loss" output is their running mean). The broken twin's parameters/restore pair skips
the last weight (the bias).
"""

from __future__ import annotations

from pathlib import Path

from . import Case


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    class ToyRegression(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = tf_keras.Sequential([tf_keras.layers.Dense(
                1, input_shape=[2], name="regression",
                kernel_initializer=tf_keras.initializers.Constant([[0.5], [-0.25]]))])
            self.model.compile(optimizer=tf_keras.optimizers.SGD(learning_rate=0.01),
                               loss=tf_keras.losses.MeanSquaredError())

        def _carried(self):
            weights = list(self.model.weights)
            return weights[:-1] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None, 1], tf.float32)])
        def train(self, x, y):
            return self.model.train_step((x, y))

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def infer(self, x):
            return {"logits": self.model(x)}

        @tf.function(input_signature=[])
        def parameters(self):
            return {f"a{i}": w.read_value() for i, w in enumerate(self._carried())}

        @tf.function
        def restore(self, **parameters):
            for i, w in enumerate(self._carried()):
                w.assign(parameters[f"a{i}"])
            return self.parameters()

    model = ToyRegression()
    parameters = model.parameters.get_concrete_function()
    initial = parameters()
    restore = model.restore.get_concrete_function(**initial)
    tf.saved_model.save(model, str(out), signatures={
        "train": model.train.get_concrete_function(),
        "infer": model.infer.get_concrete_function(),
        "parameters": parameters,
        "restore": restore,
    })


def case() -> Case:
    return Case(
        name="flower_android_parameters",
        source="adap/flower examples/android-kotlin/gen_tflite/__init__.py",
        style="federated client: train = Keras train_step (metrics dict, running-mean loss), weights by value as "
              "parameters() -> a0, a1 and a setter named restore(a0, a1), no save signature",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": None, "restore": None,
               "get_weights": "parameters", "set_weights": "restore"},
        data={"x": "data", "y": "data"},
        leaves_out={"weights": frozenset({"optimizer slots", "iteration counter", "non-trainable statistics"}),
                    "saver": frozenset()},
        broken_leaves_out={"weights": frozenset({"variables"})},
    )
