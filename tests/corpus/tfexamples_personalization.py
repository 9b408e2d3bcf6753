"""The TFLite model-personalization head: a frozen feature extractor before a trainable softmax head.

Follows github.com/tensorflow/examples, lite/examples/model_personalization/transfer_learning/
generate_training_model.py. The original wraps a frozen MobileNetV2 (`load` turns raw images into bottleneck
features, `infer` runs images through base and head) and trains only a zero-initialised softmax head (`ws`, `bs`)
with Adam on bottleneck features; `save`/`restore` write and read ws and bs alone with tf.raw_ops.Save / Restore
(no Adam slots, no step counter); `initialize` redraws the head from tf.random.uniform, no inputs. Its loss calls
CategoricalCrossentropy with the arguments swapped (softmax output as y_true, labels as y_pred).

Kept here: the six signatures and their shapes' roles, the zero-initialised head, Adam, the swapped-argument
cross-entropy (written out: -sum(softmax * log(clip(label)))), the head-only raw-op checkpoint. The base is a
fixed, non-trainable random projection (16 pixels -> 8 features) instead of MobileNetV2, 4 classes as there; the
optimizer is tf-keras's Adam (Keras 2, what tf.keras was when the original was written). The broken twin's restore
reads ws but not bs.
"""

from __future__ import annotations

from pathlib import Path

from . import Case

IMG = 4  # images IMG x IMG x 1
FEATURES = 8
CLASSES = 4


def build(out: Path, broken: bool) -> None:
    import numpy as np
    import tensorflow as tf
    import tf_keras

    class TransferLearningHead(tf.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(7)
            # The frozen "base": never trained, never checkpointed by save/restore.
            self.base = tf.Variable(rng.standard_normal((IMG * IMG, FEATURES)).astype(np.float32) * 0.25,
                                    trainable=False, name="base_projection")
            self.ws = tf.Variable(tf.zeros((FEATURES, CLASSES)), name="ws")
            self.bs = tf.Variable(tf.zeros((1, CLASSES)), name="bs")
            self.optimizer = tf_keras.optimizers.Adam(learning_rate=0.001)

        def _bottleneck(self, image):
            return tf.nn.relu(tf.matmul(tf.reshape(image, (-1, IMG * IMG)), self.base))

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 1], tf.float32)])
        def load(self, feature):
            return {"bottleneck": self._bottleneck(feature)}

        @tf.function(input_signature=[tf.TensorSpec([None, FEATURES], tf.float32),
                                      tf.TensorSpec([None, CLASSES], tf.float32)])
        def train(self, bottleneck, label):
            with tf.GradientTape() as tape:
                prediction = tf.nn.softmax(tf.matmul(bottleneck, self.ws) + self.bs)
                # y_true and y_pred swapped as in the original: the label is what gets clipped and logged.
                clipped = tf.clip_by_value(label, 1e-7, 1.0 - 1e-7)
                loss = tf.reduce_mean(-tf.reduce_sum(prediction * tf.math.log(clipped), axis=-1))
            gradients = tape.gradient(loss, [self.ws, self.bs])
            self.optimizer.apply_gradients(zip(gradients, [self.ws, self.bs]))
            return {"loss": loss, "grad_ws": gradients[0], "grad_bs": gradients[1]}

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 1], tf.float32)])
        def infer(self, feature):
            logits = tf.matmul(self._bottleneck(feature), self.ws) + self.bs
            return {"output": tf.nn.softmax(logits)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def save(self, checkpoint_path):
            tf.raw_ops.Save(filename=checkpoint_path, tensor_names=["ws", "bs"],
                            data=[self.ws.read_value(), self.bs.read_value()])
            return {"checkpoint_path": checkpoint_path}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def restore(self, checkpoint_path):
            ws = tf.raw_ops.Restore(file_pattern=checkpoint_path, tensor_name="ws", dt=tf.float32)
            self.ws.assign(ws)
            out = {"ws": ws}
            if not broken:
                bs = tf.raw_ops.Restore(file_pattern=checkpoint_path, tensor_name="bs", dt=tf.float32)
                self.bs.assign(bs)
                out["bs"] = bs
            return out

        @tf.function(input_signature=[])
        def initialize_weights(self):
            self.ws.assign(tf.random.uniform((FEATURES, CLASSES)))
            self.bs.assign(tf.random.uniform((1, CLASSES)))
            return {"ws": self.ws.read_value(), "bs": self.bs.read_value()}

    model = TransferLearningHead()
    model.optimizer.build([model.ws, model.bs])
    tf.saved_model.save(model, str(out), signatures={
        "load": model.load.get_concrete_function(),
        "train": model.train.get_concrete_function(),
        "infer": model.infer.get_concrete_function(),
        "save": model.save.get_concrete_function(),
        "restore": model.restore.get_concrete_function(),
        "initialize": model.initialize_weights.get_concrete_function(),
    })


def case() -> Case:
    return Case(
        name="tfexamples_personalization",
        source="tensorflow/examples lite/examples/model_personalization/transfer_learning/generate_training_model.py",
        style="frozen base behind load/infer (raw images), train on bottleneck features, head-only raw-op "
              "Save/Restore, random re-initializer with no inputs, Adam",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "restore",
               "get_weights": None, "set_weights": None},
        data={"bottleneck": "data", "label": "data"},
        leaves_out={"signature": frozenset({"optimizer slots", "iteration counter"}), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
