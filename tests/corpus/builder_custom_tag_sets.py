"""tensorflow/docs site/en/api_docs/python/tf/compat/v1/saved_model/Builder.md: the Builder's typical usage.

The documented pattern saves the first meta graph with variables under a custom tag set ["foo-tag"] with
its signatures, then adds a second meta graph under ["bar-tag", "baz-tag"] sharing those variables; no
standard tag appears. This fixture trains in the "foo-tag" graph (a 3-input linear regression, SGD op
named `train`, a predict_signature_def "predict") and adds the second tag set over the same graph.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.corpus import Case
from tests.corpus import _tf1


def build(out: Path, broken: bool = False) -> None:
    tf = _tf1.tf()
    v1 = tf.compat.v1
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    g = _tf1.graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="features")
        y = v1.placeholder(tf.float32, [None, 1], name="labels")
        w = v1.Variable([[0.2], [-0.1], [0.05]], name="w", use_resource=False)
        b = v1.Variable([0.0], name="b", use_resource=False)
        pred = tf.add(tf.matmul(x, w), b, name="prediction")
        loss = tf.reduce_mean(tf.square(pred - y), name="loss")
        v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        sig = v1.saved_model.predict_signature_def(inputs={"features": x}, outputs={"prediction": pred})
        saver = _tf1.saver_without("b") if broken else None
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(out))
            builder.add_meta_graph_and_variables(sess, ["foo-tag"], signature_def_map={"predict": sig}, saver=saver)
            builder.add_meta_graph(["bar-tag", "baz-tag"], signature_def_map={"predict": sig}, saver=saver)
            builder.save(as_text=False)


def case() -> Case:
    return Case(
        name="builder_custom_tag_sets",
        source="tensorflow/docs site/en/api_docs/python/tf/compat/v1/saved_model/Builder.md",
        style="two meta graphs under custom tag sets {foo-tag} and {bar-tag, baz-tag}, no standard tag; op 'train', predict_signature_def",
        build=build,
        roles={
            "train": "op:train",
            "loss": "tensor:loss:0",
            "predict": "predict",
            "save": None,
            "restore": None,
            "get_weights": None,
            "set_weights": None,
        },
        data={"features": "data", "labels": "data"},
        leaves_out={"saver": frozenset()},
        broken_leaves_out={"saver": frozenset({"variables"})},
        tags=("foo-tag",),
    )
