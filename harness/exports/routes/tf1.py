"""The tf1_graph route: a tf.compat.v1 graph with placeholders, a v1 optimizer and a train op,
saved with SavedModelBuilder and a signature_def_map whose `train` loss depends on the train op.

The save/restore signatures use the graph's tf.compat.v1.train.Saver: `save` feeds the saver's
filename tensor and fetches its save tensor; `restore` fetches a path that depends on the restore op.
"""

from __future__ import annotations

import tensorflow as tf

from ...errors import HarnessError
from ..spec import Spec

v1 = tf.compat.v1
OPTIMIZERS = {
    "adam": lambda o: v1.train.AdamOptimizer(o.get("learning_rate", 0.001), o.get("beta_1", 0.9), o.get("beta_2", 0.999),
                                              o.get("epsilon", 1e-8)),
    "sgd": lambda o: v1.train.MomentumOptimizer(o["learning_rate"], o.get("momentum", 0.0), use_nesterov=o.get("nesterov", False)),
}


def export(spec: Spec, out) -> list[str]:
    if spec.heads or spec.seed_input or spec.precision != "float32" or spec.optimizer["name"] not in OPTIMIZERS:
        raise HarnessError(f"tf1_graph implements single-output float32 MLPs with Adam or SGD, not {spec.name}")
    x_decl, (y_decl,) = spec.features, spec.labels
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(spec.seed)
        x = v1.placeholder(x_decl.dtype, [None, *x_decl.shape], name=x_decl.name)
        y = v1.placeholder(y_decl.dtype, [None, *y_decl.shape], name=y_decl.name)
        h = x
        for i, layer in enumerate(spec.layers):
            with v1.variable_scope(f"layer{i}"):
                width = h.shape[-1]
                if layer.type == "feature_scale":
                    h = h * v1.get_variable("scale", [width], initializer=v1.ones_initializer())
                elif layer.type == "dense":
                    kernel = v1.get_variable("kernel", [width, layer.units], initializer=v1.glorot_uniform_initializer(seed=spec.seed + i))
                    bias = v1.get_variable("bias", [layer.units], initializer=v1.zeros_initializer())
                    h = tf.matmul(h, kernel) + bias
                    h = tf.nn.relu(h) if layer.activation == "relu" else h
                else:
                    raise HarnessError(f"tf1_graph does not implement layer type {layer.type!r} ({spec.name})")
        prediction = tf.identity(h, name="prediction")
        loss = tf.reduce_mean(tf.square(prediction - y))
        options = {k: v for k, v in spec.optimizer.items() if k != "name"}
        train_op = OPTIMIZERS[spec.optimizer["name"]](options).minimize(loss, global_step=v1.train.get_or_create_global_step())
        with tf.control_dependencies([train_op]):
            train_loss = tf.identity(loss, name="train_loss")  # fetching the loss runs the step
        saver = v1.train.Saver(v1.global_variables(), sharded=False)
        restore_op = graph.get_operation_by_name(saver.saver_def.restore_op_name)
        filename = graph.get_tensor_by_name(saver.saver_def.filename_tensor_name)
        with tf.control_dependencies([restore_op]):
            restored = tf.identity(filename, name="restored_path")
        info = v1.saved_model.utils.build_tensor_info
        signature = v1.saved_model.signature_def_utils.build_signature_def
        signatures = {
            "train": signature({x_decl.name: info(x), y_decl.name: info(y)}, {"loss": info(train_loss)}),
            "predict": signature({x_decl.name: info(x)}, {"prediction": info(prediction)}),
            "save": signature({"checkpoint_path": info(filename)},
                              {"checkpoint_path": info(graph.get_tensor_by_name(saver.saver_def.save_tensor_name))}),
            "restore": signature({"checkpoint_path": info(filename)}, {"checkpoint_path": info(restored)}),
        }
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(out))
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures, saver=saver)
            builder.save()
        return [v.name.split(":")[0] for v in v1.global_variables()]
