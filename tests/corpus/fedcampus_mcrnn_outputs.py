"""FedCampus's Flower-on-Android client: parameters as an unnamed list (output_0, output_1, ...), a recurrent net.

Follows github.com/FedCampus/dyn_flower_android_drf, gen_tflite/__init__.py (at 721be2849aa7), with its
fed_mcrnn_eg model (gen_tflite/fed_mcrnn_eg/__init__.py). `BaseModel(tf.Module)` differs from Flower's own in that
`parameters` returns a Python list, so the signature's outputs are TF's default output_0, output_1, ..., and
`restore(**parameters)` takes inputs of those same names. `train` is `model.train_step((x, y))` (the Keras metrics
dict). The model: Conv1D + BatchNormalization blocks, a Dense, Flatten, RepeatVector, LSTMs with dropout=0.2,
Dense(1); compiled with only an MSE loss, so Keras's default optimizer (RMSprop) trains it.

Kept here, with Keras 2 (tf_keras, what the repository ran on): the output_<i> naming, the setter named restore,
train_step, one Conv1D + BatchNormalization block and one LSTM(dropout=0.2) at a width of 2, RMSprop by default.
`parameters` carries model.weights, so the BatchNormalization moving statistics travel with it; the RMSprop slots
and step do not, nor the loss tracker's total/count (train_step's "loss" is their running mean). The LSTM's dropout
draws unseeded random masks in every train step. The broken twin's parameters/restore pair skips the last weight
(the output bias).
"""

from __future__ import annotations

from pathlib import Path

from . import Case

STEPS, FEATURES = 4, 3


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    class FedMCRNN(tf.Module):
        def __init__(self):
            super().__init__()
            g = tf_keras.initializers.GlorotUniform
            self.model = tf_keras.Sequential([
                tf_keras.Input(shape=(STEPS, FEATURES)),
                tf_keras.layers.Conv1D(2, kernel_size=3, kernel_initializer=g(seed=1)),
                tf_keras.layers.BatchNormalization(),
                tf_keras.layers.Dense(2, activation="relu", kernel_initializer=g(seed=2)),
                tf_keras.layers.Flatten(),
                tf_keras.layers.RepeatVector(STEPS),
                tf_keras.layers.LSTM(2, dropout=0.2, return_sequences=True, kernel_initializer=g(seed=3),
                                     recurrent_initializer=tf_keras.initializers.Orthogonal(seed=4)),
                tf_keras.layers.Dense(1, kernel_initializer=g(seed=5)),
            ])
            self.model.compile(loss=tf_keras.losses.MeanSquaredError())

        def _carried(self):
            weights = list(self.model.weights)
            return weights[:-1] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, STEPS, FEATURES], tf.float32),
                                      tf.TensorSpec([None, 1], tf.float32)])
        def train(self, x, y):
            return self.model.train_step((x, y))

        @tf.function(input_signature=[tf.TensorSpec([None, STEPS, FEATURES], tf.float32)])
        def infer(self, x):
            return {"logits": self.model(x)}

        @tf.function(input_signature=[])
        def parameters(self):
            return [w.read_value() for w in self._carried()]

        @tf.function
        def restore(self, **parameters):
            for i, w in enumerate(self._carried()):
                w.assign(parameters[f"output_{i}"])
            return self.parameters()

    model = FedMCRNN()
    parameters = model.parameters.get_concrete_function()
    named = {f"output_{i}": p for i, p in enumerate(parameters())}
    restore = model.restore.get_concrete_function(**named)
    tf.saved_model.save(model, str(out), signatures={
        "train": model.train.get_concrete_function(),
        "infer": model.infer.get_concrete_function(),
        "parameters": parameters,
        "restore": restore,
    })


def case() -> Case:
    return Case(
        name="fedcampus_mcrnn_outputs",
        source="FedCampus/dyn_flower_android_drf gen_tflite/__init__.py",
        style="federated client: parameters() as a list (output_0, output_1, ...), setter restore(output_i), "
              "train_step with RMSprop by default, BatchNormalization statistics among the weights, LSTM dropout",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": None, "restore": None,
               "get_weights": "parameters", "set_weights": "restore"},
        data={"x": "data", "y": "data"},
        leaves_out={"weights": frozenset({"optimizer slots", "iteration counter", "non-trainable statistics",
                                           "random state"}),
                    "saver": frozenset({"random state"})},
        broken_leaves_out={"weights": frozenset({"variables"})},
        verdict="not conformant: unseeded-dropout",
        trains_randomly=True,
    )
