"""FedScale's TFLite export: a restore signature named `load`, a `test` signature that also answers "loss".

Follows github.com/SymbioticLab/FedScale, fedscale/utils/models/tflite_model_provider.py (convert_and_save with its
'linear' model). A compiled Keras model (Flatten, Dense(128, relu), Dense(num_classes) logits; SGD with momentum
0.9 and weight_decay 4e-5; CategoricalCrossentropy(from_logits=True)) is wrapped in a `TFLiteModel` tf.Module whose
signatures are `train(data, label)`, `test(data, label)` (loss, top1, top5: it computes a loss too, but applies
nothing), `infer(data)`, `save(checkpoint_path)` and — the restore — `load(checkpoint_path)`, both over every
model.weights entry by raw op. `load` returns only the last restored tensor (its dict write sits after the loop).
The momentum slots and the step are in no checkpoint the signatures write.

Kept here, with Keras 2 (tf_keras, what the repository ran on): the five signatures and their names, the test
outputs (top5 needs at least 5 classes: 5 here), SGD with momentum and weight decay, one-hot float labels, the
last-tensor-only load output. Smaller: 3x3x3 images, 8 hidden units, seeded. The broken twin's save and load skip
the hidden layer's bias.
"""

from __future__ import annotations

from pathlib import Path

from . import Case

IMG = 3
CLASSES = 5


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    g = tf_keras.initializers.GlorotUniform
    keras_model = tf_keras.Sequential([
        tf_keras.layers.Flatten(name="flatten"),
        tf_keras.layers.Dense(8, activation="relu", name="dense_1", kernel_initializer=g(seed=31)),
        tf_keras.layers.Dense(CLASSES, name="dense_2", kernel_initializer=g(seed=32)),
    ])
    keras_model.compile(
        optimizer=tf_keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, weight_decay=4e-5),
        loss=tf_keras.losses.CategoricalCrossentropy(from_logits=True))
    keras_model.build((None, IMG, IMG, 3))

    class TFLiteModel(tf.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def _checkpointed(self):
            weights = list(self.model.weights)
            return [w for i, w in enumerate(weights) if i != 1] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 3], tf.float32),
                                      tf.TensorSpec([None, CLASSES], tf.float32)])
        def train(self, data, label):
            with tf.GradientTape() as tape:
                loss = self.model.loss(label, self.model(data))
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.model.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 3], tf.float32),
                                      tf.TensorSpec([None, CLASSES], tf.float32)])
        def test(self, data, label):
            predict = self.model(data)
            loss = self.model.loss(label, predict)
            label_vec = tf.argmax(label, 1, output_type=tf.int32)
            top1 = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(predict, 1, output_type=tf.int32), label_vec), tf.int32))
            top5 = tf.reduce_sum(tf.cast(tf.equal(tf.nn.top_k(predict, 5).indices, label_vec[:, None]), tf.int32))
            return {"loss": loss, "top1": top1, "top5": top5}

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 3], tf.float32)])
        def infer(self, data):
            return {"output": self.model(data)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def save(self, checkpoint_path):
            weights = self._checkpointed()
            tf.raw_ops.Save(filename=checkpoint_path, tensor_names=[w.name for w in weights],
                            data=[w.read_value() for w in weights])
            return {"checkpoint_path": checkpoint_path}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def load(self, checkpoint_path):
            for var in self._checkpointed():
                restored = tf.raw_ops.Restore(file_pattern=checkpoint_path, tensor_name=var.name, dt=var.dtype)
                var.assign(restored)
            # As in the original: only the last variable's tensor is returned.
            return {var.name.replace("/", "_").replace(":0", ""): restored}

    module = TFLiteModel(keras_model)
    tf.saved_model.save(module, str(out), signatures={
        "train": module.train.get_concrete_function(),
        "test": module.test.get_concrete_function(),
        "infer": module.infer.get_concrete_function(),
        "save": module.save.get_concrete_function(),
        "load": module.load.get_concrete_function(),
    })


def case() -> Case:
    return Case(
        name="fedscale_tflite_linear",
        source="SymbioticLab/FedScale fedscale/utils/models/tflite_model_provider.py",
        style="restore signature named load, a test(data, label) signature with a loss output that trains nothing, "
              "SGD with momentum and weight decay whose slots no signature saves",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "load",
               "get_weights": None, "set_weights": None},
        data={"data": "data", "label": "data"},
        leaves_out={"signature": frozenset({"optimizer slots", "iteration counter"}), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
