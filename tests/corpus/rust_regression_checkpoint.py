"""tensorflow/rust examples/regression_checkpoint/regression_checkpoint.py: the Rust checkpoint example's graph.

The original builds `w*x + b` (unnamed product and sum) on unshaped placeholders `x`, `y`, an unnamed MSE,
an SGD step named `train`, an `init` op, and `tf.train.Saver(tf.global_variables())`, an explicit var
list of every variable, then writes only the GraphDef; Rust trains by op name and saves/restores through
save/Const:0, save/control_dependency:0 and save/restore_all. This fixture keeps that graph and Saver
(handed to the builder), in a SavedModel tagged serve with no signatures.
"""

from __future__ import annotations

from pathlib import Path

from tests.corpus import Case
from tests.corpus import _tf1


def build(out: Path, broken: bool = False) -> None:
    tf = _tf1.tf()
    v1 = tf.compat.v1
    g = _tf1.graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, name="x")
        y = v1.placeholder(tf.float32, name="y")
        w = v1.Variable(v1.random_uniform([1], -1.0, 1.0, seed=3), name="w", use_resource=False)
        b = v1.Variable(tf.zeros([1]), name="b", use_resource=False)
        y_hat = w * x + b
        loss = tf.reduce_mean(tf.square(y_hat - y))  # "Mean"
        v1.train.GradientDescentOptimizer(0.5).minimize(loss, name="train")
        init = v1.variables_initializer(v1.global_variables(), name="init")
        saver = _tf1.saver_without("w") if broken else v1.train.Saver(v1.global_variables())
        with v1.Session(graph=g) as sess:
            sess.run(init)
            _tf1.write(out, sess, ["serve"], {}, saver=saver)


def case() -> Case:
    return Case(
        name="rust_regression_checkpoint",
        source="tensorflow/rust examples/regression_checkpoint/regression_checkpoint.py",
        style="TF1 graph for Rust: op 'train', unnamed loss 'Mean', Saver(var_list=global_variables()) driven by save/Const and save/restore_all, no signatures",
        build=build,
        roles={
            "train": "op:train",
            "loss": "tensor:Mean:0",
            "predict": None,
            "save": None,
            "restore": None,
            "get_weights": None,
            "set_weights": None,
        },
        data={"x": "data", "y": "data"},
        leaves_out={"saver": frozenset()},
        broken_leaves_out={"saver": frozenset({"variables"})},
        tags=("serve",),
    )
