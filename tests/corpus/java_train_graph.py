"""asimshankar/java-tensorflow train/model.py: a TF1 graph written for a Java training loop.

The original defines placeholders `input` and `target` ([None, 1, 1]), a one-unit dense layer whose output
is the Identity `output`, an MSE named `loss`, an SGD step named `train`, and builds `tf.train.Saver()`
only for its saver_def (save/Const:0 to feed the path, save/control_dependency:0 to save, save/restore_all);
it writes graph.pb and Java runs `init`, `train` and the save op by name. This fixture keeps those names,
reference variables and that non-sharded Saver (handed to the builder), wrapped in a SavedModel tagged
serve with no signatures at all, the way such a graph reaches certify.
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
        x = v1.placeholder(tf.float32, shape=[None, 1, 1], name="input")
        y = v1.placeholder(tf.float32, shape=[None, 1, 1], name="target")
        with v1.variable_scope("dense"):
            kernel = v1.get_variable("kernel", initializer=tf.constant([[0.3]]), use_resource=False)
            bias = v1.get_variable("bias", initializer=tf.constant([0.0]), use_resource=False)
        y_ = tf.identity(tf.tensordot(x, kernel, [[2], [0]]) + bias, name="output")
        loss = tf.reduce_mean(tf.square(y_ - y), name="loss")
        v1.train.GradientDescentOptimizer(learning_rate=0.01).minimize(loss, name="train")
        init = v1.global_variables_initializer()
        saver = _tf1.saver_without("dense/bias") if broken else v1.train.Saver()
        with v1.Session(graph=g) as sess:
            sess.run(init)
            _tf1.write(out, sess, ["serve"], {}, saver=saver)


def case() -> Case:
    return Case(
        name="java_train_graph",
        source="asimshankar/java-tensorflow train/model.py",
        style="TF1 graph for a Java runner: placeholders input/target, op 'train', tensor 'loss', its own non-sharded Saver (save/Const), no signatures",
        build=build,
        roles={
            "train": "op:train",
            "loss": "tensor:loss:0",
            "predict": None,
            "save": None,
            "restore": None,
            "get_weights": None,
            "set_weights": None,
        },
        data={"input": "data", "target": "data"},
        leaves_out={"saver": frozenset()},
        broken_leaves_out={"saver": frozenset({"variables"})},
        tags=("serve",),
    )
