"""Training exports written the way users write them, not the way harness/routes does.

Each builder writes a small SavedModel into `out` and returns an `Expected`: what discovery should
find, derived from how the export was built (the signature names given to the saver, the
variables the train function updates), never copied from a run. The exports are only read by the
tests (hang_forever's train must never be called: it loops forever, for the runner's timeout test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from harness.plan.interface import Interface

v1 = tf.compat.v1


@dataclass(frozen=True)
class Expected:
    interface: Interface | None  # None: discovery must refuse the export without overrides
    updated: frozenset = frozenset()  # names of the variables the train signature updates
    update_ops: frozenset = frozenset()  # op types it updates them with (at least these)
    inputs: dict = field(default_factory=dict)  # signature -> {input: (numpy dtype, shape)}
    denied_op: str | None = None  # the op the scan must refuse
    saver_def: bool = True


def _spec(shape, dtype, name):
    return tf.TensorSpec(shape, dtype, name=name)


def _names(variables) -> frozenset:
    return frozenset(v.name.split(":")[0] for v in variables)


def _as_inputs(specs) -> dict:
    return {s.name: (np.dtype(s.dtype.as_numpy_dtype), tuple(s.shape.as_list())) for s in specs}


def _save_module(module, signatures: dict, out: Path) -> None:
    tf.saved_model.save(module, str(out), signatures=signatures)


# -- fit_step: ResourceApplyAdam by hand, other names everywhere, raw SaveV2/RestoreV2 under other names --

def fit_step(out: Path) -> Expected:
    rng = np.random.default_rng(1)
    m = tf.Module()
    m.kernel = tf.Variable(rng.standard_normal((5, 1)).astype("float32"), name="kernel")
    m.bias = tf.Variable(np.zeros(1, "float32"), name="bias")
    params = [m.kernel, m.bias]
    m.first_moments = [tf.Variable(tf.zeros_like(p), name=f"m_{i}") for i, p in enumerate(params)]
    m.second_moments = [tf.Variable(tf.zeros_like(p), name=f"v_{i}") for i, p in enumerate(params)]
    m.beta_powers = [tf.Variable(0.9, name="beta1_power"), tf.Variable(0.999, name="beta2_power")]
    everything = [*params, *m.first_moments, *m.second_moments, *m.beta_powers]
    names = [v.name.split(":")[0] for v in everything]
    train_specs = [_spec([None, 5], tf.float32, "features"), _spec([None, 1], tf.float32, "target")]

    @tf.function(input_signature=train_specs)
    def fit(features, target):
        with tf.GradientTape() as tape:
            mse = tf.reduce_mean(tf.square(features @ m.kernel + m.bias - target))
        grads = tape.gradient(mse, params)
        b1, b2 = m.beta_powers
        for p, mom, vel, g in zip(params, m.first_moments, m.second_moments, grads):
            tf.raw_ops.ResourceApplyAdam(var=p.handle, m=mom.handle, v=vel.handle, beta1_power=b1, beta2_power=b2,
                                         lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-7, grad=g)
        b1.assign(b1 * 0.9)
        b2.assign(b2 * 0.999)
        return {"mse": mse}

    @tf.function(input_signature=train_specs[:1])
    def serve(features):
        return {"output_0": features @ m.kernel + m.bias}

    path_spec = [_spec([], tf.string, "prefix")]

    @tf.function(input_signature=path_spec)
    def export_weights(prefix):
        written = tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                                    tensors=[tf.convert_to_tensor(v) for v in everything])
        with tf.control_dependencies([written]):
            return {"prefix": tf.identity(prefix)}

    @tf.function(input_signature=path_spec)
    def import_weights(prefix):
        values = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                                      dtypes=[v.dtype for v in everything])
        with tf.control_dependencies([v.assign(x) for v, x in zip(everything, values)]):
            return {"prefix": tf.identity(prefix)}

    _save_module(m, {"fit_step": fit, "serving_default": serve, "export_weights": export_weights,
                     "import_weights": import_weights}, out)
    return Expected(Interface(train="fit_step", loss="mse", predict="serving_default", save="export_weights",
                              save_path="prefix", restore="import_weights", restore_path="prefix"),
                    updated=_names(everything), update_ops=frozenset({"ResourceApplyAdam", "AssignVariableOp"}),
                    inputs={"fit_step": _as_inputs(train_specs), "serving_default": _as_inputs(train_specs[:1])})


# -- a TF1 graph: reference variables, v1 Adam, a sharded Saver, SavedModelBuilder --

def tf1_ref_graph(out: Path) -> Expected:
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(3)
        images = v1.placeholder(tf.float32, [None, 3, 3], name="images")
        labels = v1.placeholder(tf.int64, [None], name="labels")
        flat = tf.reshape(images, [-1, 9])
        kernel = v1.get_variable("dense/kernel", [9, 4], use_resource=False)
        bias = v1.get_variable("dense/bias", [4], initializer=v1.zeros_initializer(), use_resource=False)
        scores = tf.nn.softmax(tf.matmul(flat, kernel) + bias, name="scores")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.matmul(flat, kernel) + bias))
        step = v1.train.get_or_create_global_step()
        train_op = v1.train.AdamOptimizer(0.01).minimize(loss, global_step=step)
        with tf.control_dependencies([train_op]):
            loss_after = tf.identity(loss, name="loss_after_step")
            step_after = tf.identity(step, name="global_step_after")
        saver = v1.train.Saver(sharded=True)
        filename = graph.get_tensor_by_name(saver.saver_def.filename_tensor_name)
        with tf.control_dependencies([graph.get_operation_by_name(saver.saver_def.restore_op_name)]):
            restored = tf.identity(filename, name="restored")
        info = v1.saved_model.utils.build_tensor_info
        signatures = {
            "training": v1.saved_model.signature_def_utils.build_signature_def(
                {"images": info(images), "labels": info(labels)},
                {"loss": info(loss_after), "global_step": info(step_after)}),
            "serving_default": v1.saved_model.predict_signature_def({"images": images}, {"scores": scores}),
            "ckpt_save": v1.saved_model.signature_def_utils.build_signature_def(
                {"filename": info(filename)},
                {"written": info(graph.get_tensor_by_name(saver.saver_def.save_tensor_name))}),
            "ckpt_restore": v1.saved_model.signature_def_utils.build_signature_def(
                {"filename": info(filename)}, {"restored": info(restored)}),
        }
        updated = _names(v1.global_variables())  # weights, Adam slots, beta powers, global step
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(out))
            builder.add_meta_graph_and_variables(session, [v1.saved_model.tag_constants.SERVING],
                                                 signature_def_map=signatures, saver=saver)
            builder.save()
    return Expected(Interface(train="training", loss="loss", predict="serving_default", save="ckpt_save",
                              save_path="filename", restore="ckpt_restore", restore_path="filename",
                              metrics=("global_step",)),
                    updated=updated, update_ops=frozenset({"ApplyAdam", "Assign"}),
                    inputs={"training": {"images": (np.dtype("float32"), (None, 3, 3)), "labels": (np.dtype("int64"), (None,))}})


# -- a raw tf.Module: SGD with momentum applied under tf.cond, tf.train.Checkpoint save/restore --

def checkpoint_module(out: Path) -> Expected:
    m = tf.Module()
    m.w = tf.Variable(tf.fill([3, 2], 0.5), name="w")
    m.b = tf.Variable(tf.zeros([2]), name="b")
    m.velocity_w = tf.Variable(tf.zeros([3, 2]), name="velocity_w")
    m.velocity_b = tf.Variable(tf.zeros([2]), name="velocity_b")
    params, velocities = [m.w, m.b], [m.velocity_w, m.velocity_b]
    checkpoint = tf.train.Checkpoint(model=m)
    # what Checkpoint.write names each variable: "model/<attribute>/.ATTRIBUTES/VARIABLE_VALUE"
    keys = {f"model/{attr}/.ATTRIBUTES/VARIABLE_VALUE": getattr(m, attr) for attr in ("w", "b", "velocity_w", "velocity_b")}
    train_specs = [_spec([None, 3], tf.float32, "x"), _spec([None, 2], tf.float32, "y")]

    @tf.function(input_signature=train_specs)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            y_hat = x @ m.w + m.b
            loss = tf.reduce_mean(tf.square(y_hat - y))
        grads = tape.gradient(loss, params)

        def apply():
            for p, vel, g in zip(params, velocities, grads):
                vel.assign(0.9 * vel - 0.05 * g)
                p.assign_add(vel)
            return tf.constant(True)

        applied = tf.cond(tf.math.is_finite(loss), apply, lambda: tf.constant(False))  # skip non-finite steps
        return {"loss": loss, "predictions": y_hat, "applied": applied}

    @tf.function(input_signature=train_specs[:1])
    def infer(x):
        return {"y_hat": x @ m.w + m.b}

    path = [_spec([], tf.string, "path")]

    @tf.function(input_signature=path)
    def save_ckpt(path):
        return {"path": checkpoint.write(path)}

    @tf.function(input_signature=path)
    def restore_ckpt(path):
        values = tf.raw_ops.RestoreV2(prefix=path, tensor_names=list(keys), shape_and_slices=[""] * len(keys),
                                      dtypes=[v.dtype for v in keys.values()])
        with tf.control_dependencies([v.assign(x) for v, x in zip(keys.values(), values)]):
            return {"path": tf.identity(path)}

    _save_module(m, {"train_step": train_step, "infer": infer, "save_ckpt": save_ckpt, "restore_ckpt": restore_ckpt}, out)
    return Expected(Interface(train="train_step", loss="loss", predict="infer", save="save_ckpt", save_path="path",
                              restore="restore_ckpt", restore_path="path", metrics=("applied",)),
                    updated=_names(params + velocities), update_ops=frozenset({"AssignVariableOp", "AssignAddVariableOp"}),
                    inputs={"train_step": _as_inputs(train_specs), "infer": _as_inputs(train_specs[:1])})


# -- several labels of several dtypes, a bool mask, integer outputs; no save or restore signature --

MULTI_LABEL_CLASSES = 3


def multi_label(out: Path) -> Expected:
    m = tf.Module()
    m.trunk = tf.Variable(tf.random.stateless_normal([6, 4], seed=[1, 2]), name="trunk")
    m.price_head = tf.Variable(tf.random.stateless_normal([4, 1], seed=[3, 4], dtype=tf.float64), name="price_head")
    m.class_head = tf.Variable(tf.random.stateless_normal([4, MULTI_LABEL_CLASSES], seed=[5, 6]), name="class_head")
    params = [m.trunk, m.price_head, m.class_head]
    train_specs = [_spec([None, 6], tf.float32, "pixels"), _spec([None], tf.float64, "price"),
                   _spec([None], tf.int32, "category"), _spec([None], tf.bool, "valid")]

    def heads(pixels):
        h = tf.nn.relu(pixels @ m.trunk)
        return tf.squeeze(tf.cast(h, tf.float64) @ m.price_head, -1), h @ m.class_head

    @tf.function(input_signature=train_specs)
    def step(pixels, price, category, valid):
        with tf.GradientTape() as tape:
            price_hat, logits = heads(pixels)
            weight = tf.cast(valid, tf.float32)
            xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=category, logits=logits)
            objective = (tf.reduce_sum(weight * xent) / tf.maximum(tf.reduce_sum(weight), 1.0)
                         + tf.cast(tf.reduce_mean(tf.square(price_hat - price)), tf.float32))
        for p, g in zip(params, tape.gradient(objective, params)):
            p.assign_sub(0.1 * g)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), category), tf.int64))
        return {"objective": objective, "num_correct": correct, "logits": logits}

    @tf.function(input_signature=train_specs[:1])
    def serve(pixels):
        price_hat, logits = heads(pixels)
        return {"price": price_hat, "logits": logits}

    _save_module(m, {"step": step, "serve": serve}, out)
    return Expected(Interface(train="step", loss="objective", predict="serve", save=None, restore=None,
                              metrics=("num_correct",)),
                    updated=_names(params), update_ops=frozenset({"AssignSubVariableOp"}),
                    inputs={"step": _as_inputs(train_specs), "serve": _as_inputs(train_specs[:1])})


# -- no inference signature; a string input (cannot be synthesized) --

def text_no_predict(out: Path) -> Expected:
    m = tf.Module()
    m.table = tf.Variable(tf.zeros([16, 1]), name="bucket_weights")
    train_specs = [_spec([None], tf.string, "tokens"), _spec([None], tf.float32, "label")]
    names = ["bucket_weights"]

    @tf.function(input_signature=train_specs)
    def train(tokens, label):
        ids = tf.strings.to_hash_bucket_fast(tokens, 16)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.squeeze(tf.gather(m.table, ids), -1) - label))
        m.table.assign_sub(0.1 * tf.convert_to_tensor(tape.gradient(loss, m.table)))
        return {"loss": loss}

    @tf.function(input_signature=[_spec([], tf.string, "checkpoint_path")])
    def save(checkpoint_path):
        written = tf.raw_ops.SaveV2(prefix=checkpoint_path, tensor_names=names, shape_and_slices=[""], tensors=[m.table.read_value()])
        with tf.control_dependencies([written]):
            return {"checkpoint_path": tf.identity(checkpoint_path)}

    _save_module(m, {"train": train, "save": save}, out)
    return Expected(Interface(predict=None, restore=None), updated=_names(m.variables), update_ops=frozenset({"AssignSubVariableOp"}),
                    inputs={"train": _as_inputs(train_specs)})


# -- two training signatures, two inference signatures, two scalar float outputs: ambiguous --

def two_trainers(out: Path) -> Expected:
    m = tf.Module()
    m.w = tf.Variable(tf.ones([2, 1]), name="w")
    m.momentum = tf.Variable(tf.zeros([2, 1]), name="momentum")
    specs = [_spec([None, 2], tf.float32, "x"), _spec([None, 1], tf.float32, "y")]

    def losses(x, y):
        data, l2 = tf.reduce_mean(tf.square(x @ m.w - y)), 1e-3 * tf.reduce_sum(tf.square(m.w))
        return data + l2, l2

    @tf.function(input_signature=specs)
    def fit_sgd(x, y):
        with tf.GradientTape() as tape:
            loss, l2 = losses(x, y)
        m.w.assign_sub(0.1 * tape.gradient(loss, m.w))
        return {"loss": loss, "l2": l2}

    @tf.function(input_signature=specs)
    def fit_momentum(x, y):
        with tf.GradientTape() as tape:
            loss, l2 = losses(x, y)
        tf.raw_ops.ResourceApplyMomentum(var=m.w.handle, accum=m.momentum.handle, lr=0.1,
                                         grad=tape.gradient(loss, m.w), momentum=0.9)
        return {"loss": loss, "l2": l2}

    @tf.function(input_signature=specs[:1])
    def predict(x):
        return {"y": x @ m.w}

    @tf.function(input_signature=specs[:1])
    def embed(x):
        return {"features": tf.concat([x, x @ m.w], -1)}

    _save_module(m, {"fit_sgd": fit_sgd, "fit_momentum": fit_momentum, "predict": predict, "embed": embed}, out)
    return Expected(None, inputs={"fit_sgd": _as_inputs(specs), "fit_momentum": _as_inputs(specs)})


# -- ops the scan refuses, each in a train step --

DENIED = {  # builder name -> the op its train step leaves in the export
    "writes_file": "WriteFile",
    "reads_file": "ReadFile",
    "calls_python": "EagerPyFunc",
    "prints": "PrintV2",
}


def with_denied_op(out: Path, kind: str) -> Expected:
    m = tf.Module()
    m.w = tf.Variable(tf.ones([2, 1]), name="w")
    specs = [_spec([None, 2], tf.float32, "x"), _spec([None, 1], tf.float32, "y")]
    target = str(out.parent / f"{kind}.side-effect")  # never written: the export is never run

    @tf.function(input_signature=specs)
    def train(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(x @ m.w - y))
        if kind == "writes_file":
            effect = tf.io.write_file(target, tf.strings.as_string(loss))
        elif kind == "reads_file":
            effect = tf.io.read_file(target)
        elif kind == "calls_python":
            effect = tf.py_function(lambda t: t * 2.0, [loss], tf.float32)
        else:
            effect = tf.print("loss", loss)
        with tf.control_dependencies([effect]):
            m.w.assign_sub(0.1 * tape.gradient(loss, m.w))
        return {"loss": loss}

    @tf.function(input_signature=specs[:1])
    def predict(x):
        return {"y": x @ m.w}

    _save_module(m, {"train": train, "predict": predict}, out)
    return Expected(Interface(save=None, restore=None), updated=_names(m.variables), denied_op=DENIED[kind])


# -- a train step that never returns: updates inside a while loop whose condition stays true --

def hang_forever(out: Path) -> Expected:
    """For the runner's timeout test. Never call its train signature."""
    m = tf.Module()
    m.w = tf.Variable(tf.ones([2, 1]), name="w")
    m.steps = tf.Variable(0, dtype=tf.int64, name="steps")
    specs = [_spec([None, 2], tf.float32, "x"), _spec([None, 1], tf.float32, "y")]

    @tf.function(input_signature=specs)
    def train_until_converged(x, y):
        def body(i, loss):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(x @ m.w - y))
            m.w.assign_sub(0.01 * tape.gradient(loss, m.w))
            m.steps.assign_add(1)
            return i + 1, loss

        _, loss = tf.while_loop(lambda i, loss: tf.constant(True), body, [tf.constant(0), tf.constant(0.0)])
        return {"loss": loss}

    @tf.function(input_signature=specs[:1])
    def predict(x):
        return {"y": x @ m.w}

    _save_module(m, {"train_until_converged": train_until_converged, "predict": predict}, out)
    return Expected(Interface(train="train_until_converged", save=None, restore=None), updated=_names(m.variables),
                    update_ops=frozenset({"AssignSubVariableOp", "AssignAddVariableOp"}))


# -- a TF1 graph as the saved_model guide writes one: resource variables, Momentum, a global step, the
# builder's default name-based Saver; the reference's checkpoint must be restored by name --

def tf1_momentum(out: Path, tags=(v1.saved_model.tag_constants.SERVING,)) -> Expected:
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(5)
        x = v1.placeholder(tf.float32, [None, 4], name="inputs")
        y = v1.placeholder(tf.float32, [None, 1], name="targets")
        w = v1.get_variable("linear/w", [4, 1], use_resource=True)
        b = v1.get_variable("linear/b", [1], initializer=v1.zeros_initializer(), use_resource=True)
        out_t = tf.matmul(x, w) + b
        loss = tf.reduce_mean(tf.square(out_t - y))
        train_op = v1.train.MomentumOptimizer(0.05, 0.9).minimize(loss, global_step=v1.train.get_or_create_global_step())
        with tf.control_dependencies([train_op]):
            loss_after = tf.identity(loss)
        info = v1.saved_model.utils.build_tensor_info
        signature = v1.saved_model.signature_def_utils.build_signature_def
        updated = _names(v1.global_variables())  # weights, momentum slots, global step
        _write_tf1(graph, out, {"train": signature({"inputs": info(x), "targets": info(y)}, {"loss": info(loss_after)}),
                                "serving_default": v1.saved_model.predict_signature_def({"inputs": x}, {"outputs": out_t})},
                   tags)
    return Expected(Interface(train="train", loss="loss", predict="serving_default", save=None, restore=None, tags=tuple(tags)),
                    updated=updated, update_ops=frozenset({"ResourceApplyMomentum"}),
                    inputs={"train": {"inputs": (np.dtype("float32"), (None, 4)), "targets": (np.dtype("float32"), (None, 1))}})


def _linear_sgd(inputs: int, outputs: int, init: float, learning_rate: float):
    """A tf.Module y = x @ w + b trained by plain SGD: (module, weights, train specs, train, infer)."""
    m = tf.Module()
    m.w = tf.Variable(tf.fill([inputs, outputs], init), name="w")
    m.b = tf.Variable(tf.zeros([outputs]), name="b")
    weights = [m.w, m.b]
    train_specs = [_spec([None, inputs], tf.float32, "x"), _spec([None, outputs], tf.float32, "y")]

    @tf.function(input_signature=train_specs)
    def train(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(x @ m.w + m.b - y))
        for weight, g in zip(weights, tape.gradient(loss, weights)):
            weight.assign_sub(learning_rate * g)
        return {"loss": loss}

    @tf.function(input_signature=train_specs[:1])
    def infer(x):
        return {"output": x @ m.w + m.b}

    return m, weights, train_specs, train, infer


# -- the on-device training convention (TFLite guide): train/infer/save/restore, the checkpoint
# written by raw Save/Restore ops: a V1 checkpoint, one file at the path --

def v1_checkpoint_module(out: Path) -> Expected:
    m, weights, train_specs, train, infer = _linear_sgd(3, 2, 0.1, 0.1)
    names = ["w", "b"]

    path = [_spec([], tf.string, "checkpoint_path")]

    @tf.function(input_signature=path)
    def save(checkpoint_path):
        tf.raw_ops.Save(filename=checkpoint_path, tensor_names=names, data=weights)
        return {"checkpoint_path": checkpoint_path}

    @tf.function(input_signature=path)
    def restore(checkpoint_path):
        for weight, name in zip(weights, names):
            weight.assign(tf.raw_ops.Restore(file_pattern=checkpoint_path, tensor_name=name, dt=tf.float32))
        return {"checkpoint_path": checkpoint_path}

    _save_module(m, {"train": train, "infer": infer, "save": save, "restore": restore}, out)
    return Expected(Interface(train="train", loss="loss", predict="infer", save="save", save_path="checkpoint_path",
                              restore="restore", restore_path="checkpoint_path"),
                    updated=_names(weights), update_ops=frozenset({"AssignSubVariableOp"}),
                    inputs={"train": _as_inputs(train_specs), "infer": _as_inputs(train_specs[:1])})


# -- a federated-learning client: train, plus the weights by value (a getter with no inputs, a setter
# taking them, as clients exchange them with a server); the setter also assigns variables --

def weights_by_value(out: Path) -> Expected:
    m, weights, train_specs, train, infer = _linear_sgd(4, 1, 0.2, 0.05)

    @tf.function(input_signature=[])
    def get_weights():
        return {"w": tf.identity(m.w), "b": tf.identity(m.b)}

    @tf.function(input_signature=[_spec([4, 1], tf.float32, "w"), _spec([1], tf.float32, "b")])
    def set_weights(w, b):
        m.w.assign(w)
        m.b.assign(b)
        return {"w": tf.identity(m.w), "b": tf.identity(m.b)}

    _save_module(m, {"train": train, "infer": infer, "get_weights": get_weights, "set_weights": set_weights}, out)
    return Expected(Interface(train="train", loss="loss", predict="infer", save=None, restore=None,
                              get_weights="get_weights", set_weights="set_weights"),
                    updated=_names(weights), update_ops=frozenset({"AssignSubVariableOp"}),
                    inputs={"train": _as_inputs(train_specs), "infer": _as_inputs(train_specs[:1])})


# -- a GRU autoencoder with a hand-written Adam, every signature TFLite builtins: fixed shapes (no
# BroadcastGradientArgs), sigmoid and tanh (TF lowers their gradients to builtins; ReluGrad it does not),
# Adam by assign ops, the weights by value (no SaveV2/RestoreV2): what LiteRT's interpreter, which has no
# Flex delegate, trains (tests/test_litert.py) --

GRU = {"batch": 4, "time": 5, "features": 3, "hidden": 6}


def gru_autoencoder(out: Path) -> Expected:
    batch, time, features, hidden = GRU["batch"], GRU["time"], GRU["features"], GRU["hidden"]
    rng = np.random.default_rng(7)
    m = tf.Module()

    def weight(shape, name):
        return tf.Variable((0.3 * rng.standard_normal(shape)).astype("float32"), name=name)

    gates = features + hidden
    m.params = [weight([gates, hidden], "w_update"), weight([gates, hidden], "w_reset"), weight([gates, hidden], "w_cand"),
                *(tf.Variable(tf.zeros([hidden]), name=n) for n in ("b_update", "b_reset", "b_cand")),
                weight([hidden, features], "w_out"), tf.Variable(tf.zeros([features]), name="b_out")]
    m.first = [tf.Variable(tf.zeros_like(p), name=f"m_{i}") for i, p in enumerate(m.params)]
    m.second = [tf.Variable(tf.zeros_like(p), name=f"v_{i}") for i, p in enumerate(m.params)]
    m.step = tf.Variable(0.0, name="step")
    every = [*m.params, *m.first, *m.second, m.step]
    names = [v.name.split(":")[0] for v in every]

    def reconstruct(x):
        wz, wr, wh, bz, br, bh, wo, bo = m.params
        h, outputs = tf.zeros([batch, hidden]), []
        for t in range(time):
            xt = x[:, t, :]
            z = tf.sigmoid(tf.concat([xt, h], 1) @ wz + bz)
            r = tf.sigmoid(tf.concat([xt, h], 1) @ wr + br)
            h = (1 - z) * h + z * tf.tanh(tf.concat([xt, r * h], 1) @ wh + bh)
            outputs.append(h @ wo + bo)
        return tf.stack(outputs, 1)

    x_spec = _spec([batch, time, features], tf.float32, "x")

    @tf.function(input_signature=[x_spec])
    def train(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(reconstruct(x) - x))
        m.step.assign_add(1.0)
        for p, g, first, second in zip(m.params, tape.gradient(loss, m.params), m.first, m.second):
            first.assign(0.9 * first + 0.1 * g)
            second.assign(0.999 * second + 0.001 * g * g)
            corrected = (first / (1 - tf.pow(0.9, m.step))) / (tf.sqrt(second / (1 - tf.pow(0.999, m.step))) + 1e-7)
            p.assign_sub(0.01 * corrected)
        return {"loss": loss}

    @tf.function(input_signature=[x_spec])
    def predict(x):
        return {"reconstruction": reconstruct(x)}

    @tf.function(input_signature=[])
    def get_weights():
        return {name: tf.identity(v) for name, v in zip(names, every)}

    @tf.function(input_signature=[_spec(v.shape, tf.float32, name) for name, v in zip(names, every)])
    def set_weights(*values):
        for v, value in zip(every, values):
            v.assign(value)
        return {name: tf.identity(v) for name, v in zip(names, every)}

    _save_module(m, {"train": train, "predict": predict, "get_weights": get_weights, "set_weights": set_weights}, out)
    return Expected(Interface(train="train", loss="loss", predict="predict", save=None, restore=None,
                              get_weights="get_weights", set_weights="set_weights"),
                    updated=_names(every), update_ops=frozenset({"AssignVariableOp", "AssignSubVariableOp"}),
                    inputs={"train": _as_inputs([x_spec]), "predict": _as_inputs([x_spec])})


# -- two labels (int64 class ids, a float target), a combined loss and its parts as outputs --

def combined_loss(out: Path) -> Expected:
    m = tf.Module()
    m.w_cls = tf.Variable(tf.fill([4, 3], 0.1), name="w_cls")
    m.w_reg = tf.Variable(tf.fill([4, 1], 0.1), name="w_reg")
    weights = [m.w_cls, m.w_reg]
    specs = [_spec([None, 4], tf.float32, "x"), _spec([None], tf.int64, "label"), _spec([None, 1], tf.float32, "target")]

    @tf.function(input_signature=specs)
    def step(x, label, target):
        with tf.GradientTape() as tape:
            cls_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=label, logits=x @ m.w_cls))
            reg_loss = tf.reduce_mean(tf.square(x @ m.w_reg - target))
            total = cls_loss + 0.5 * reg_loss
        for weight, g in zip(weights, tape.gradient(total, weights)):
            weight.assign_sub(0.1 * g)
        return {"cls_loss": cls_loss, "reg_loss": reg_loss, "total": total}  # named so that no name gives it away

    @tf.function(input_signature=specs[:1])
    def serve(x):
        return {"classes": tf.argmax(x @ m.w_cls, axis=1), "value": x @ m.w_reg}

    _save_module(m, {"step": step, "serving_default": serve}, out)
    return Expected(Interface(train="step", loss="total", predict="serving_default", save=None, restore=None,
                              metrics=("cls_loss", "reg_loss")),
                    updated=_names(weights), update_ops=frozenset({"AssignSubVariableOp"}),
                    inputs={"step": _as_inputs(specs), "serving_default": _as_inputs(specs[:1])})


# -- the seed article's authoring with Keras 3: a keras model and optimizer in a plain tf.Module --

def keras3_in_module(out: Path) -> Expected:
    import keras

    m = tf.Module()
    keras.utils.set_random_seed(2)
    m.model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="dense")])
    m.optimizer = keras.optimizers.SGD(0.05)
    m.optimizer.build(m.model.trainable_variables)
    specs = [_spec([None, 4], tf.float32, "x"), _spec([None, 1], tf.float32, "y")]

    @tf.function(input_signature=specs)
    def train(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(m.model(x) - y))
        m.optimizer.apply_gradients(zip(tape.gradient(loss, m.model.trainable_variables), m.model.trainable_variables))
        return {"loss": loss}

    @tf.function(input_signature=specs[:1])
    def infer(x):
        return {"output": m.model(x)}

    _save_module(m, {"train": train, "infer": infer}, out)
    return Expected(None)


# -- train outputs as a metrics dict (loss beside accuracy and mae, all scalar floats), and extra
# scalar inputs fed every step (learning rate, keep probability) --

def metrics_and_extra_inputs(out: Path) -> Expected:
    m = tf.Module()
    m.w = tf.Variable(tf.fill([3, 1], 0.3), name="w")
    specs = [_spec([None, 3], tf.float32, "x"), _spec([None, 1], tf.float32, "y"),
             _spec([], tf.float32, "learning_rate"), _spec([], tf.float32, "keep_prob")]

    @tf.function(input_signature=specs)
    def train(x, y, learning_rate, keep_prob):
        with tf.GradientTape() as tape:
            y_hat = (x * keep_prob) @ m.w
            loss = tf.reduce_mean(tf.square(y_hat - y))
        m.w.assign_sub(learning_rate * tape.gradient(loss, m.w))
        accuracy = tf.reduce_mean(tf.cast(tf.abs(y_hat - y) < 0.5, tf.float32))
        return {"loss": loss, "accuracy": accuracy, "mae": tf.reduce_mean(tf.abs(y_hat - y))}

    @tf.function(input_signature=specs[:1])
    def predict(x):
        return {"y": x @ m.w}

    _save_module(m, {"train": train, "predict": predict}, out)
    return Expected(Interface(train="train", loss="loss", predict="predict", save=None, restore=None,
                              metrics=("accuracy", "mae")),
                    updated=_names([m.w]), update_ops=frozenset({"AssignSubVariableOp"}),
                    inputs={"train": _as_inputs(specs), "predict": _as_inputs(specs[:1])})


# -- several scalar float outputs, unrelated: none is computed from the others, none is named loss, and the
# step minimizes a sum it does not return (no output the gradients come from): the loss cannot be told --

def unrelated_scalars(out: Path) -> Expected:
    m = tf.Module()
    m.w = tf.Variable(tf.fill([3, 1], 0.5), name="w")
    specs = [_spec([None, 3], tf.float32, "x"), _spec([None, 1], tf.float32, "y")]

    @tf.function(input_signature=specs)
    def fit(x, y):
        with tf.GradientTape() as tape:
            error = x @ m.w - y
            mse, mae = tf.reduce_mean(tf.square(error)), tf.reduce_mean(tf.abs(error))
            objective = mse + 0.1 * mae  # not an output
        m.w.assign_sub(0.1 * tape.gradient(objective, m.w))
        return {"mse": mse, "mae": mae, "max_error": tf.reduce_max(tf.abs(error))}

    @tf.function(input_signature=specs[:1])
    def predict(x):
        return {"y": x @ m.w}

    _save_module(m, {"fit": fit, "predict": predict}, out)
    return Expected(None)


# -- a TF1 graph saved for training only: no meta graph tagged 'serve' --

def tf1_train_tag_only(out: Path) -> Expected:
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        w = v1.get_variable("w", [2, 1])
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.control_dependencies([train_op]):
            loss = tf.identity(loss)
        signature = v1.saved_model.signature_def_utils.build_signature_def(
            {"x": v1.saved_model.utils.build_tensor_info(x)}, {"loss": v1.saved_model.utils.build_tensor_info(loss)})
        _write_tf1(graph, out, {"train": signature}, [v1.saved_model.tag_constants.TRAINING])
    return Expected(None)


# -- a TF1 graph whose train op prints: a denied op in the graph itself, not in a function --

def tf1_prints(out: Path) -> Expected:
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w = v1.get_variable("w", [2, 1])
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.control_dependencies([train_op, tf.print("loss:", loss)]):
            loss = tf.identity(loss)
        info = v1.saved_model.utils.build_tensor_info
        signature = v1.saved_model.signature_def_utils.build_signature_def
        _write_tf1(graph, out, {"train": signature({"x": info(x), "y": info(y)}, {"loss": info(loss)}),
                                "predict": signature({"x": info(x)}, {"y": info(tf.matmul(x, w))})})
        updated = _names(v1.global_variables())
    return Expected(Interface(save=None, restore=None), updated=updated, denied_op="PrintV2")


# -- a TF1 graph whose train op is only in a collection (as Estimator keeps it): no signature trains --

def tf1_train_op_in_collection(out: Path) -> Expected:
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        y = v1.placeholder(tf.float32, [None, 1], name="y")
        w = v1.get_variable("w", [2, 1])
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
        v1.add_to_collection("train_op", v1.train.GradientDescentOptimizer(0.1).minimize(loss))
        info = v1.saved_model.utils.build_tensor_info
        signature = v1.saved_model.signature_def_utils.build_signature_def
        _write_tf1(graph, out, {"evaluate": signature({"x": info(x), "y": info(y)}, {"loss": info(loss)}),
                                "serving_default": signature({"x": info(x)}, {"y": info(tf.matmul(x, w))})})
    return Expected(None)


# -- Estimator-style: the training graph under TRAINING, inference under SERVING, one SavedModel --

def tf1_train_and_serve(out: Path) -> Expected:
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        y = v1.placeholder(tf.int64, [None], name="label")  # int64 class ids (10 classes: made-up ids fit)
        w = v1.get_variable("w", [2, 10], use_resource=True)
        logits = tf.matmul(x, w)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.control_dependencies([train_op]):
            loss = tf.identity(loss)
        info = v1.saved_model.utils.build_tensor_info
        signature = v1.saved_model.signature_def_utils.build_signature_def
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(out))
            builder.add_meta_graph_and_variables(session, [v1.saved_model.tag_constants.TRAINING], signature_def_map={
                "train": signature({"x": info(x), "label": info(y)}, {"loss": info(loss)})})
            builder.add_meta_graph([v1.saved_model.tag_constants.SERVING], signature_def_map={
                "serving_default": v1.saved_model.predict_signature_def({"x": x}, {"logits": logits})})
            builder.save()
        updated = _names(v1.global_variables())
    # inference is in the SERVING meta graph: training with the TRAINING one, certify has none
    return Expected(Interface(train="train", loss="loss", predict=None, save=None, restore=None, tags=("train",)),
                    updated=updated, update_ops=frozenset({"ResourceApplyGradientDescent"}),
                    inputs={"train": {"x": (np.dtype("float32"), (None, 2)), "label": (np.dtype("int64"), (None,))}})


# -- an on-device RL agent (DQN-style): the online network trains; a target network is synced by copy; a
# random re-initializer, a setter from one flat vector, a frozen encoder and the target network's head are
# signatures too, and every one but the trainer carries a misleading name --

def rl_agent(out: Path) -> Expected:
    m = tf.Module()
    m.encoder = tf.Variable(tf.fill([3, 3], 0.2), name="encoder", trainable=False)  # frozen: nothing writes it
    m.q = tf.Variable(tf.fill([3, 2], 0.1), name="q")
    m.q_target = tf.Variable(tf.fill([3, 2], 0.1), name="q_target")
    state = _spec([None, 3], tf.float32, "state")
    specs = [state, _spec([None, 2], tf.float32, "target_q")]

    @tf.function(input_signature=specs)
    def fit(state, target_q):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square((state @ m.encoder) @ m.q - target_q))
        m.q.assign_sub(0.05 * tape.gradient(loss, m.q))
        return {"loss": loss}

    @tf.function(input_signature=[])
    def train_reinit():
        m.q.assign(tf.random.uniform([3, 2], -0.1, 0.1))
        return {"done": tf.constant(True)}

    @tf.function(input_signature=[])
    def train_target_sync():
        m.q_target.assign(m.q)
        return {"done": tf.constant(True)}

    @tf.function(input_signature=[_spec([6], tf.float32, "flat")])
    def train_from_vector(flat):
        m.q.assign(tf.reshape(flat, [3, 2]))
        return {"done": tf.constant(True)}

    @tf.function(input_signature=[state])
    def predict_target(state):
        return {"q": (state @ m.encoder) @ m.q_target}

    @tf.function(input_signature=[state])
    def predict_features(state):
        return {"features": state @ m.encoder}

    @tf.function(input_signature=[state])
    def act(state):
        return {"q": (state @ m.encoder) @ m.q}

    _save_module(m, {"fit": fit, "train_reinit": train_reinit, "train_target_sync": train_target_sync,
                     "train_from_vector": train_from_vector, "predict_target": predict_target,
                     "predict_features": predict_features, "act": act}, out)
    return Expected(Interface(train="fit", loss="loss", predict="act", save=None, restore=None),
                    updated=_names([m.q]), update_ops=frozenset({"AssignSubVariableOp"}),
                    inputs={"fit": _as_inputs(specs), "act": _as_inputs([state])})


def _write_tf1(graph, out: Path, signatures: dict, tags=(v1.saved_model.tag_constants.SERVING,)) -> None:
    with v1.Session(graph=graph) as session:
        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(str(out))
        builder.add_meta_graph_and_variables(session, list(tags), signature_def_map=signatures)
        builder.save()


BUILDERS = {
    "gru_autoencoder": gru_autoencoder,
    "rl_agent": rl_agent,
    "tf1_train_tag_only": tf1_train_tag_only,
    "tf1_prints": tf1_prints,
    "tf1_train_op_in_collection": tf1_train_op_in_collection,
    "fit_step": fit_step,
    "tf1_momentum": tf1_momentum,
    "tf1_custom_tag": lambda out: tf1_momentum(out, ["test_saved_model"]),  # the saved_model guide's custom tag
    "tf1_train_and_serve": tf1_train_and_serve,
    "weights_by_value": weights_by_value,
    "combined_loss": combined_loss,
    "keras3_in_module": keras3_in_module,
    "metrics_and_extra_inputs": metrics_and_extra_inputs,
    "unrelated_scalars": unrelated_scalars,
    "v1_checkpoint_module": v1_checkpoint_module,
    "tf1_ref_graph": tf1_ref_graph,
    "checkpoint_module": checkpoint_module,
    "multi_label": multi_label,
    "text_no_predict": text_no_predict,
    "two_trainers": two_trainers,
    "hang_forever": hang_forever,
    **{kind: (lambda out, kind=kind: with_denied_op(out, kind)) for kind in DENIED},
}


def build(name: str, root: Path) -> tuple[Path, Expected]:
    out = Path(root) / name / "saved_model"
    out.parent.mkdir(parents=True, exist_ok=True)
    return out, BUILDERS[name](out)
