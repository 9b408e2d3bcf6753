"""tensorflow/serving tensorflow_serving/example/mnist_saved_model.py: TF Serving's softmax-regression export.

The original parses a string placeholder `tf_example` into features, names them with the Identity `x`,
feeds one-hot float labels through an unnamed placeholder, minimises `-reduce_sum(y_ * log(softmax))` with
an unnamed SGD step (op "GradientDescent"), and exports SERVING only with `predict_images` (x -> scores)
and a default classify signature (string examples -> top-k classes through a lookup table initialised by
`legacy_init_op`). Training fed the Identity `x` directly. This fixture keeps all of it at 4 features x 3
classes, zero initial weights as in the original.
"""

from __future__ import annotations

from pathlib import Path

from tests.corpus import Case
from tests.corpus import _tf1

N_IN, N_CLASSES = 4, 3


def build(out: Path, broken: bool = False) -> None:
    tf = _tf1.tf()
    v1 = tf.compat.v1
    sm = v1.saved_model
    g = _tf1.graph()
    with g.as_default():
        serialized = v1.placeholder(tf.string, name="tf_example")
        parsed = v1.parse_example(serialized, {"x": v1.FixedLenFeature(shape=[N_IN], dtype=tf.float32)})
        x = tf.identity(parsed["x"], name="x")
        y_ = v1.placeholder("float", shape=[None, N_CLASSES])  # unnamed: "Placeholder"
        w = v1.Variable(tf.zeros([N_IN, N_CLASSES]), use_resource=False)
        b = v1.Variable(tf.zeros([N_CLASSES]), use_resource=False)
        y = tf.nn.softmax(tf.matmul(x, w) + b, name="y")
        cross_entropy = -tf.reduce_sum(y_ * tf.math.log(y))  # "Neg"
        v1.train.GradientDescentOptimizer(0.01).minimize(cross_entropy)  # "GradientDescent"
        values, indices = tf.nn.top_k(y, N_CLASSES)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(range(N_CLASSES)), tf.int64), tf.constant([str(i) for i in range(N_CLASSES)])
            ),
            default_value="UNK",
        )
        classes = table.lookup(tf.cast(indices, tf.int64))
        classify = sm.build_signature_def(
            inputs={sm.signature_constants.CLASSIFY_INPUTS: sm.build_tensor_info(serialized)},
            outputs={
                sm.signature_constants.CLASSIFY_OUTPUT_CLASSES: sm.build_tensor_info(classes),
                sm.signature_constants.CLASSIFY_OUTPUT_SCORES: sm.build_tensor_info(values),
            },
            method_name=sm.signature_constants.CLASSIFY_METHOD_NAME,
        )
        predict = sm.build_signature_def(
            inputs={"images": sm.build_tensor_info(x)},
            outputs={"scores": sm.build_tensor_info(y)},
            method_name=sm.signature_constants.PREDICT_METHOD_NAME,
        )
        legacy_init_op = tf.group(v1.tables_initializer(), name="legacy_init_op")
        saver = _tf1.saver_without("Variable_1") if broken else None
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            _tf1.write(
                out,
                sess,
                ["serve"],
                {"predict_images": predict, sm.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY: classify},
                saver=saver,
                legacy_init_op=legacy_init_op,
            )


def case() -> Case:
    return Case(
        name="serving_mnist_classify",
        source="tensorflow/serving tensorflow_serving/example/mnist_saved_model.py",
        style="TF Serving export: unnamed SGD op, training feeds an Identity fed by parse_example, one-hot float labels, classify default + predict_images, legacy_init_op table",
        build=build,
        roles={
            "train": "op:GradientDescent",
            "loss": "tensor:Neg:0",
            "predict": "predict_images",
            "save": None,
            "restore": None,
            "get_weights": None,
            "set_weights": None,
        },
        data={"x": "data", "Placeholder": "data"},
        leaves_out={"saver": frozenset()},
        broken_leaves_out={"saver": frozenset({"variables"})},
        tags=("serve",),
    )
