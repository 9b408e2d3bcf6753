"""zhuge20100104/cppwork _tf/using_py_model_in_cc/model.py: the Java-trainer graph ported to tf.compat.v1
for a C++ training loop.

The original is the input/target/`train`/`loss` graph run under `tf.compat.v1.disable_eager_execution()`
in TF2, so its dense layer's variables are resource variables (ReadVariableOp, not /read), its
`tf.compat.v1.train.Saver().as_saver_def()` gives save/Const:0 and save/control_dependency:0, and C++
drives `init`, `train` and the save op by name. This fixture keeps the names, resource variables and SGD
(learning rate 0.01), and wraps the graph in a SavedModel tagged serve with no signatures, its own Saver
handed to the builder.
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
            kernel = v1.get_variable("kernel", initializer=tf.constant([[-0.4]]), use_resource=True)
            bias = v1.get_variable("bias", initializer=tf.constant([0.1]), use_resource=True)
        y_ = tf.identity(tf.tensordot(x, kernel, [[2], [0]]) + bias, name="output")
        loss = tf.reduce_mean(tf.square(y_ - y), name="loss")
        v1.train.GradientDescentOptimizer(learning_rate=0.01).minimize(loss, name="train")
        init = v1.global_variables_initializer()
        saver = _tf1.saver_without("dense/kernel") if broken else v1.train.Saver()
        with v1.Session(graph=g) as sess:
            sess.run(init)
            _tf1.write(out, sess, ["serve"], {}, saver=saver)


def case() -> Case:
    return Case(
        name="cpp_train_graph_v2api",
        source="zhuge20100104/cppwork _tf/using_py_model_in_cc/model.py",
        style="the input/target/'train' graph built with tf.compat.v1 in TF2 (resource variables), own Saver, no signatures, for a C++ loop",
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
