"""A training export in the shape `certify` expects, for the guide docs/certify.md:

    python docs/examples/export_model.py OUT_DIR

A linear regressor y = x @ w + b trained by SGD with momentum, with four signatures: train(x, y) -> loss,
predict(x), save(checkpoint_path) and restore(checkpoint_path). Writes OUT_DIR/saved_model and OUT_DIR/data.npz.
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

FEATURES, STEPS, BATCH = 4, 8, 16


class Regressor(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.random.stateless_normal([FEATURES, 1], seed=[7, 7]), name="w")
        self.b = tf.Variable(tf.zeros([1]), name="b")
        self.velocity = [tf.Variable(tf.zeros_like(v), name=f"velocity_{v.name[0]}") for v in (self.w, self.b)]
        self.step = tf.Variable(0, dtype=tf.int64, name="step")

    @tf.function(input_signature=[tf.TensorSpec([None, FEATURES], tf.float32, "x"),
                                  tf.TensorSpec([None, 1], tf.float32, "y")])
    def train(self, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(x @ self.w + self.b - y))
        for var, vel, grad in zip((self.w, self.b), self.velocity, tape.gradient(loss, [self.w, self.b])):
            vel.assign(0.9 * vel - 0.05 * grad)
            var.assign_add(vel)
        self.step.assign_add(1)
        return {"loss": loss}

    @tf.function(input_signature=[tf.TensorSpec([None, FEATURES], tf.float32, "x")])
    def predict(self, x):
        return {"y": x @ self.w + self.b}

    @tf.function(input_signature=[tf.TensorSpec([], tf.string, "checkpoint_path")])
    def save(self, checkpoint_path):
        return {"checkpoint_path": tf.train.Checkpoint(model=self).write(checkpoint_path)}

    @tf.function(input_signature=[tf.TensorSpec([], tf.string, "checkpoint_path")])
    def restore(self, checkpoint_path):
        # the keys tf.train.Checkpoint(model=self) writes: attribute paths (a list's items by index)
        variables = {f"model/{path}/.ATTRIBUTES/VARIABLE_VALUE": v for path, v in
                     (("w", self.w), ("b", self.b), ("velocity/0", self.velocity[0]), ("velocity/1", self.velocity[1]),
                      ("step", self.step))}
        keys = list(variables)
        values = tf.raw_ops.RestoreV2(prefix=checkpoint_path, tensor_names=keys, shape_and_slices=[""] * len(keys),
                                      dtypes=[v.dtype for v in variables.values()])
        with tf.control_dependencies([v.assign(t) for v, t in zip(variables.values(), values)]):
            return {"checkpoint_path": tf.identity(checkpoint_path)}


def main(out: Path) -> None:
    model = Regressor()
    signatures = {name: getattr(model, name) for name in ("train", "predict", "save", "restore")}
    tf.saved_model.save(model, str(out / "saved_model"), signatures=signatures)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((STEPS, BATCH, FEATURES)).astype("float32")
    y = (x @ np.arange(1, FEATURES + 1, dtype="float32")[:, None] + 0.5).astype("float32")
    np.savez(out / "data.npz", x=x, y=y)  # inputs keyed by name, stacked per step
    print(f"wrote {out / 'saved_model'} and {out / 'data.npz'}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
