"""tensorflow/estimator tensorflow_estimator/python/estimator/estimator.py: an Estimator's TRAIN-mode export
(`experimental_export_all_saved_models` / `_add_meta_graph_for_mode` with ModeKeys.TRAIN).

For TRAIN the original builds the model_fn's graph on a supervised receiver (features and labels
placeholders), wraps loss and predictions in a TrainOutput under signature key "train" (method
"tensorflow/supervised/training"), tags the meta graph TRAINING only, stores the train op in the
`saved_model_train_op` collection through `builder._add_train_op`, and saves through the scaffold's
saver or a sharded `Saver()` with the local init op as legacy_init_op. The train signature's outputs do
not depend on the train op. This fixture keeps that for a 4-feature, 3-class linear model_fn with integer
labels, a global_step and Adagrad (lr 0.1), fixed initial weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.corpus import Case
from tests.corpus import _tf1

N_IN, N_CLASSES = 4, 3


def build(out: Path, broken: bool = False) -> None:
    tf = _tf1.tf()
    v1 = tf.compat.v1
    from tensorflow.python.saved_model.model_utils import export_output

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    g = _tf1.graph()
    with g.as_default():
        gs = v1.train.get_or_create_global_step()
        x = v1.placeholder(tf.float32, [None, N_IN], name="x")
        y = v1.placeholder(tf.int64, [None], name="y")
        with v1.variable_scope("linear"):
            w = v1.get_variable("weights", initializer=tf.constant([[0.1 * ((i + j) % 3 - 1) for j in range(N_CLASSES)] for i in range(N_IN)]))
            b = v1.get_variable("bias", initializer=tf.zeros([N_CLASSES]))
        logits = tf.matmul(x, w) + b
        probabilities = tf.nn.softmax(logits, name="probabilities")
        loss = v1.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
        train_op = v1.train.AdagradOptimizer(0.1).minimize(loss, global_step=gs)
        sig = export_output.TrainOutput(loss=loss, predictions={"probabilities": probabilities}).as_signature_def(
            {"x": x, "y": y}
        )
        if broken:
            keep = [v for v in v1.global_variables() if v.op.name != "linear/bias/Adagrad"]
            saver = v1.train.Saver(var_list=keep, sharded=True)
        else:
            saver = v1.train.Saver(sharded=True)
        local_init_op = tf.group(v1.local_variables_initializer(), v1.tables_initializer())
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(out))
            builder._add_train_op(train_op)  # as the original: the builder's protected hook
            builder.add_meta_graph_and_variables(
                sess, ["train"], signature_def_map={"train": sig}, legacy_init_op=local_init_op, saver=saver
            )
            builder.save(as_text=False)


def case() -> Case:
    return Case(
        name="estimator_train_mode_export",
        source="tensorflow/estimator tensorflow_estimator/python/estimator/estimator.py",
        style="Estimator TRAIN-mode export: tags {train}, 'train' TrainOutput signature (loss, predictions) not tied to the train op, which sits in the saved_model_train_op collection; global_step, Adagrad, int labels",
        build=build,
        roles={
            "train": "op:Adagrad",
            "loss": "tensor:sparse_softmax_cross_entropy_loss/value:0",
            # TrainOutput's signature computes the loss and the predictions without training (the train op is
            # apart): the meta graph's one signature that infers, so its outputs are compared as predictions
            "predict": "train",
            "save": None,
            "restore": None,
            "get_weights": None,
            "set_weights": None,
        },
        data={"x": "data", "y": f"class-ids:{N_CLASSES}"},
        leaves_out={"saver": frozenset()},
        broken_leaves_out={"saver": frozenset({"optimizer slots"})},
        tags=("train",),
    )
