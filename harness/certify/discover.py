"""Finds the signatures of a training export we did not write, by what their functions do.

Reads saved_model.pb only (never loads or runs the model, never writes into the export):

- train: the signature whose function updates variables. Its function is followed through the
  function library (call ops' `f`, While/If/Case bodies, any other function attribute); in a TF1
  graph (SavedModelBuilder) the signature's outputs are tensors of the graph, and the graph is
  walked backwards from them, control edges included (the train op usually hangs there).
- loss: the train signature's scalar float output, or its only output; of several, the one the
  others are computed into, else the one named "loss". Its other scalar outputs (a metrics dict:
  accuracy, mae, ...) are compared too, each by name.
- save / restore: a signature taking one scalar string (the checkpoint path) whose function writes
  (SaveV2, MergeV2Checkpoints) or reads (RestoreV2) a checkpoint. Restore assigns variables; it is
  never a training signature.
- predict: a signature that takes inputs, updates no variables and is not save/restore (any name).
- get_weights / set_weights (weights by value, as federated clients and LiteRT without Flex
  exchange them): a signature with no inputs whose outputs are variables as read, and one that
  writes its inputs into variables as given and takes exactly those outputs back, by name.

Signatures that are the same function under two names (Keras' ExportArchive makes its first
endpoint `serving_default` too) count once. Overrides (`train`, `predict`, `save`, `restore`,
`loss`) win over guessing and are checked; ambiguity is an error naming the candidates and the
flag that settles it.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import HarnessError
from ..plan.interface import Interface
from .evidence import (CONST, COUNT, DATA, DEFAULT, HYPER, RESTORE_OPS, SAVE_OPS, SET, VAR, VARIABLE_OPS, Graph, Reach,
                       is_update_op, _node_name)  # noqa: F401 (is_update_op: discover's vocabulary for the tests)

TRAIN_OP_COLLECTIONS = frozenset({"saved_model_train_op", "train_op"})
OVERRIDES = {"train": "--train", "predict": "--predict", "save": "--save", "restore": "--restore", "loss": "--loss",
             "get_weights": "--get-weights", "set_weights": "--set-weights"}
_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# Scalar outputs every runtime hands back as numbers (TF Java's worker and TrainExport: no bfloat16, no strings).
_METRIC_DTYPES = ("float16", "float32", "float64", "int32", "int64", "bool")



@dataclass(frozen=True)
class TensorSpec:
    """One input (or output) of a signature, as the SignatureDef declares it."""

    name: str  # the signature's key for it (what callers feed or fetch)
    dtype: np.dtype  # numpy dtype (object for strings)
    tf_dtype: str  # TensorFlow's name for it: "float32", "int64", "string", "bool", ...
    shape: tuple[int | None, ...] | None  # None: unknown dimension; shape None: unknown rank
    dense: bool = True  # False: a sparse or composite tensor (not fed by the harness)

    @property
    def is_scalar_string(self) -> bool:
        return self.tf_dtype == "string" and self.shape == ()

    def describe(self) -> str:
        dims = "?" if self.shape is None else "[" + ", ".join("None" if d is None else str(d) for d in self.shape) + "]"
        return f"{self.tf_dtype}{dims}"


@dataclass(frozen=True)
class Discovery:
    """What certify calls in an export, how to feed it, and how each thing was found."""

    saved_model: Path
    interface: Interface
    inputs: dict[str, tuple[TensorSpec, ...]]  # every signature (not __saved_model_init_op), inputs sorted by name
    outputs: dict[str, tuple[TensorSpec, ...]]  # same, outputs
    saver_def: bool  # the meta graph has a saver_def (TF Java's Session.save/restore)
    train_updates: tuple[str, ...]  # variables the train signature updates (shared names; "<function>/<node>:<input>" when untold)
    notes: tuple[str, ...]  # how each thing was found, one line each
    # signature -> input -> what the graph says of it: ("default", value, why), ("ids", N, why): integers in
    # [0, N), ("hyper", None, why): a scalar hyper-parameter, never noise
    hints: dict = field(default_factory=dict)
    written: dict = field(default_factory=dict)  # signature -> variables it writes
    counters: tuple = ()  # variables train counts up (v += constant): an iteration counter
    inference_reads: tuple = ()  # variables the inference signature's outputs are computed from
    train_random: tuple = ()  # random ops train runs whose state is in no variable (so in no checkpoint)
    # A TF1 graph no signature trains, trained by its train op: (op, loss tensor, placeholders fed); the runtimes
    # call it through TRAIN_SIGNATURE, which certify adds to its scratch copy (add_train_signature)
    train_op: tuple | None = None
    saver_restores: tuple | None = None  # variables the saver_def's restore op writes (None: no saver_def)
    loss_reads: tuple = ()  # variables the loss is computed from: the model's (its optimizer's slots are not)
    feeds_writes: tuple = ()  # variables train reads into another variable's update (optimizer slots, counters)

    @property
    def train_inputs(self) -> tuple[TensorSpec, ...]:
        return self.inputs[self.interface.train]

    @property
    def predict_inputs(self) -> tuple[TensorSpec, ...]:
        return self.inputs[self.interface.predict] if self.interface.predict else ()


def discover(saved_model: Path, overrides: dict | None = None, tags: tuple[str, ...] | None = None) -> Discovery:
    """The Interface of `saved_model` (see the module docstring). `overrides` maps "train",
    "predict", "save", "restore", "loss", "get_weights", "set_weights" to a signature (output for
    "loss") name; a missing key or None: guess; "" for predict/save/restore/get_weights/set_weights:
    do not use one. `tags`: the meta graph to use
    (None: the one holding the training signature, `serve` first)."""
    saved_model = Path(saved_model)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise HarnessError(f"unknown override(s) {unknown}: expected some of {sorted(OVERRIDES)}")
    pb, proto = read_saved_model(saved_model)
    sets = [sorted(m.meta_info_def.tags) for m in proto.meta_graphs]
    metas = sorted(proto.meta_graphs, key=lambda m: "serve" not in m.meta_info_def.tags)
    if tags is not None:
        metas = [m for m in metas if set(m.meta_info_def.tags) == set(tags)]
        if not metas:
            raise HarnessError(f"{pb}: --tags {','.join(tags)}: no meta graph has that tag set; it has tag sets {sets}")
    if not metas:
        raise HarnessError(f"{pb}: no meta graph")
    examined = [_examine(pb, meta, overrides) for meta in metas]
    meta, chooser = next(((m, c) for m, c in zip(metas, examined) if c.trains), (metas[0], examined[0]))
    sigs, inputs, outputs, facts = chooser.sigs, chooser.inputs, chooser.outputs, chooser.facts
    chosen = tuple(sorted(meta.meta_info_def.tags))
    how = "--tags" if tags is not None else "the only one" if len(sets) == 1 else f"holds the training signature; tag sets {sets}"
    notes = [f"tags: meta graph {list(chosen)} ({how})"]
    train = chooser.train(notes)
    if chooser.train_op:
        op, loss_tensor, fed = chooser.train_op
        notes.append(f"train op: {op!r} (no signature trains; its updates are an optimizer step), fed {', '.join(fed)}, "
                     f"loss {loss_tensor!r}: what Java code runs as runner().feed(...).fetch({loss_tensor!r})"
                     f".addTarget({op!r}); the runtimes call it as signature {TRAIN_SIGNATURE!r}, which certify adds to "
                     f"its scratch copy (an Identity of the loss with a control input on the op)")
    loss = chooser.loss(train, notes)
    metrics = chooser.metrics(train, loss, notes)
    predict = chooser.other("predict", notes, train)
    save = chooser.other("save", notes)
    restore = chooser.other("restore", notes)
    get_weights, set_weights = chooser.weights(train, notes)
    notes.extend(note for setter, note in sorted(chooser.setters.items()) if setter != set_weights)
    for name in sorted(sigs):
        if name not in (train, predict, save, restore, get_weights, set_weights) and name not in chooser.aliases:
            notes.append(f"unused: signature {name!r} ({chooser.describe(name)})")
    has_saver = meta.HasField("saver_def")
    notes.append(f"saver_def: {'present (filename tensor ' + repr(meta.saver_def.filename_tensor_name) + ')' if has_saver else 'absent'}")
    interface = Interface(
        train=train, loss=loss, predict=predict,
        save=save, save_path=inputs[save][0].name if save else Interface.save_path,
        restore=restore, restore_path=inputs[restore][0].name if restore else Interface.restore_path, tags=chosen,
        metrics=metrics, get_weights=get_weights, set_weights=set_weights,
    )
    return Discovery(saved_model, interface, inputs, outputs, has_saver, tuple(sorted(facts[train].targets)), tuple(notes),
                     **_evidence(chooser, meta, train, predict, loss, notes))


def _evidence(chooser: "_Chooser", meta, train: str, predict: str | None, loss: str, notes: list[str]) -> dict:
    """The Discovery fields that say how to feed the roles and what the checkpoints leave out (notes: appended)."""
    facts = chooser.facts
    hints = {sig: chooser.hints(sig) for sig in (train, predict) if sig}
    counters = tuple(sorted(v for v, kinds in facts[train].writes.items() if kinds == {COUNT} or _integer_scalar(chooser.graph, v)))
    reads = tuple(sorted(o[1] for o in chooser.output_origins[predict] if o[0] == VAR)) if predict else ()
    loss_info = chooser.sigs[train].outputs[loss]
    loss_reads = tuple(sorted(o[1] for o in chooser.graph.origins(_graph_tensor(loss_info.name)) if o[0] == VAR)) \
        if loss_info.WhichOneof("encoding") == "name" else ()
    if facts[train].random_ops:
        notes.append(f"random: {train!r} draws random numbers ({', '.join(sorted(facts[train].random_ops))}) whose "
                     f"state is in no variable: no checkpoint carries it")
    return dict(hints=hints, written={n: tuple(sorted(r.targets)) for n, r in facts.items()}, counters=counters,
                inference_reads=reads, train_random=tuple(sorted(facts[train].random_ops)),
                feeds_writes=tuple(sorted(facts[train].feeds_writes)), train_op=chooser.train_op, loss_reads=loss_reads,
                saver_restores=tuple(sorted(chooser.graph.reach([meta.saver_def.restore_op_name]).targets))
                if meta.HasField("saver_def") else None)


def _examine(pb, meta, overrides: dict) -> "_Chooser":
    """One meta graph's signatures, inputs, outputs and what each runs, ready to choose from."""
    graph = Graph(meta)
    sigs = {k: v for k, v in meta.signature_def.items() if not k.startswith("__")}
    if not sigs and not find_train_op(graph, meta):
        raise HarnessError(f"{pb}: the meta graph tagged {sorted(meta.meta_info_def.tags)} has no signatures, "
                           f"and no op in it trains")
    inputs = {k: tuple(sorted((_spec(n, i) for n, i in s.inputs.items()), key=lambda t: t.name)) for k, s in sigs.items()}
    outputs = {k: tuple(sorted((_spec(n, i) for n, i in s.outputs.items()), key=lambda t: t.name)) for k, s in sigs.items()}
    facts = {name: graph.reach([info.name for info in sig.outputs.values() if info.WhichOneof("encoding") == "name"])
             for name, sig in sorted(sigs.items())}
    if "train" not in overrides and not any(r.trains for r in facts.values()) and TRAIN_SIGNATURE not in sigs:
        found = find_train_op(graph, meta)
        if found:  # no signature trains, a train op does: discovered as the signature a scratch copy gets
            add_train_signature(meta, *found)
            chooser = _examine(pb, meta, overrides)
            chooser.train_op = found
            return chooser
    chooser = _Chooser(pb, sigs, inputs, outputs, facts, overrides)
    chooser.graph = graph
    chooser.output_origins = {
        name: frozenset().union(*(graph.origins(_graph_tensor(info.name)) for info in sig.outputs.values()
                                  if info.WhichOneof("encoding") == "name")) for name, sig in sigs.items()}
    chooser.train_op_collections = sorted(set(meta.collection_def) & TRAIN_OP_COLLECTIONS)
    return chooser


TRAIN_SIGNATURE = "conformance_train"  # the signature certify adds to its copy of a graph trained by op
_TRAIN_LOSS_NODE = "conformance_train/loss"


def find_train_op(graph: Graph, meta) -> tuple[str, str, tuple[str, ...]] | None:
    """(train op, loss tensor, placeholders it is fed) of a TF1 graph that no signature trains, or None.

    The train op: the graph's train-op collection if it has one, else a node nothing consumes (a sink) whose
    updates include an optimizer step (evidence.write_kind), the one writing the most variables. The loss: the
    tensor the gradients are seeded from (tf.gradients' Fill(Shape(loss), 1)), else the scalar float sink of
    the forward graph computed from the fed inputs and the variables the op trains (shapes from TensorFlow's
    shape inference); of several, the one named loss."""
    named = []
    for key in sorted(set(meta.collection_def) & TRAIN_OP_COLLECTIONS):
        collection = meta.collection_def[key]
        named += [_node_name(n) for n in collection.node_list.value]
    consumed = {_node_name(i) for node in graph.nodes.values() for i in node.input}
    candidates = []
    for name in dict.fromkeys(named + sorted(n for n in graph.nodes if n not in consumed)):
        if name not in graph.nodes:
            continue
        reach = graph.reach([name])
        if reach.trains and not (reach.saves or reach.restores):
            candidates.append((name not in named, -len(reach.stepped), name, reach))
    if not candidates:
        return None
    _, _, op, reach = min(candidates, key=lambda c: c[:3])
    fed = tuple(sorted(n for n in reach.graph_nodes if graph.nodes[n].op in ("Placeholder", "PlaceholderWithDefault")))
    loss = _loss_of(graph, meta, reach, fed)
    return (op, loss, fed) if loss else None


def _loss_of(graph: Graph, meta, reach: Reach, fed: tuple) -> str | None:
    """The scalar float tensor computed from the fed inputs and the trained variables that the gradients are
    seeded from (Fill(Shape(loss), 1)), else the one such tensor of the forward graph nothing else consumes."""
    import tensorflow as tf

    from .evidence import _const_value

    with tf.Graph().as_default() as g:  # shapes only (TensorFlow's shape inference): no session, no variable read
        tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)

    def loss_like(tensor: str) -> bool:
        try:
            t = g.get_tensor_by_name(tensor)
        except (KeyError, ValueError):
            return False
        origins = graph.origins(tensor)
        return (t.shape.rank == 0 and t.dtype.is_floating and bool({o[1] for o in origins if o[0] == VAR} & reach.stepped)
                and bool({o[1] for o in origins if o[0] in (DATA, HYPER, DEFAULT)} & set(fed)))

    seeds = set()
    for name in reach.graph_nodes:
        node = graph.nodes[name]
        inputs = [i for i in node.input if not i.startswith("^")]
        if node.op == "Fill" and len(inputs) == 2:
            shape, one = graph.nodes.get(_node_name(inputs[0])), _const_value(graph.nodes.get(_node_name(inputs[1])))
            if shape is not None and shape.op == "Shape" and one is not None and float(one) == 1.0:
                seeds.add(_graph_tensor(shape.input[0]))
    seeds = sorted(t for t in seeds if loss_like(t))
    if len(seeds) == 1:
        return seeds[0]
    consumers: dict = {}
    for node in graph.nodes.values():
        for i in node.input:
            consumers.setdefault(_node_name(i), []).append(node.op)
    found = [_graph_tensor(name) for name in sorted(graph.nodes) if name not in reach.graph_nodes
             and all(op in ("Shape", "ScalarSummary", "Identity") for op in consumers.get(name, []))
             and loss_like(_graph_tensor(name))]
    if len(found) > 1:  # the last tie-breaks, by name: not under tf.gradients' scope, then named loss
        found = [t for t in found if not re.match(r"gradients(_\d+)?/", t)] or found
        found = [t for t in found if "loss" in t.lower()] or found
    return found[0] if len(found) == 1 else None


def add_train_signature(meta, op: str, loss: str, fed: tuple) -> None:
    """Adds TRAIN_SIGNATURE to `meta` (in memory): inputs the placeholders, output "loss" an Identity of the loss
    that runs `op` first (a control input): calling it is runner().feed(...).fetch(loss).addTarget(op)."""
    from tensorflow.core.framework import types_pb2

    source = meta.graph_def.node
    producer = next(n for n in source if n.name == _node_name(loss))
    dtype = next((producer.attr[k].type for k in ("T", "dtype", "out_type") if k in producer.attr), types_pb2.DT_FLOAT)
    node = meta.graph_def.node.add(name=_TRAIN_LOSS_NODE, op="Identity", input=[loss, "^" + op])
    node.attr["T"].type = dtype
    signature = meta.signature_def[TRAIN_SIGNATURE]
    for name in fed:
        placeholder = next(n for n in source if n.name == name)
        info = signature.inputs[name]
        info.name, info.dtype = name + ":0", placeholder.attr["dtype"].type
        if "shape" in placeholder.attr:
            info.tensor_shape.CopyFrom(placeholder.attr["shape"].shape)
    out = signature.outputs["loss"]
    out.name, out.dtype = _TRAIN_LOSS_NODE + ":0", dtype
    out.tensor_shape.SetInParent()  # a scalar
    signature.method_name = "tensorflow/serving/train"


def write_train_signature(copy: Path, tags: tuple, train_op: tuple) -> None:
    """Adds TRAIN_SIGNATURE to the meta graph tagged `tags` of `copy` (certify's scratch copy, never the export)."""
    from .. import atomic

    pb, proto = read_saved_model(copy)
    meta = next(m for m in proto.meta_graphs if set(m.meta_info_def.tags) == set(tags))
    add_train_signature(meta, *train_op)
    atomic.write_bytes(pb, proto.SerializeToString())


def _graph_tensor(name: str) -> str:
    return name if ":" in name else name + ":0"


def read_saved_model(saved_model: Path):
    """(saved_model.pb path, the SavedModel proto), or a HarnessError naming the file."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = Path(saved_model)
    if not saved_model.is_dir():
        raise HarnessError(f"{saved_model}: export directory does not exist")
    pb = saved_model / "saved_model.pb"
    if not pb.exists():
        hint = " (a .pbtxt SavedModel is not supported)" if (saved_model / "saved_model.pbtxt").exists() else ""
        raise HarnessError(f"{pb}: missing: {saved_model} is not a SavedModel directory{hint}")
    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString(pb.read_bytes())
    except DecodeError as e:
        raise HarnessError(f"{pb}: not a SavedModel protobuf: {e}") from None
    return pb, proto


def read_meta_graph(saved_model: Path, tags=("serve",)):
    """(saved_model.pb path, the MetaGraphDef tagged `tags`), or a HarnessError naming the file."""
    pb, proto = read_saved_model(saved_model)
    metas = [m for m in proto.meta_graphs if set(tags) <= set(m.meta_info_def.tags)]
    if not metas:
        sets = [sorted(m.meta_info_def.tags) for m in proto.meta_graphs]
        raise HarnessError(f"{pb}: no meta graph tagged {sorted(tags)}; it has tag sets {sets}")
    return pb, metas[0]


def _spec(name: str, info) -> TensorSpec:
    from tensorflow import as_dtype

    dtype = as_dtype(info.dtype)
    if dtype.is_numpy_compatible:
        np_dtype = np.dtype(dtype.as_numpy_dtype)
    else:
        np_dtype = np.dtype(object)
    shape = info.tensor_shape
    dims = None if shape.unknown_rank else tuple(None if d.size < 0 else d.size for d in shape.dim)
    return TensorSpec(name, np_dtype, dtype.name, dims, dense=info.WhichOneof("encoding") == "name")


class _Chooser:
    """Classifies signatures and picks one per role, overrides first."""

    def __init__(self, pb, sigs, inputs, outputs, facts: dict[str, Reach], overrides: dict):
        self.pb, self.sigs, self.inputs, self.outputs, self.facts = pb, sigs, inputs, outputs, facts
        self.overrides = overrides
        self.kind = {name: self._kind(name) for name in sigs}
        self.aliases: set[str] = set()  # signatures that are a chosen one under another name
        self.setters: dict[str, str] = {}  # weight setters passed over for train -> the note saying so (unless paired)
        self.train_op_collections: list[str] = []
        self.train_op: tuple | None = None  # (op, loss tensor, inputs) of a graph trained by op (find_train_op)

    @property
    def trains(self) -> bool:
        """This meta graph has a signature that trains (or the one --train names)."""
        return self.overrides.get("train") in self.sigs or "train" in self.kind.values()

    def _kind(self, name: str) -> str:
        inputs, reach = self.inputs[name], self.facts[name]
        if len(inputs) == 1 and inputs[0].is_scalar_string and (reach.saves or reach.restores):
            return "restore" if reach.restores else "save"
        if reach.trains:
            return "train"
        if reach.writes:  # writes variables, but no write is an optimizer step
            return "setter" if reach.write_kinds() <= {SET} else "writer"
        if not inputs:
            return "no-inputs"
        if reach.saves or reach.restores:
            return "checkpoint-io"
        return "predict"

    def hints(self, name: str) -> dict:
        """What the graph says of each input of `name`: a default to keep, an id range, a hyper-parameter."""
        out = {}
        for spec in self.inputs[name]:
            tensor = self.sigs[name].inputs[spec.name].name
            default = self.graph.default_of(tensor)
            if default is not None:
                out[spec.name] = ("default", default, "a PlaceholderWithDefault: its default is kept")
            elif spec.shape == () and spec.tf_dtype in _FLOAT_DTYPES:
                out[spec.name] = ("hyper", None, "a scalar float input: a hyper-parameter (a rate, a probability)")
            elif spec.tf_dtype in _FLOAT_DTYPES + ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
                found = self.graph.id_range(tensor)  # class ids may come as floats, cast to integers in the graph
                if found:
                    out[spec.name] = ("ids", found[0], found[1])
        return out

    def describe(self, name: str) -> str:
        reach, kind = self.facts[name], self.kind[name]
        if kind == "train":
            return reach.update_summary()
        if kind == "setter":
            return f"writes {len(reach.targets)} variable(s) from its inputs as given (a setter, not an optimizer step)"
        if kind == "writer":
            how = ", ".join(sorted(reach.write_kinds()))
            return f"writes {len(reach.targets)} variable(s) by {how}, no optimizer step (not train)"
        if kind in ("save", "restore"):
            ops = sorted(reach.ops & (SAVE_OPS | RESTORE_OPS))
            return f"{kind}s a checkpoint via {', '.join(ops)}; path input {self.inputs[name][0].name!r}"
        if kind == "no-inputs":
            return "takes no inputs"
        if kind == "checkpoint-io":
            return "reads or writes a checkpoint but does not take one string path"
        return "updates no variables; inputs " + ", ".join(f"{s.name}: {s.describe()}" for s in self.inputs[name])

    def _missing(self, role: str, name: str) -> HarnessError:
        return HarnessError(f"{self.pb}: {OVERRIDES[role]} {name!r}: no such signature "
                            f"(signatures: {', '.join(sorted(self.sigs))})")

    def _pick(self, role: str, candidates: list[str], rank=None, notes=None) -> tuple[str | None, list[str]]:
        """The candidate for `role`, with its aliases: the best by `rank` (a key, lowest first) when candidates
        differ, the others said in `notes`; an error when the best ones tie."""
        groups: dict = {}
        for name in candidates:
            key = (frozenset(self.facts[name].body), self.inputs[name], tuple(s.name for s in self.outputs[name]))
            groups.setdefault(key, []).append(name)
        if not groups:
            return None, []
        if len(groups) > 1 and rank is not None:
            ranked = sorted((sorted(g, key=lambda n: (n == "serving_default", n)) for g in groups.values()),
                            key=lambda g: min(rank(n) for n in g))
            best = min(rank(n) for n in ranked[0])
            if all(min(rank(n) for n in g) != best for g in ranked[1:]):
                for group in ranked[1:]:
                    notes.append(f"also {role}?: signature {group[0]!r} ({self.describe(group[0])}): ranked below "
                                 f"{ranked[0][0]!r} by the evidence; {OVERRIDES[role]} {group[0]} certifies it instead")
                    self.aliases.update(group)
                groups = {0: ranked[0]}
        if len(groups) > 1:
            listed = ", ".join(f"{names[0]!r}" + (f" (= {', '.join(map(repr, names[1:]))})" if names[1:] else "")
                               + f" ({self.describe(names[0])})" for names in sorted(sorted(g) for g in groups.values()))
            raise HarnessError(f"{self.pb}: {len(groups)} signatures could be {role!r}: {listed}. "
                               f"Name the one to use with {OVERRIDES[role]} NAME")
        (names,) = groups.values()
        names = sorted(names, key=lambda n: (n == "serving_default", n))  # serving_default is usually an alias
        self.aliases.update(names[1:])
        return names[0], names[1:]

    def train(self, notes: list[str]) -> str:
        if "train" in self.overrides:
            name = self.overrides["train"]
            if name not in self.sigs:
                raise self._missing("train", name)
            if self.kind[name] in ("save", "restore"):
                raise HarnessError(f"{self.pb}: --train {name!r} is a {self.kind[name]} signature ({self.describe(name)})")
            if self.kind[name] == "train":
                notes.append(f"train: signature {name!r} (--train; {self.describe(name)})")
            else:
                notes.append(f"train: signature {name!r} (--train; no variable update was found in it)")
            self._check_dense(name, "train")
            return name
        candidates = [n for n, k in self.kind.items() if k == "train"]
        # Setters (write their inputs as given), copies and re-initializers are no trainer, whatever their names.
        self.setters = {n: f"unused: signature {n!r} {self.describe(n)}" for n, k in self.kind.items()
                        if k in ("setter", "writer")}
        self.aliases.update(self.setters)  # noted as such, not again as unused
        # Of several trainers, the one whose optimizer step writes the most variables, then by name.
        name, aliases = self._pick("train", candidates, rank=lambda n: (-len(self.facts[n].stepped), not _named(n, "train")),
                                   notes=notes)
        if name is None:
            listed = "; ".join(f"{n!r}: {self.describe(n)}" for n in sorted(self.sigs))
            hint = (f" The graph's collection {', '.join(map(repr, self.train_op_collections))} holds a train op, but "
                    f"no signature runs it: export a signature whose outputs depend on it (tf.control_dependencies)."
                    if self.train_op_collections else "")
            raise HarnessError(f"{self.pb}: no signature updates variables, so none trains ({listed}).{hint} "
                               f"If one does in a way not recognized, name it with --train NAME")
        notes.append(f"train: signature {name!r} ({self.describe(name)})" + _aliases(aliases))
        self._check_dense(name, "train")
        return name

    def _check_dense(self, name: str, role: str) -> None:
        sparse = [s.name for s in self.inputs[name] if not s.dense]
        if sparse:
            raise HarnessError(f"{self.pb}: {role} signature {name!r} takes sparse or composite inputs {sparse}: "
                               f"the harness feeds dense tensors only")

    def loss(self, train: str, notes: list[str]) -> str:
        outputs = self.outputs[train]
        names = [s.name for s in outputs]
        if "loss" in self.overrides:
            name = self.overrides["loss"]
            if name not in names:
                raise HarnessError(f"{self.pb}: --loss {name!r}: signature {train!r} has no such output (outputs: {', '.join(names)})")
            notes.append(f"loss: output {name!r} of {train!r} (--loss)")
            return name
        if len(outputs) == 1:
            notes.append(f"loss: output {names[0]!r} ({outputs[0].describe()}, the only output of {train!r})")
            return names[0]
        scalars = [s.name for s in outputs if s.shape == () and s.tf_dtype in _FLOAT_DTYPES]
        if len(scalars) == 1:
            notes.append(f"loss: output {scalars[0]!r} (the only scalar float output of {train!r})")
            return scalars[0]
        combined = self._combined(train, scalars)
        if combined:
            others = ", ".join(s for s in scalars if s != combined)
            notes.append(f"loss: output {combined!r} (of the scalar float outputs of {train!r}, the one the others "
                         f"({others}) are computed into: the combined loss the step minimizes)")
            return combined
        if "loss" in scalars:  # the last tie-break: the name
            notes.append(f"loss: output 'loss' (by its name: none of {train!r}'s scalar float outputs "
                         f"{', '.join(scalars)} is computed from the others)")
            return "loss"
        listed = ", ".join(f"{s.name}: {s.describe()}" for s in outputs)
        problem = ("has several scalar float outputs and none is computed from the others or named 'loss', so "
                   "which one the step minimizes cannot be told" if scalars else "has no scalar float output")
        raise HarnessError(f"{self.pb}: signature {train!r} {problem} ({listed}): pass --loss OUTPUT to name the loss")

    def metrics(self, train: str, loss: str, notes: list[str]) -> tuple[str, ...]:
        """The train signature's other scalar outputs (a metrics dict): compared by name at every step."""
        metrics = tuple(s.name for s in self.outputs[train]
                        if s.name != loss and s.dense and s.shape == () and s.tf_dtype in _METRIC_DTYPES)
        if metrics:
            notes.append(f"metrics: outputs {', '.join(metrics)} of {train!r} (its other scalar outputs: "
                         f"compared at every step beside the loss, each by name)")
        return metrics

    def weights(self, train: str, notes: list[str]) -> tuple[str | None, str | None]:
        """(get_weights, set_weights): weights by value, or (None, None). See the module docstring."""
        given = {role: self.overrides.get(role) for role in ("get_weights", "set_weights")}
        if "" in given.values():
            notes.append("weights: none (--get-weights or --set-weights '')")
            return None, None
        for role, name in given.items():
            if name is not None and name not in self.sigs:
                raise self._missing(role, name)
        getters = [given["get_weights"]] if given["get_weights"] else \
            [n for n in sorted(self.sigs) if self.kind[n] == "no-inputs" and self._returns_variables(n)]
        setters = [given["set_weights"]] if given["set_weights"] else \
            [n for n in sorted(self.sigs) if n != train and self.kind[n] == "setter"]
        pairs = [(g, s) for g in getters for s in setters if self._takes_back(g, s)]
        if not pairs and any(given.values()):
            described = "; ".join(f"{n!r} returns {self._listed(self.outputs[n])}, {m!r} takes {self._listed(self.inputs[m])}"
                                  for n in getters for m in setters)
            raise HarnessError(f"{self.pb}: no weights by value in the signatures named ({described}): the setter must take "
                               f"exactly the getter's outputs, by name, and the getter no inputs")
        if not pairs:
            notes.append("weights: none (no signature without inputs returns variables that another takes back as its inputs)")
            return None, None
        getter, getter_aliases = self._pick("get_weights", sorted({g for g, _ in pairs}))
        setter, setter_aliases = self._pick("set_weights", sorted({s for g, s in pairs if g == getter}))
        how = "--get-weights/--set-weights" if any(given.values()) else "by what they do"
        notes.append(f"weights: {getter!r} returns {', '.join(s.name for s in self.outputs[getter])} as read from variables, "
                     f"{setter!r} writes them back as given (weights by value; {how})"
                     + _aliases(getter_aliases + setter_aliases))
        return getter, setter

    @staticmethod
    def _listed(specs) -> str:
        return ", ".join(f"{s.name}: {s.describe()}" for s in specs) or "nothing"

    def _returns_variables(self, name: str) -> bool:
        """Every output of `name` is variables' values (as read, stacked, concatenated, reshaped): no input in them."""
        outputs = self.sigs[name].outputs.values()
        if not outputs or any(o.WhichOneof("encoding") != "name" for o in outputs):
            return False
        each = [self.graph.origins(_graph_tensor(o.name)) for o in outputs]
        return all(origins and {o[0] for o in origins} <= {VAR, CONST} and any(o[0] == VAR for o in origins)
                   for origins in each)

    def _takes_back(self, getter: str, setter: str) -> bool:
        """The setter's inputs are the getter's outputs: the same names, dtypes and (where known) dimensions."""
        returns = {s.name: s for s in self.outputs[getter]}
        takes = {s.name: s for s in self.inputs[setter]}
        if not self.inputs[getter] == () or set(returns) != set(takes):
            return False
        return all(returns[n].tf_dtype == takes[n].tf_dtype and _compatible(returns[n].shape, takes[n].shape) for n in takes)

    def _combined(self, train: str, scalars: list[str]) -> str | None:
        """The scalar output every other scalar output feeds into (loss = cls_loss + reg_loss), if exactly one."""
        outputs = self.sigs[train].outputs
        sources = {s: self.graph.source(outputs[s].name) for s in scalars if outputs[s].WhichOneof("encoding") == "name"}
        if len(sources) != len(scalars):
            return None
        found = [s for s, (scope, tensor) in sources.items()
                 if all(o == s or (sources[o][0] == scope and _node_name(sources[o][1]) in self.graph.ancestors(scope, tensor)
                                   and sources[o] != sources[s]) for o in scalars)]
        return found[0] if len(found) == 1 else None

    def other(self, role: str, notes: list[str], train: str | None = None) -> str | None:
        """predict, save or restore."""
        if role in self.overrides:
            name = self.overrides[role]
            if name == "":
                notes.append(f"{role}: none ({OVERRIDES[role]} '')")
                return None
            if name not in self.sigs:
                raise self._missing(role, name)
            if role in ("save", "restore"):
                specs = self.inputs[name]
                if len(specs) != 1 or not specs[0].is_scalar_string:
                    raise HarnessError(f"{self.pb}: --{role} {name!r} takes {', '.join(f'{s.name}: {s.describe()}' for s in specs) or 'no inputs'}; "
                                       f"a {role} signature takes one scalar string (the checkpoint path)")
            if role == "predict":
                self._check_dense(name, role)
            notes.append(f"{role}: signature {name!r} ({OVERRIDES[role]}; {self.describe(name)})")
            return name
        candidates = [n for n, k in self.kind.items() if k == role]
        rank = None
        if role == "predict":
            candidates = [n for n in candidates if all(s.dense for s in self.inputs[n])]
            # Inference computes from data and reads what train trains: not a frozen feature extractor, not another
            # network (a target network), not a getter that ignores its inputs. The more trained variables, the better.
            trained = self.facts[train].targets if train else set()
            reads = {n: {o[1] for o in self.output_origins[n] if o[0] == VAR} & trained for n in candidates}
            uses_data = {n: any(o[0] in (DATA, DEFAULT, HYPER) for o in self.output_origins[n]) for n in candidates}
            for n in candidates:
                if not (reads[n] and uses_data[n]):
                    self.setters[n] = (f"unused: signature {n!r} is no inference of what train trains (it "
                                       + ("reads none of the variables train writes" if uses_data[n] else
                                          "does not compute from its inputs") + ")")
                    self.aliases.add(n)
            candidates = [n for n in candidates if reads[n] and uses_data[n]]
            # then one whose inputs can be made up (not serialized strings), then by name
            rank = lambda n: (-len(reads[n]), any(s.tf_dtype == "string" for s in self.inputs[n]),  # noqa: E731
                              not _named(n, "predict", "infer", "serv", "call"))
        name, aliases = self._pick(role, candidates, rank=rank, notes=notes)
        if name is None:
            why = {"predict": "no signature takes inputs without updating variables",
                   "save": "no signature takes one string path and writes a checkpoint",
                   "restore": "no signature takes one string path and restores a checkpoint"}[role]
            notes.append(f"{role}: none ({why})")
            return None
        notes.append(f"{role}: signature {name!r} ({self.describe(name)})" + _aliases(aliases))
        return name


def _integer_scalar(graph: Graph, variable: str) -> bool:
    """A scalar integer variable: what an optimizer counts its steps in."""
    from tensorflow import as_dtype

    found = graph.variable_dtype_shape(variable)
    return found is not None and found[1] == [] and as_dtype(found[0]).is_integer


def _named(name: str, *words: str) -> bool:
    """The last tie-break: the signature's name says the role."""
    return any(w in name.lower() for w in words)


def _compatible(a, b) -> bool:
    """Two declared shapes that one array can have (None: unknown rank or dimension)."""
    return a is None or b is None or (len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b)))


def _aliases(aliases: list[str]) -> str:
    return f"; {', '.join(map(repr, aliases))} is the same function" if aliases else ""
