"""What a meta graph computes, read from saved_model.pb (the export is never loaded here): per signature,
the ops it runs, the variables it reads, and for every variable it writes, where the written value comes
from (its origins: the signature's data inputs, scalar hyper-parameter inputs, the variable's own value,
other variables, constants, random draws). Roles (discover.py) follow from this evidence:

- an optimizer step writes a variable from data inputs *and* its own value (a gradient step; an Apply op);
- a setter writes inputs (as given, reshaped, sliced, split from one vector) and nothing of its own value;
- a copy writes other variables' values; a re-initializer writes random draws or constants.

Signature outputs get the same origins, so an output computed from data and trained variables (an
inference) is told apart from one that only reads variables (a weights getter).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


# Updates whose new value is computed from the variable's own value inside the op (v += x, an Apply step).
_SELF_UPDATES = frozenset({"AssignAddVariableOp", "AssignSubVariableOp", "AssignAdd", "AssignSub", "ResourceCountUpTo",
                           "CountUpTo"})
_SELF_PREFIXES = ("ResourceApply", "ResourceSparseApply", "Apply", "SparseApply", "ScatterAdd", "ScatterSub",
                  "ScatterMul", "ScatterDiv", "ScatterMin", "ScatterMax", "ScatterNdAdd", "ScatterNdSub",
                  "ResourceScatterAdd", "ResourceScatterSub", "ResourceScatterMul", "ResourceScatterDiv",
                  "ResourceScatterMin", "ResourceScatterMax", "ResourceScatterNdAdd", "ResourceScatterNdSub")
# Random draws whose state lives in the op (seeded once per session), in no variable and so in no checkpoint.
# Stateless draws (tf.random.Generator, Keras 3's SeedGenerator) take their state from a variable instead.
HIDDEN_STATE_RANDOM_OPS = frozenset({
    "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal", "ParameterizedTruncatedNormal",
    "Multinomial", "RandomShuffle", "RandomGamma", "RandomPoisson", "RandomPoissonV2", "RandomCrop",
    # the samplers of sampled losses (NCE, sampled softmax)
    "LogUniformCandidateSampler", "UniformCandidateSampler", "LearnedUnigramCandidateSampler",
    "FixedUnigramCandidateSampler", "AllCandidateSampler", "ThreadUnsafeUnigramCandidateSampler"})
_READ_OPS = frozenset({"ReadVariableOp", "ResourceGather", "ResourceGatherNd"})  # input 0: the variable
_CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})

# What a written value or an output is computed from: a frozenset of these.
DATA, HYPER, DEFAULT, VAR, RANDOM, CONST = "data", "hyper", "default", "var", "random", "const"
# How a variable is written (Reach.writes), from the origins of the value.
STEP, SET, COPY, REINIT, COUNT, OTHER = "step", "set", "copy", "re-initialize", "count", "other"


def is_update_op(op: str) -> bool:
    return op in UPDATE_OPS or op.startswith(UPDATE_PREFIXES)


def write_kind(origins: frozenset, own: bool) -> str:
    """How a write changes its variable, from what the value is computed from (`own`: the variable's own value
    is among them: read in the value, or by the op itself)."""
    kinds = {o[0] for o in origins}
    if DATA in kinds and own:
        return STEP  # data and the variable itself: a gradient step (the gradient of a loss of data and weights)
    if kinds & {DATA, HYPER, DEFAULT} and not own and VAR not in kinds:
        return SET  # the inputs, as given or reshaped, sliced, split
    if own and kinds <= {CONST}:
        return COUNT  # v += 1: an iteration counter
    if VAR in kinds and not kinds & {DATA, HYPER, DEFAULT} and not own:
        return COPY  # other variables' values (a target network, a swap)
    if not kinds & {DATA, HYPER, DEFAULT, VAR} and not own:
        return REINIT  # random draws or constants
    return OTHER  # e.g. a soft update: own value, other variables and a scalar rate



@dataclass
class Reach:
    """What running a signature's outputs runs: the ops, the variables they update."""

    updates: set = field(default_factory=set)  # update op types
    targets: set = field(default_factory=set)  # variables updated: shared names, or "<scope>/<node>" when unresolved
    ops: set = field(default_factory=set)  # every op type
    body: set = field(default_factory=set)  # (scope, node) of every node doing work: equal for aliases
    functions: set = field(default_factory=set)  # library functions reached
    graph_nodes: set = field(default_factory=set)
    writes: dict = field(default_factory=dict)  # variable -> set of write kinds (STEP, SET, COPY, ...)
    reads: set = field(default_factory=set)  # variables whose values are read
    random_ops: set = field(default_factory=set)  # HIDDEN_STATE_RANDOM_OPS it runs
    feeds_writes: set = field(default_factory=set)  # variables whose values go into another variable's write (slots)

    @property
    def trains(self) -> bool:
        """Some write is an optimizer step (see write_kind)."""
        return any(STEP in kinds for kinds in self.writes.values())

    @property
    def stepped(self) -> set:
        """The variables an optimizer step writes (weights and slots), or that a trainer's counter counts."""
        return {v for v, kinds in self.writes.items() if kinds & {STEP, COUNT}} if self.trains else set()

    def write_kinds(self) -> set:
        return set().union(*self.writes.values()) if self.writes else set()

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
        self._origins: dict = {}  # (scope, args) -> {tensor: origins}

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
            self._node(reach, None, node, self._resolve_graph, {})
        return reach

    # -- origins: what a value is computed from, data edges only, through function calls --

    def origins(self, tensor: str, scope: str | None = None, args: dict | None = None) -> frozenset:
        """What `tensor` (in `scope`, None: the graph; `args`: the origins of that function's arguments) is
        computed from: (DATA|HYPER|DEFAULT, input), (VAR, variable), (RANDOM, op), (CONST,)."""
        args = args or {}
        key = (scope, tuple(sorted(args.items())))
        memo = self._origins.setdefault(key, {})
        if scope is None:
            nodes, resolve = self.nodes, self._resolve_graph
        else:
            fdef = self.library[scope]
            nodes = self._function_nodes[scope]
            bindings = {a: next((o[1] for o in args.get(a, ()) if o[0] == VAR), None) for a in args}
            resolve = lambda t, f=fdef, b=bindings: self._resolve_function(f, b, t)  # noqa: E731
        stack = [tensor]
        while stack:  # iterative post-order: graphs are deeper than Python's recursion limit
            current = stack[-1]
            if current in memo:
                stack.pop()
                continue
            if scope is not None and ":" not in current:  # a function argument
                memo[current] = args.get(current, frozenset())
                stack.pop()
                continue
            node = nodes.get(_node_name(current))
            if node is None:
                memo[current] = frozenset()
                stack.pop()
                continue
            inputs = [i if scope is not None or ":" in i else i + ":0" for i in node.input if not i.startswith("^")]
            pending = [i for i in inputs if i not in memo and _node_name(i) != node.name]
            if node.op in VARIABLE_OPS or node.op == "Const" or node.op == "Placeholder":
                pending = []
            if pending:
                stack += pending
                continue
            stack.pop()
            memo[current] = self._node_origins(node, current, inputs, memo, resolve, scope)
        return memo[tensor]

    def _node_origins(self, node, tensor: str, inputs: list, memo: dict, resolve, scope) -> frozenset:
        op = node.op
        if op == "Placeholder":
            shape = node.attr["shape"].shape if "shape" in node.attr else None
            scalar = shape is not None and not shape.unknown_rank and len(shape.dim) == 0
            return frozenset({(HYPER if scalar else DATA, node.name)})
        if op == "PlaceholderWithDefault":
            return frozenset({(DEFAULT, node.name)})
        if op in VARIABLE_OPS:
            return frozenset({(VAR, resolve(node.name + ":0") or node.name)})
        if op == "Const":
            return frozenset({(CONST,)})
        union = frozenset().union(*(memo.get(i, frozenset()) for i in inputs)) if inputs else frozenset()
        if op in _READ_OPS and inputs:
            return union - memo.get(inputs[0], frozenset()) | {(VAR, resolve(inputs[0]) or f"{scope}/{inputs[0]}")}
        if op in HIDDEN_STATE_RANDOM_OPS:
            return union | {(RANDOM, op)}
        if op in _CALL_OPS and node.attr["f"].func.name in self.library:
            fdef = self.library[node.attr["f"].func.name]
            index = int(tensor.rsplit(":", 1)[1]) if ":" in tensor else 0
            if index < len(fdef.signature.output_arg):
                names = [a.name for a in fdef.signature.input_arg]
                callee_args = {a: memo.get(t, frozenset()) for a, t in zip(names, inputs)}
                return self.origins(fdef.ret[fdef.signature.output_arg[index].name], fdef.signature.name, callee_args)
        return union

    def variable_dtype_shape(self, variable: str):
        """(dtype enum, shape list) of the graph's variable node with this shared name (or node name), else None."""
        for node in self.nodes.values():
            if node.op in VARIABLE_OPS and variable in (node.attr["shared_name"].s.decode(), node.name):
                dtype = node.attr["dtype"].type
                return dtype, [d.size for d in node.attr["shape"].shape.dim]
        return None

    # -- how an input is used: integer ids whose range the graph fixes, defaults --

    def default_of(self, tensor: str):
        """The default value of a graph input that is a PlaceholderWithDefault (a constant), else None."""
        node = self.nodes.get(_node_name(tensor))
        if node is None or node.op != "PlaceholderWithDefault" or not node.input:
            return None
        return _const_value(self.nodes.get(_node_name(node.input[0])))

    def id_range(self, tensor: str) -> tuple[int, str] | None:
        """(N, why) when the graph input `tensor` is used as a class id or an index into N rows: the labels of a
        sparse cross-entropy (N: its logits' last dimension), the indices of a one_hot (its depth) or a gather
        (the rows of what it gathers from). Followed through casts and reshapes and into called functions."""
        stack, seen = [(None, _node_name(tensor))], set()
        while stack:
            scope, name = stack.pop()
            if (scope, name) in seen:
                continue
            seen.add((scope, name))
            nodes = self.nodes if scope is None else self._function_nodes[scope]
            for node in nodes.values():
                inputs = [i for i in node.input if not i.startswith("^")]
                for index, i in enumerate(inputs):
                    if _node_name(i) != name:
                        continue
                    found = self._id_use(scope, node, index, inputs)
                    if found:
                        return found
                    if node.op in _PASS_THROUGH and index == 0:
                        stack.append((scope, node.name))
                    for _, fname, args in _called_functions(node, inputs, self.library):
                        if args is not None and fname in self.library and index < len(args):
                            stack.append((fname, self.library[fname].signature.input_arg[index].name))
        return None

    def _id_use(self, scope, node, index: int, inputs: list) -> tuple[int, str] | None:
        nodes = self.nodes if scope is None else self._function_nodes[scope]
        if node.op == "SparseSoftmaxCrossEntropyWithLogits" and index == 1:
            shape = _shape_of(node, 1) or self._static_shape(scope, inputs[0])
            if shape and shape[-1] > 0:
                return shape[-1], f"the class ids of a sparse cross-entropy over {shape[-1]} logits"
        if node.op == "OneHot" and index == 0 and len(inputs) > 1:
            depth = _const_value(nodes.get(_node_name(inputs[1])))
            if depth is not None and int(depth) > 0:
                return int(depth), f"the indices of a one_hot of depth {int(depth)}"
        if node.op in ("GatherV2", "Gather", "ResourceGather") and index == 1:
            shape = self._static_shape(scope, inputs[0])
            if shape and shape[0] > 0:
                return shape[0], f"the indices of a gather from {shape[0]} rows"
        return None

    def _static_shape(self, scope, tensor: str, depth: int = 0):
        """A tensor's static shape where the graph states it: inferred shapes, or the variable it reads."""
        nodes = self.nodes if scope is None else self._function_nodes[scope]
        node = nodes.get(_node_name(tensor))
        if node is None or depth > 20:
            return None
        if node.op in VARIABLE_OPS and "shape" in node.attr:
            return [d.size for d in node.attr["shape"].shape.dim]
        index = int(tensor.rsplit(":", 1)[1]) if tensor.count(":") == (1 if scope is None else 2) else 0
        shape = _shape_of(node, index)
        if shape is not None and all(d >= 0 for d in shape[-1:]):
            return shape
        data = [i for i in node.input if not i.startswith("^")]
        if node.op in ("ReadVariableOp", "Identity", "BiasAdd", "Relu", "Softmax", "Add", "AddV2") and data:
            if node.op in ("BiasAdd", "Add", "AddV2") and len(data) > 1:  # the bias says the last dimension
                bias = self._static_shape(scope, data[1], depth + 1)
                if bias:
                    return bias
            return self._static_shape(scope, data[0], depth + 1)
        if node.op == "MatMul" and len(data) > 1:
            b = self._static_shape(scope, data[1], depth + 1)
            if b and len(b) == 2:
                return [-1, b[0] if node.attr["transpose_b"].b else b[1]]
        return None

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

    def _node(self, reach: Reach, scope: str | None, node, resolve, args: dict) -> None:
        where = scope or "graph"
        reach.ops.add(node.op)
        if node.op not in _PLUMBING_OPS:
            reach.body.add((where, node.name))
        if node.op in HIDDEN_STATE_RANDOM_OPS:
            reach.random_ops.add(node.op)
        data_inputs = [i for i in node.input if not i.startswith("^")]
        if node.op in _READ_OPS and data_inputs:
            reach.reads.add(resolve(data_inputs[0]) or f"{where}/{data_inputs[0]}")
        elif node.op in VARIABLE_OPS and scope is None and node.op != "VarHandleOp":
            reach.reads.add(resolve(node.name))  # a TF1 reference variable is read as itself
        if is_update_op(node.op):
            reach.updates.add(node.op)
            updated = _updated_inputs(node)
            values = [t for i, t in enumerate(data_inputs) if i not in updated]
            origins = frozenset().union(*(self.origins(self._tensor(t, scope), scope, args) for t in values)) \
                if values else frozenset()
            implicit = node.op in _SELF_UPDATES or node.op.startswith(_SELF_PREFIXES)
            targets = []
            for index in updated:
                target = resolve(node.input[index]) if index < len(node.input) else None
                target = target if target is not None else f"{where}/{node.name}:{index}"
                targets.append(target)
                reach.targets.add(target)
                kind = write_kind(origins, implicit or (VAR, target) in origins)
                reach.writes.setdefault(target, set()).add(kind)
                reach.feeds_writes |= {o[1] for o in origins if o[0] == VAR and o[1] != target}
            # A fused optimizer step (ApplyAdagrad(var, accum, ...), ApplyAdam(var, m, v, ...)) updates its slots
            # in the op that reads them into the variable's update: they feed that write as a separate assign would.
            reach.feeds_writes |= set(targets[1:])
        for _, fname, call_args in _called_functions(node, data_inputs, self.library):
            bindings, arg_origins = {}, {}
            if call_args is not None and fname in self.library:
                arg_names = [a.name for a in self.library[fname].signature.input_arg]
                bindings = {a: resolve(t) for a, t in zip(arg_names, call_args)}
                arg_origins = {a: self.origins(self._tensor(t, scope), scope, args) for a, t in zip(arg_names, call_args)}
            self._function(reach, fname, bindings, arg_origins)

    @staticmethod
    def _tensor(name: str, scope: str | None) -> str:
        """A graph input written "node" means "node:0"; in a function, a bare name is an argument."""
        return name if scope is not None or ":" in name else name + ":0"

    def _function(self, reach: Reach, fname: str, bindings: dict, args: dict) -> None:
        fdef = self.library.get(fname)
        if fdef is None:
            return
        key = (fname, tuple(sorted((k, v) for k, v in bindings.items() if v is not None)), tuple(sorted(args.items())))
        reach.functions.add(fname)
        if key in self._visited:
            self._merge(reach, self._visited[key])
            return
        self._visited[key] = None  # guards against cycles (a function reaching itself)
        sub = Reach()
        sub.functions.add(fname)
        for node in fdef.node_def:
            self._node(sub, fname, node, lambda t, f=fdef: self._resolve_function(f, bindings, t), args)
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
        for variable, kinds in sub.writes.items():
            into.writes.setdefault(variable, set()).update(kinds)
        into.reads |= sub.reads
        into.random_ops |= sub.random_ops
        into.feeds_writes |= sub.feeds_writes


# Ops an integer id passes through unchanged in meaning (a class id cast to int64 is still that class id).
_PASS_THROUGH = frozenset({"Identity", "Cast", "Reshape", "Squeeze", "ExpandDims", "StopGradient", "IdentityN"})


def _shape_of(node, index: int = 0):
    """A node's inferred output shape (`_output_shapes`, which saved functions carry), as a list (-1: unknown)."""
    if "_output_shapes" not in node.attr or index >= len(node.attr["_output_shapes"].list.shape):
        return None
    shape = node.attr["_output_shapes"].list.shape[index]
    return None if shape.unknown_rank else [d.size for d in shape.dim]


def _const_value(node):
    from tensorflow.python.framework import tensor_util

    return tensor_util.MakeNdarray(node.attr["value"].tensor) if node is not None and node.op == "Const" else None


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


