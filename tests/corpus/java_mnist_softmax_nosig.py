"""yinmazhong/tf-java src/main/resources/mnistSoftMax.py: the MNIST-beginners softmax saved for TF Java.

The original trains `matmul(x, W) + b` on unnamed placeholders (floats `Placeholder`, int64 class ids
`Placeholder_1`) with `tf.losses.sparse_softmax_cross_entropy` and an unnamed SGD step (lr 0.5), then
writes a SavedModel tagged SERVING with no signature_def_map at all; Java finds every tensor by its
generated name. This fixture keeps that at 4 features x 3 classes, zero initial weights.
"""

from __future__ import annotations

from pathlib import Path

from tests.corpus import Case
from tests.corpus import _tf1

N_IN, N_CLASSES = 4, 3


def build(out: Path, broken: bool = False) -> None:
    tf = _tf1.tf()
    v1 = tf.compat.v1
    g = _tf1.graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, N_IN])
        w = v1.Variable(tf.zeros([N_IN, N_CLASSES]), use_resource=False)
        b = v1.Variable(tf.zeros([N_CLASSES]), use_resource=False)
        y = tf.matmul(x, w) + b
        y_ = v1.placeholder(tf.int64, [None])
        cross_entropy = v1.losses.sparse_softmax_cross_entropy(labels=y_, logits=y)
        v1.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
        saver = _tf1.saver_without("Variable") if broken else None
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            _tf1.write(out, sess, ["serve"], None, saver=saver)


def case() -> Case:
    return Case(
        name="java_mnist_softmax_nosig",
        source="yinmazhong/tf-java src/main/resources/mnistSoftMax.py",
        style="TF1 softmax, every name generated (Placeholder, Placeholder_1, GradientDescent), int64 class ids, SERVING with no signatures",
        build=build,
        roles={
            "train": "op:GradientDescent",
            "loss": "tensor:sparse_softmax_cross_entropy_loss/value:0",
            "predict": None,
            "save": None,
            "restore": None,
            "get_weights": None,
            "set_weights": None,
        },
        data={"Placeholder": "data", "Placeholder_1": f"class-ids:{N_CLASSES}"},
        leaves_out={"saver": frozenset()},
        broken_leaves_out={"saver": frozenset({"variables"})},
        tags=("serve",),
    )
