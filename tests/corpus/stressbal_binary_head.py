"""A copy of the personalization head retargeted to 15 sensor features and 2 classes with binary cross-entropy.

Follows github.com/yjhan99/StressBal, transfer_learning/generate_training_model.py: TensorFlow's
model-personalization script edited for a stress detector. The head is the same (zero-initialised ws [15, 2], bs
[1, 2], Adam 0.001, softmax), but the loss is BinaryCrossentropy, called as the original calls it with the
arguments swapped (the softmax as y_true, the labels as y_pred); save/restore keep ws and bs only, by raw ops;
initialize redraws them uniformly. Its base, MobileNetV2 built with input_shape=(15,), cannot be constructed, so as
written the script never reaches tf.saved_model.save; load/infer are declared on [None, 15, 15, 3] images.

Kept here: the 15x15x3 image inputs of load/infer, the head, the swapped binary cross-entropy (written out), the
head-only raw-op checkpoint, initialize. The unbuildable base is replaced by a variable-free one (the mean over
columns and channels: 15 features per image). The broken twin's save writes ws only (and restore reads ws only).
"""

from __future__ import annotations

from pathlib import Path

from . import Case

IMG = 15
FEATURES = 15
CLASSES = 2


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf
    import tf_keras

    class StressHead(tf.Module):
        def __init__(self):
            super().__init__()
            self.ws = tf.Variable(tf.zeros((FEATURES, CLASSES)), name="ws")
            self.bs = tf.Variable(tf.zeros((1, CLASSES)), name="bs")
            self.optimizer = tf_keras.optimizers.Adam(learning_rate=0.001)

        @staticmethod
        def _base(image):
            return tf.reduce_mean(image, axis=[2, 3])  # [None, 15, 15, 3] -> [None, 15]

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 3], tf.float32)])
        def load(self, feature):
            return {"bottleneck": self._base(feature)}

        @tf.function(input_signature=[tf.TensorSpec([None, FEATURES], tf.float32),
                                      tf.TensorSpec([None, CLASSES], tf.float32)])
        def train(self, bottleneck, label):
            with tf.GradientTape() as tape:
                prediction = tf.nn.softmax(tf.matmul(bottleneck, self.ws) + self.bs)
                p = tf.clip_by_value(label, 1e-7, 1.0 - 1e-7)  # the labels play y_pred
                loss = tf.reduce_mean(-(prediction * tf.math.log(p) + (1.0 - prediction) * tf.math.log(1.0 - p)))
            gradients = tape.gradient(loss, [self.ws, self.bs])
            self.optimizer.apply_gradients(zip(gradients, [self.ws, self.bs]))
            return {"loss": loss, "grad_ws": gradients[0], "grad_bs": gradients[1]}

        @tf.function(input_signature=[tf.TensorSpec([None, IMG, IMG, 3], tf.float32)])
        def infer(self, feature):
            return {"output": tf.nn.softmax(tf.matmul(self._base(feature), self.ws) + self.bs)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def save(self, checkpoint_path):
            names, data = ["ws"], [self.ws.read_value()]
            if not broken:
                names.append("bs")
                data.append(self.bs.read_value())
            tf.raw_ops.Save(filename=checkpoint_path, tensor_names=names, data=data)
            return {"checkpoint_path": checkpoint_path}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def restore(self, checkpoint_path):
            out = {}
            for name, var in [("ws", self.ws)] + ([] if broken else [("bs", self.bs)]):
                value = tf.raw_ops.Restore(file_pattern=checkpoint_path, tensor_name=name, dt=tf.float32)
                var.assign(value)
                out[name] = value
            return out

        @tf.function(input_signature=[])
        def initialize_weights(self):
            self.ws.assign(tf.random.uniform((FEATURES, CLASSES)))
            self.bs.assign(tf.random.uniform((1, CLASSES)))
            return {"ws": self.ws.read_value(), "bs": self.bs.read_value()}

    model = StressHead()
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
        name="stressbal_binary_head",
        source="yjhan99/StressBal transfer_learning/generate_training_model.py",
        style="the personalization template on sensor features: variable-free base behind load/infer, binary "
              "cross-entropy with swapped arguments over a 2-way softmax, head-only raw-op checkpoint",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "restore",
               "get_weights": None, "set_weights": None},
        data={"bottleneck": "data", "label": "data"},
        leaves_out={"signature": frozenset({"optimizer slots", "iteration counter"}), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
