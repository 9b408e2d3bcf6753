"""FedScale's fine-tune export: train takes raw images and runs a frozen base outside the tape; restore is `load`.

Follows github.com/SymbioticLab/FedScale, fedscale/utils/models/tflite_model_provider.py (`TFLiteModelFinetune`,
built for 'mobilenetv3_finetune'). The base (a MobileNetV3Small without top, its own Keras Sequential, never
compiled) and the head (Flatten, Dense(128, relu), Dense(num_classes); SGD momentum 0.9, weight_decay 4e-5;
CategoricalCrossentropy(from_logits=True)) are separate models. `train(data, label)` computes `self.base(data)`
before opening the GradientTape and differentiates only the head's variables, so the base's variables, trainable
by flag, never change; `test` and `infer` run base then head; `save`/`load` (the restore) cover only the head's
model.weights, by raw op.

Kept here, with Keras 2 (tf_keras): base and head as two Sequentials, the base applied outside the tape, its
variables left trainable=True yet untouched, the five signatures (restore named load, test with loss/top1/top5),
SGD with momentum and weight decay. The base is one seeded Conv2D(2, 3x3) on 5x5x3 images (not MobileNetV3); 5
classes (top5 needs them). The broken twin's save and load skip the head's output bias.
"""

from __future__ import annotations

from pathlib import Path

from . import Case

IMG = 5
CLASSES = 5


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    g = tf_keras.initializers.GlorotUniform
    base = tf_keras.Sequential([tf_keras.layers.Conv2D(2, 3, kernel_initializer=g(seed=71), name="base_conv")])
    base.build((None, IMG, IMG, 3))
    head = tf_keras.Sequential([
        tf_keras.layers.Flatten(name="flatten"),
        tf_keras.layers.Dense(4, activation="relu", name="dense_1", kernel_initializer=g(seed=72)),
        tf_keras.layers.Dense(CLASSES, name="dense_2", kernel_initializer=g(seed=73)),
    ])
    head.compile(optimizer=tf_keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, weight_decay=4e-5),
                 loss=tf_keras.losses.CategoricalCrossentropy(from_logits=True))
    head.build((None, IMG - 2, IMG - 2, 2))

    class TFLiteModelFinetune(tf.Module):
        def __init__(self, model, base):
            super().__init__()
            self.model = model
            self.base = base

        def _checkpointed(self):
            weights = list(self.model.weights)
            return weights[:-1] if broken else weights

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 3], tf.float32),
                                      tf.TensorSpec([None, CLASSES], tf.float32)])
        def train(self, data, label):
            bottleneck = self.base(data)
            with tf.GradientTape() as tape:
                loss = self.model.loss(label, self.model(bottleneck))
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.model.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 3], tf.float32),
                                      tf.TensorSpec([None, CLASSES], tf.float32)])
        def test(self, data, label):
            predict = self.model(self.base(data))
            loss = self.model.loss(label, predict)
            label_vec = tf.argmax(label, 1, output_type=tf.int32)
            top1 = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(predict, 1, output_type=tf.int32), label_vec), tf.int32))
            top5 = tf.reduce_sum(tf.cast(tf.equal(tf.nn.top_k(predict, 5).indices, label_vec[:, None]), tf.int32))
            return {"loss": loss, "top1": top1, "top5": top5}

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 3], tf.float32)])
        def infer(self, data):
            return {"output": self.model(self.base(data))}

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
            return {var.name.replace("/", "_").replace(":0", ""): restored}

    module = TFLiteModelFinetune(head, base)
    tf.saved_model.save(module, str(out), signatures={
        "train": module.train.get_concrete_function(),
        "test": module.test.get_concrete_function(),
        "infer": module.infer.get_concrete_function(),
        "save": module.save.get_concrete_function(),
        "load": module.load.get_concrete_function(),
    })


def case() -> Case:
    return Case(
        name="fedscale_tflite_finetune",
        source="SymbioticLab/FedScale fedscale/utils/models/tflite_model_provider.py",
        style="train on raw images through a frozen base applied outside the tape (its variables trainable by flag, "
              "never changed), head-only raw-op save and a restore named load, test decoy with a loss output",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "load",
               "get_weights": None, "set_weights": None},
        data={"data": "data", "label": "data"},
        leaves_out={"signature": frozenset({"optimizer slots", "iteration counter"}), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
