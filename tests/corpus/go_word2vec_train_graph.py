"""asimshankar/go-tensorflow word2vec/create_graph.py: the word2vec training graph a Go program trains.

The original (word2vec_basic cut down to its graph) takes int32 ids `train_examples` [None] and
`train_labels` [None, 1], an `embedding` table, `nce_weights`/`nce_biases`, a mean NCE loss named `loss`
(negative classes sampled anew every step), SGD (lr 1.0) named `train_op`, and inference tensors
`normalized_embeddings` / `similarity` for a third placeholder `input`; it writes the GraphDef without
any Saver, Go driving everything by name. This fixture keeps that at vocabulary 12, embedding 4, 3
sampled negatives, a seeded uniform embedding, in a SavedModel tagged serve with no signatures (the
builder adds its default sharded saver, the only one there is).
"""

from __future__ import annotations

import math
from pathlib import Path

from tests.corpus import Case
from tests.corpus import _tf1

VOCAB, DIM, SAMPLED = 12, 4, 3


def build(out: Path, broken: bool = False) -> None:
    tf = _tf1.tf()
    v1 = tf.compat.v1
    g = _tf1.graph()
    with g.as_default():
        examples = v1.placeholder(tf.int32, shape=[None], name="train_examples")
        labels = v1.placeholder(tf.int32, shape=[None, 1], name="train_labels")
        valid = v1.placeholder(tf.int32, shape=[None], name="input")
        embeddings = v1.Variable(v1.random_uniform([VOCAB, DIM], -1.0, 1.0, seed=1), name="embedding", use_resource=False)
        embed = tf.nn.embedding_lookup(embeddings, examples)
        nce_w = v1.Variable(
            v1.truncated_normal([VOCAB, DIM], stddev=1.0 / math.sqrt(DIM), seed=2), name="nce_weights", use_resource=False
        )
        nce_b = v1.Variable(tf.zeros([VOCAB]), name="nce_biases", use_resource=False)
        loss = tf.reduce_mean(
            v1.nn.nce_loss(
                weights=nce_w, biases=nce_b, labels=labels, inputs=embed, num_sampled=SAMPLED, num_classes=VOCAB
            ),
            name="loss",
        )
        v1.train.GradientDescentOptimizer(1.0).minimize(loss, name="train_op")
        norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
        normalized = tf.divide(embeddings, norm, name="normalized_embeddings")
        tf.matmul(tf.nn.embedding_lookup(normalized, valid), normalized, transpose_b=True, name="similarity")
        saver = _tf1.saver_without("nce_biases") if broken else None
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            _tf1.write(out, sess, ["serve"], {}, saver=saver)


def case() -> Case:
    return Case(
        name="go_word2vec_train_graph",
        source="asimshankar/go-tensorflow word2vec/create_graph.py",
        style="TF1 graph for Go: int32 id placeholders, NCE loss sampling negatives each step, op 'train_op', no Saver of its own, no signatures",
        build=build,
        roles={
            "train": "op:train_op",
            "loss": "tensor:loss:0",
            "predict": None,
            "save": None,
            "restore": None,
            "get_weights": None,
            "set_weights": None,
        },
        data={"train_examples": f"class-ids:{VOCAB}", "train_labels": f"class-ids:{VOCAB}"},
        # NCE samples its negatives with a sampler whose state lives in the op: no checkpoint carries it
        leaves_out={"saver": frozenset({"random state"})},
        broken_leaves_out={"saver": frozenset({"variables"})},
        tags=("serve",),
        trains_randomly=True,
    )
