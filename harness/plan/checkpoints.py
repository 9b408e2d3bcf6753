"""Reading checkpoints (tensor bundles) into numpy, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import HarnessError

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"  # serialized object graph, not a variable


def read(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every variable stored under `prefix` (a checkpoint prefix such as .../variables/variables).

    V2 (`SaveV2`: prefix.index and data shards) or V1 (`Save`, as raw save signatures write: one
    file at the prefix itself).
    """
    import tensorflow as tf

    prefix = str(prefix)
    index = Path(prefix + ".index")
    if not index.exists() and not Path(prefix).is_file():
        raise HarnessError(f"{index}: no checkpoint there (neither a V2 index nor a V1 file {Path(prefix).name})")
    if not index.exists():
        index = Path(prefix)  # V1: the one file is its own index
    try:
        reader = tf.train.load_checkpoint(prefix)
        # Every stored tensor is read, the object graph too: a truncated shard fails here, not later.
        values = {key: np.asarray(reader.get_tensor(key)) for key in sorted(reader.get_variable_to_dtype_map())}
        values.pop(OBJECT_GRAPH_KEY, None)
        return values
    except (tf.errors.OpError, ValueError, RuntimeError, IndexError) as e:  # IndexError: "Read less bytes than requested"
        shards = sorted(p.name for p in index.parent.glob(Path(prefix).name + ".data-*"))
        raise HarnessError(f"{index.parent}/{shards or Path(prefix).name}: checkpoint cannot be read "
                           f"(truncated or corrupt?): {' '.join(str(e).split())[:300]}") from None


def variable_names(prefix: str | Path) -> dict[str, str]:
    """Checkpoint key -> the variable's own name (e.g. "m/dense/kernel"), from the stored object graph.

    Object-graph keys such as "optimizer/_variables/3/..." say little; reports show both. A
    name-based (TF1) checkpoint has no object graph: its keys are the names already.
    """
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    if not reader.has_tensor(OBJECT_GRAPH_KEY):
        return {}
    return variable_names_in({OBJECT_GRAPH_KEY: reader.get_tensor(OBJECT_GRAPH_KEY)})


def variable_names_in(values: dict) -> dict[str, str]:
    """variable_names() for tensors already read (with the object graph among them)."""
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    if OBJECT_GRAPH_KEY not in values:
        return {}
    graph = trackable_object_graph_pb2.TrackableObjectGraph.FromString(values[OBJECT_GRAPH_KEY])
    return {t.checkpoint_key: t.full_name.split(":")[0] for node in graph.nodes for t in node.attributes if t.full_name}


def comparable(expected_prefix: str | Path, actual_prefix: str | Path) -> tuple[dict, dict]:
    """Both checkpoints' variables, keyed alike.

    Keyed by checkpoint key; but when the two use different key layouts (a TF1 name-based
    checkpoint against an object-based one, after a TF2 re-export), by variable name instead.
    """
    expected, actual = read(expected_prefix), read(actual_prefix)
    if expected.keys() == actual.keys():
        return expected, actual
    renamed = [_by_name(values, variable_names(prefix)) for values, prefix in
               ((expected, expected_prefix), (actual, actual_prefix))]
    if all(r is not None for r in renamed) and renamed[0].keys() == renamed[1].keys():
        return renamed[0], renamed[1]
    return expected, actual


def _by_name(values: dict, names: dict) -> dict | None:
    """Re-keyed by variable name (a key without a name in the object graph keeps its own); None if names repeat."""
    out = {}
    for key, value in values.items():
        name = names.get(key, key)
        if name in out:
            return None
        out[name] = value
    return out


def in_layout_of(saved_model: str | Path, prefix: str | Path, out: str | Path) -> tuple[str | None, str]:
    """The checkpoint under `prefix`, keyed the way `saved_model`'s own saver reads it: (prefix, "") or (None, why not).

    The reference saves by re-exporting (object-based keys); a TF1 export's saver restores by
    variable name, so it gets the same values re-keyed by name, written to `out`.
    """
    import tensorflow as tf

    variables = Path(saved_model) / "variables" / "variables"
    if not Path(str(variables) + ".index").exists():  # no variables of its own: nothing to key alike
        return str(prefix), ""
    own = tf.train.load_checkpoint(str(variables)).get_variable_to_dtype_map()
    if OBJECT_GRAPH_KEY in own:
        return str(prefix), ""
    by_name = _by_name(read(prefix), variable_names(prefix)) or {}
    missing = sorted(set(own) - set(by_name))
    if missing:
        return None, (f"the export's saver restores by name and the harness's reference checkpoint "
                      f"(a re-export) lacks {', '.join(missing[:5])}: the harness cannot write one it reads")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    _write(out, {key: by_name[key] for key in own})
    return str(out), ""


def rewrite(prefix: str | Path, change) -> None:
    """Applies change(values) to every tensor under `prefix` (object graph included), in place.

    For planted faults only (tests, and `replay --plant-fault`): the harness never rewrites a
    checkpoint it did not write itself.
    """
    import tensorflow as tf

    prefix = str(prefix)
    reader = tf.train.load_checkpoint(prefix)
    values = {key: reader.get_tensor(key) for key in reader.get_variable_to_dtype_map()}
    change(values)
    for old in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        old.unlink()
    _write(prefix, values)


def _write(prefix: str | Path, values: dict) -> None:
    """A V2 checkpoint of `values` (key -> array) under `prefix`."""
    import tensorflow as tf

    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=list(values), shape_and_slices=[""] * len(values),
                      tensors=[tf.constant(v) for v in values.values()])
