"""A bare linear model with hand-written SGD and a checkpoint path given as a one-element string vector.

Follows github.com/arxdeus/flutter_litert, scripts/generate_training_model_flex.py (the test asset of a Flutter
LiteRT binding). Its tf.Module holds two plain tf.Variables (w [1,1], b [1], both 0) and no optimizer object:
`train` (fixed batch [1,1]) takes the MSE gradient and applies it with assign_sub at a constant 0.01. `save` and
`restore` take `checkpoint_path` as a string tensor of shape [1] (not a scalar), write and read the tensors
'weight' and 'bias' with tf.raw_ops.Save/Restore, and answer with an int32 `status`; signatures are passed as the
tf.functions themselves, not concrete functions.

Kept here: all of that (w and b at 0, lr 0.01, the [1]-shaped path, status outputs). The broken twin's restore
reads 'weight' but leaves the bias as it is.
"""

from __future__ import annotations

from pathlib import Path

from . import Case


def build(out: Path, broken: bool) -> None:
    import tensorflow as tf

    class LinearWithCheckpoint(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable([[0.0]], dtype=tf.float32, name="weight")
            self.b = tf.Variable([0.0], dtype=tf.float32, name="bias")

        @tf.function(input_signature=[tf.TensorSpec([1, 1], tf.float32, name="x"),
                                      tf.TensorSpec([1, 1], tf.float32, name="y")])
        def train(self, x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.matmul(x, self.w) + self.b - y))
            dw, db = tape.gradient(loss, [self.w, self.b])
            self.w.assign_sub(0.01 * dw)
            self.b.assign_sub(0.01 * db)
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([1, 1], tf.float32, name="x")])
        def infer(self, x):
            return {"output": tf.matmul(x, self.w) + self.b}

        @tf.function(input_signature=[tf.TensorSpec([1], tf.string, name="checkpoint_path")])
        def save(self, checkpoint_path):
            tf.raw_ops.Save(filename=checkpoint_path[0], tensor_names=["weight", "bias"],
                            data=[self.w.read_value(), self.b.read_value()])
            return {"status": tf.constant(0, tf.int32)}

        @tf.function(input_signature=[tf.TensorSpec([1], tf.string, name="checkpoint_path")])
        def restore(self, checkpoint_path):
            path = checkpoint_path[0]
            w = tf.raw_ops.Restore(file_pattern=path, tensor_name="weight", dt=tf.float32)
            self.w.assign(tf.reshape(w, [1, 1]))
            if not broken:
                b = tf.raw_ops.Restore(file_pattern=path, tensor_name="bias", dt=tf.float32)
                self.b.assign(tf.reshape(b, [1]))
            return {"status": tf.constant(0, tf.int32)}

    model = LinearWithCheckpoint()
    tf.saved_model.save(model, str(out), signatures={
        "train": model.train, "infer": model.infer, "save": model.save, "restore": model.restore})


def case() -> Case:
    return Case(
        name="flutter_litert_linear",
        source="arxdeus/flutter_litert scripts/generate_training_model_flex.py",
        style="plain tf.Variables, hand-written SGD (assign_sub), fixed batch [1,1], checkpoint_path a [1] string "
              "vector, int32 status outputs, tf.functions as signatures",
        build=build,
        roles={"train": "train", "loss": "loss", "predict": "infer", "save": "save", "restore": "restore",
               "get_weights": None, "set_weights": None},
        data={"x": "data", "y": "data"},
        leaves_out={"signature": frozenset(), "saver": frozenset()},
        broken_leaves_out={"signature": frozenset({"variables"})},
    )
