"""Keras 3 in a tf.Module, written by keras.export.ExportArchive with the module's tf.functions as endpoints.

Follows github.com/aflaischer/tflite_training, model/dnn_model.py. `DNNModel(tf.Module)` holds a Keras 3 Sequential
(Dense(100, sigmoid) x 3 over 40 inputs, Dense(1); glorot_normal) compiled with Adam and MSE, and defines
`train(features, targets)`, `infer`, `save(checkpoint_path)`/`restore(checkpoint_path)` as tf.functions (raw-op
Save/Restore keyed by each weight's underlying tf.Variable name, `weight.value.name`, since Keras 3's own names are
not unique). It does not call tf.saved_model.save: it traces every function once, then builds a
`keras.export.ExportArchive`, tracks the Keras model and adds the four functions as endpoints by name. (Its
converter sets experimental_enable_resource_variables only after convert().)

Kept here: Keras 3, ExportArchive with track(model) and the four endpoints, `.value` names in the raw-op checkpoint
(every model weight; no Adam slot, no step), Adam. Smaller: two Dense(4, sigmoid) over 6 inputs, seeded.
ExportArchive also writes its first endpoint, train, as serving_default: the export has two signatures that apply
gradients (the role is the one named train). The broken twin's save and restore skip the output bias.
"""

from __future__ import annotations

from pathlib import Path

from . import Case

INPUT_SIZE = 6
OUTPUT_SIZE = 1


def build(out: Path, broken: bool) -> None:
    import keras
    import tensorflow as tf

    class DNNModel(tf.Module):
        def __init__(self):
            super().__init__()
            g = keras.initializers.GlorotNormal
            self.model = keras.Sequential([
                keras.layers.InputLayer(shape=(INPUT_SIZE,)),
                keras.layers.Dense(4, activation="sigmoid", kernel_initializer=g(seed=41), name="dense_1"),
                keras.layers.Dense(4, activation="sigmoid", kernel_initializer=g(seed=42), name="dense_2"),
                keras.layers.Dense(OUTPUT_SIZE, kernel_initializer=g(seed=43), name="output"),
            ])
            self.model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
                               loss=keras.losses.MeanSquaredError())
            self.signatures = ["train", "infer", "save", "restore"]

        def _checkpointed(self):
            weights = list(self.model.weights)
            return weights[:-1] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, INPUT_SIZE], tf.float32),
                                      tf.TensorSpec([None, OUTPUT_SIZE], tf.float32)])
        def train(self, features, targets):
            with tf.GradientTape() as tape:
                loss = self.model.loss(targets, self.model(features))
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.model.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None, INPUT_SIZE], tf.float32)])
        def infer(self, features):
            return {"output": self.model(features)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def save(self, checkpoint_path):
            weights = self._checkpointed()
            tf.raw_ops.Save(filename=checkpoint_path, tensor_names=[w.value.name for w in weights],
                            data=[w.value.read_value() for w in weights])
            return {"checkpoint_path": checkpoint_path}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def restore(self, checkpoint_path):
            restored = {}
            for var in self._checkpointed():
                value = tf.raw_ops.Restore(file_pattern=checkpoint_path, tensor_name=var.value.name,
                                           dt=var.value.dtype)
                var.value.assign(value)
                restored[var.value.name.replace("/", "_").replace(":0", "")] = value
            return restored

    model = DNNModel()
    for name in model.signatures:  # as the original: trace each once before archiving
        getattr(model, name).get_concrete_function()
    archive = keras.export.ExportArchive()
    archive.track(model.model)
    for name in model.signatures:
        archive.add_endpoint(name=name, fn=getattr(model, name))
    archive.write_out(str(out), verbose=False)


def case() -> Case:
    return Case(
        name="aflaischer_exportarchive",
        source="aflaischer/tflite_training model/dnn_model.py",
        style="Keras 3 in a tf.Module, written by keras.export.ExportArchive (track(model), the module's "
              "train/infer/save/restore tf.functions as endpoints), raw-op checkpoint keyed by weight.value.name",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "restore",
               "get_weights": None, "set_weights": None},
        data={"features": "data", "targets": "data"},
        leaves_out={"signature": frozenset({"optimizer slots", "iteration counter"}), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
        verdict="not conformant: exportarchive-doubled-weights",
    )
