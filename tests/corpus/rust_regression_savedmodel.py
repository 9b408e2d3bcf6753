"""tensorflow/rust examples/regression_savedmodel.py: the graph the Rust binding's regression example trains.

The original builds `y_hat = w*x + b` on unshaped placeholders `x`, `y`, names its SGD step `train`, and
writes one meta graph tagged both TRAINING and SERVING whose only signature (keyed by the regress method
name, "tensorflow/serving/regress") maps x and y to the prediction; Rust loads it with both tags, runs
the `train` op by name and checkpoints through the builder's default (sharded) saver. This fixture keeps
all of that, with a seeded uniform initial `w` and reference (TF1) variables.
"""

from __future__ import annotations

from pathlib import Path

from tests.corpus import Case
from tests.corpus import _tf1

REGRESS = "tensorflow/serving/regress"


def build(out: Path, broken: bool = False) -> None:
    tf = _tf1.tf()
    v1 = tf.compat.v1
    g = _tf1.graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, name="x")
        y = v1.placeholder(tf.float32, name="y")
        w = v1.Variable(v1.random_uniform([1], -1.0, 1.0, seed=1), name="w", use_resource=False)
        b = v1.Variable(tf.zeros([1]), name="b", use_resource=False)
        y_hat = tf.add(w * x, b, name="y_hat")
        loss = tf.reduce_mean(tf.square(y_hat - y))  # unnamed: "Mean"
        v1.train.GradientDescentOptimizer(0.5).minimize(loss, name="train")
        init = v1.variables_initializer(v1.global_variables(), name="init")
        sig = v1.saved_model.build_signature_def(
            inputs={"x": v1.saved_model.build_tensor_info(x), "y": v1.saved_model.build_tensor_info(y)},
            outputs={"out": v1.saved_model.build_tensor_info(y_hat)},
            method_name=REGRESS,
        )
        saver = _tf1.saver_without("b") if broken else None
        with v1.Session(graph=g) as sess:
            sess.run(init)
            _tf1.write(out, sess, ["train", "serve"], {REGRESS: sig}, saver=saver)


def case() -> Case:
    return Case(
        name="rust_regression_savedmodel",
        source="tensorflow/rust examples/regression_savedmodel.py",
        style="TF1 graph, one meta graph tagged {train, serve}, SGD op named 'train', only a regress-method signature keyed by its method name",
        build=build,
        roles={
            "train": "op:train",
            "loss": "tensor:Mean:0",
            "predict": REGRESS,
            "save": None,
            "restore": None,
            "get_weights": None,
            "set_weights": None,
        },
        data={"x": "data", "y": "data"},
        leaves_out={"saver": frozenset()},
        broken_leaves_out={"saver": frozenset({"variables"})},
        tags=("train", "serve"),
    )
