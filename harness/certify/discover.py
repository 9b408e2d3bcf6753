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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import HarnessError
from ..plan.interface import Interface

# Ops that change a variable. Resource variables (TF2, and TF1 graphs with resource variables):
UPDATE_OPS = frozenset({
    "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "ResourceStridedSliceAssign",
    "AssignVariableXlaConcatND", "ResourceCountUpTo",
    # reference variables (TF1 graphs):
    "Assign", "AssignAdd", "AssignSub", "StridedSliceAssign", "CountUpTo",
    "ScatterUpdate", "ScatterAdd", "ScatterSub", "ScatterMul", "ScatterDiv", "ScatterMin", "ScatterMax",
    "ScatterNdUpdate", "ScatterNdAdd", "ScatterNdSub", "ScatterNdMax", "ScatterNdMin",
})
UPDATE_PREFIXES = ("ResourceApply", "ResourceSparseApply", "ResourceScatter", "Apply", "SparseApply")
SAVE_OPS = frozenset({"SaveV2", "MergeV2Checkpoints", "Save", "SaveSlices"})
RESTORE_OPS = frozenset({"RestoreV2", "Restore", "RestoreSlice"})
VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable", "TemporaryVariable"})
_FORWARDING_OPS = frozenset({"Identity", "RefIdentity"})  # pass a variable handle or ref through
# Ops that only pass values along or call functions: left out of a signature's body fingerprint,
# so that two wrappers around the same function (aliases) compare equal.
_PLUMBING_OPS = frozenset({"Placeholder", "StatefulPartitionedCall", "PartitionedCall", "Identity", "IdentityN", "NoOp"})
# Where TF1 exports keep a train op that no signature may run (SavedModelBuilder's train_op=, Estimator).
TRAIN_OP_COLLECTIONS = frozenset({"saved_model_train_op", "train_op"})
OVERRIDES = {"train": "--train", "predict": "--predict", "save": "--save", "restore": "--restore", "loss": "--loss",
             "get_weights": "--get-weights", "set_weights": "--set-weights"}
_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# Scalar outputs every runtime hands back as numbers (TF Java's worker and TrainExport: no bfloat16, no strings).
_METRIC_DTYPES = ("float16", "float32", "float64", "int32", "int64", "bool")


def is_update_op(op: str) -> bool:
    return op in UPDATE_OPS or op.startswith(UPDATE_PREFIXES)


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
    loss = chooser.loss(train, notes)
    metrics = chooser.metrics(train, loss, notes)
    predict = chooser.other("predict", notes)
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
    return Discovery(saved_model, interface, inputs, outputs, has_saver, tuple(sorted(facts[train].targets)), tuple(notes))


def _examine(pb, meta, overrides: dict) -> "_Chooser":
    """One meta graph's signatures, inputs, outputs and what each runs, ready to choose from."""
    graph = Graph(meta)
    sigs = {k: v for k, v in meta.signature_def.items() if not k.startswith("__")}
    if not sigs:
        raise HarnessError(f"{pb}: the meta graph tagged {sorted(meta.meta_info_def.tags)} has no signatures")
    inputs = {k: tuple(sorted((_spec(n, i) for n, i in s.inputs.items()), key=lambda t: t.name)) for k, s in sigs.items()}
    outputs = {k: tuple(sorted((_spec(n, i) for n, i in s.outputs.items()), key=lambda t: t.name)) for k, s in sigs.items()}
    facts = {name: graph.reach([info.name for info in sig.outputs.values() if info.WhichOneof("encoding") == "name"])
             for name, sig in sorted(sigs.items())}
    chooser = _Chooser(pb, sigs, inputs, outputs, facts, overrides)
    chooser.graph = graph
    chooser.train_op_collections = sorted(set(meta.collection_def) & TRAIN_OP_COLLECTIONS)
    return chooser


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


@dataclass
class Reach:
    """What running a signature's outputs runs: the ops, the variables they update."""

    updates: set = field(default_factory=set)  # update op types
    targets: set = field(default_factory=set)  # variables updated: shared names, or "<scope>/<node>" when unresolved
    ops: set = field(default_factory=set)  # every op type
    body: set = field(default_factory=set)  # (scope, node) of every node doing work: equal for aliases
    functions: set = field(default_factory=set)  # library functions reached
    graph_nodes: set = field(default_factory=set)
    computed: bool = False  # some update writes a computed value (an optimizer step), not an input as given (a setter)

    @property
    def saves(self) -> bool:
        return bool(self.ops & SAVE_OPS)

    @property
    def restores(self) -> bool:
        return bool(self.ops & RESTORE_OPS)

    def update_summary(self) -> str:
        n = len(self.targets)
        return f"updates {n} variable{'s' if n != 1 else ''} via {', '.join(sorted(self.updates))}"


class Graph:
    """A meta graph's GraphDef and function library, walked from tensors to what they run."""

    def __init__(self, meta):
        self.nodes = {n.name: n for n in meta.graph_def.node}
        self.library = {f.signature.name: f for f in meta.graph_def.library.function}
        self._function_nodes = {name: {n.name: n for n in f.node_def} for name, f in self.library.items()}
        self._visited: dict = {}

    def reach(self, tensors: list[str]) -> Reach:
        """Everything the tensors (names "node:i") depend on, control edges and function bodies included."""
        reach = Reach()
        stack = [_node_name(t) for t in tensors]
        while stack:
            name = stack.pop()
            if name in reach.graph_nodes or name not in self.nodes:
                continue
            reach.graph_nodes.add(name)
            stack += [_node_name(i) for i in self.nodes[name].input]
        for name in sorted(reach.graph_nodes):
            node = self.nodes[name]
            self._node(reach, None, node, self._resolve_graph)
        return reach

    # -- variable resolution: which variable a resource/ref input is, when it can be told --

    def _resolve_graph(self, tensor: str, depth: int = 0):
        node = self.nodes.get(_node_name(tensor))
        if node is None or depth > 50:
            return None
        if node.op in VARIABLE_OPS:
            shared = node.attr["shared_name"].s.decode() if "shared_name" in node.attr else ""
            return shared or node.name
        if node.op in _FORWARDING_OPS and node.input:
            return self._resolve_graph(node.input[0], depth + 1)
        return None

    def _resolve_function(self, fdef, bindings: dict, tensor: str, depth: int = 0):
        if ":" not in tensor:  # a function argument
            return bindings.get(tensor)
        node = self._function_nodes[fdef.signature.name].get(tensor.split(":")[0])
        if node is None or depth > 50:
            return None
        if node.op in VARIABLE_OPS:
            shared = node.attr["shared_name"].s.decode() if "shared_name" in node.attr else ""
            return shared or f"{fdef.signature.name}/{node.name}"
        if node.op in _FORWARDING_OPS and node.input:
            return self._resolve_function(fdef, bindings, node.input[0], depth + 1)
        return None

    def _is_input(self, scope: str | None, tensor: str, depth: int = 0) -> bool:
        """`tensor` is a signature input or function argument passed along as is (what a weight setter writes)."""
        if scope is not None and ":" not in tensor:  # a function argument
            return True
        node = (self.nodes if scope is None else self._function_nodes[scope]).get(_node_name(tensor))
        if node is None or depth > 50:
            return False
        if node.op in _FORWARDING_OPS and node.input:
            return self._is_input(scope, node.input[0], depth + 1)
        return node.op == "Placeholder"

    # -- where a value comes from: a signature output followed into the function that computes it --

    def source(self, tensor: str, scope: str | None = None, depth: int = 0) -> tuple[str | None, str]:
        """(scope, tensor) computing `tensor`, through Identity and call ops' returns (scope None: the graph)."""
        nodes = self.nodes if scope is None else self._function_nodes.get(scope, {})
        node = nodes.get(_node_name(tensor))
        if node is None or depth > 50 or (scope is not None and ":" not in tensor):
            return scope, tensor
        inputs = [i for i in node.input if not i.startswith("^")]
        if node.op in ("Identity", "IdentityN") and inputs:
            index = int(tensor.rsplit(":", 1)[1]) if tensor.count(":") else 0
            return self.source(inputs[min(index, len(inputs) - 1)] if node.op == "IdentityN" else inputs[0], scope, depth + 1)
        if node.op in ("StatefulPartitionedCall", "PartitionedCall") and node.attr["f"].func.name in self.library:
            fdef = self.library[node.attr["f"].func.name]
            index = int(tensor.rsplit(":", 1)[1]) if tensor.count(":") else 0
            if index < len(fdef.signature.output_arg):
                return self.source(fdef.ret[fdef.signature.output_arg[index].name], fdef.signature.name, depth + 1)
        return scope, _node_name(tensor)

    def node(self, scope: str | None, tensor: str):
        """The node computing `tensor` in `scope` (None: the graph), or None."""
        return (self.nodes if scope is None else self._function_nodes.get(scope, {})).get(_node_name(tensor))

    def ancestors(self, scope: str | None, tensor: str) -> set[str]:
        """Nodes (in `scope`) whose values `tensor` is computed from, data edges only."""
        nodes = self.nodes if scope is None else self._function_nodes.get(scope, {})
        seen, stack = set(), [_node_name(tensor)]
        while stack:
            name = stack.pop()
            if name in seen or name not in nodes:
                continue
            seen.add(name)
            stack += [_node_name(i) for i in nodes[name].input if not i.startswith("^")]
        return seen

    # -- walking function bodies --

    def _node(self, reach: Reach, scope: str | None, node, resolve) -> None:
        where = scope or "graph"
        reach.ops.add(node.op)
        if node.op not in _PLUMBING_OPS:
            reach.body.add((where, node.name))
        data_inputs = [i for i in node.input if not i.startswith("^")]
        if is_update_op(node.op):
            reach.updates.add(node.op)
            updated = _updated_inputs(node)
            for index in updated:
                target = resolve(node.input[index]) if index < len(node.input) else None
                reach.targets.add(target if target is not None else f"{where}/{node.name}:{index}")
            values = [t for i, t in enumerate(data_inputs) if i not in updated]
            reach.computed |= node.op.startswith(UPDATE_PREFIXES) or not all(self._is_input(scope, t) for t in values)
        for _, fname, args in _called_functions(node, data_inputs, self.library):
            bindings = {}
            if args is not None and fname in self.library:
                arg_names = [a.name for a in self.library[fname].signature.input_arg]
                bindings = {a: resolve(t) for a, t in zip(arg_names, args)}
            self._function(reach, fname, bindings)

    def _function(self, reach: Reach, fname: str, bindings: dict) -> None:
        fdef = self.library.get(fname)
        if fdef is None:
            return
        key = (fname, tuple(sorted((k, v) for k, v in bindings.items() if v is not None)))
        reach.functions.add(fname)
        if key in self._visited:
            self._merge(reach, self._visited[key])
            return
        self._visited[key] = None  # guards against cycles (a function reaching itself)
        sub = Reach()
        sub.functions.add(fname)
        for node in fdef.node_def:
            self._node(sub, fname, node, lambda t, f=fdef: self._resolve_function(f, bindings, t))
        self._visited[key] = sub
        self._merge(reach, sub)

    @staticmethod
    def _merge(into: Reach, sub: Reach | None) -> None:
        if sub is None:
            return
        into.updates |= sub.updates
        into.targets |= sub.targets
        into.ops |= sub.ops
        into.body |= sub.body
        into.functions |= sub.functions
        into.computed |= sub.computed


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _called_functions(node, data_inputs: list[str], library: dict):
    """(attribute, function name, the data inputs bound to its arguments or None) for each function a node runs."""
    if node.op in library:  # a graph node whose op is a library function: a direct call
        yield "op", node.op, data_inputs
    for attr_name, value in sorted(node.attr.items()):
        names = [value.func.name] if value.HasField("func") else [f.name for f in value.list.func]
        for fname in names:
            if not fname:
                continue
            if node.op in ("StatefulPartitionedCall", "PartitionedCall", "TPUPartitionedCall") and attr_name == "f":
                args = data_inputs
            elif node.op in ("While", "StatelessWhile") and attr_name in ("cond", "body"):
                args = data_inputs
            elif node.op in ("If", "StatelessIf", "Case", "StatelessCase"):
                args = data_inputs[1:]  # the first input picks the branch
            else:
                args = None
            yield attr_name, fname, args


def _updated_inputs(node) -> list[int]:
    """Indices of the inputs an update op changes: its ref or resource arguments (the first if unknown)."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.python.framework import op_def_registry

    op_def = op_def_registry.get(node.op)
    if op_def is None:
        return [0]
    indices, position = [], 0
    for arg in op_def.input_arg:
        if arg.number_attr or arg.type_list_attr:  # a list: sizes from attributes, not worth resolving
            return indices or [0]
        if arg.is_ref or arg.type == types_pb2.DT_RESOURCE:
            indices.append(position)
        position += 1
    return indices or [0]


class _Chooser:
    """Classifies signatures and picks one per role, overrides first."""

    def __init__(self, pb, sigs, inputs, outputs, facts: dict[str, Reach], overrides: dict):
        self.pb, self.sigs, self.inputs, self.outputs, self.facts = pb, sigs, inputs, outputs, facts
        self.overrides = overrides
        self.kind = {name: self._kind(name) for name in sigs}
        self.aliases: set[str] = set()  # signatures that are a chosen one under another name
        self.setters: dict[str, str] = {}  # weight setters passed over for train -> the note saying so (unless paired)
        self.train_op_collections: list[str] = []

    @property
    def trains(self) -> bool:
        """This meta graph has a signature that trains (or the one --train names)."""
        return self.overrides.get("train") in self.sigs or "train" in self.kind.values()

    def _kind(self, name: str) -> str:
        inputs, reach = self.inputs[name], self.facts[name]
        if len(inputs) == 1 and inputs[0].is_scalar_string and (reach.saves or reach.restores):
            return "restore" if reach.restores else "save"
        if reach.targets:
            return "train"
        if not inputs:
            return "no-inputs"
        if reach.saves or reach.restores:
            return "checkpoint-io"
        return "predict"

    def describe(self, name: str) -> str:
        reach, kind = self.facts[name], self.kind[name]
        if kind == "train":
            return reach.update_summary()
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

    def _pick(self, role: str, candidates: list[str]) -> tuple[str | None, list[str]]:
        """The candidate for `role`, with its aliases; an error when candidates differ."""
        groups: dict = {}
        for name in candidates:
            key = (frozenset(self.facts[name].body), self.inputs[name], tuple(s.name for s in self.outputs[name]))
            groups.setdefault(key, []).append(name)
        if not groups:
            return None, []
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
        # An optimizer step computes what it writes; a weight setter writes its inputs as given: never the trainer.
        setters = [n for n in candidates if not self.facts[n].computed]
        if setters and len(setters) < len(candidates):
            candidates = [n for n in candidates if n not in setters]
            self.setters = {n: f"unused: signature {n!r} only writes its inputs into variables (a weight setter, not train)"
                            for n in setters}
            self.aliases.update(setters)  # noted as setters, not again as unused
        name, aliases = self._pick("train", candidates)
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
            [n for n in sorted(self.sigs) if n != train and self.kind[n] == "train" and not self.facts[n].computed]
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
        """Every output of `name` is a variable's value as read (ReadVariableOp; a TF1 variable itself)."""
        outputs = self.sigs[name].outputs.values()
        if not outputs or any(o.WhichOneof("encoding") != "name" for o in outputs):
            return False
        return all(getattr(self.graph.node(*self.graph.source(o.name)), "op", None) in {"ReadVariableOp", *VARIABLE_OPS}
                   for o in outputs)

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

    def other(self, role: str, notes: list[str]) -> str | None:
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
        if role == "predict":
            candidates = [n for n in candidates if all(s.dense for s in self.inputs[n])]
        name, aliases = self._pick(role, candidates)
        if name is None:
            why = {"predict": "no signature takes inputs without updating variables",
                   "save": "no signature takes one string path and writes a checkpoint",
                   "restore": "no signature takes one string path and restores a checkpoint"}[role]
            notes.append(f"{role}: none ({why})")
            return None
        notes.append(f"{role}: signature {name!r} ({self.describe(name)})" + _aliases(aliases))
        return name


def _compatible(a, b) -> bool:
    """Two declared shapes that one array can have (None: unknown rank or dimension)."""
    return a is None or b is None or (len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b)))


def _aliases(aliases: list[str]) -> str:
    return f"; {', '.join(map(repr, aliases))} is the same function" if aliases else ""
