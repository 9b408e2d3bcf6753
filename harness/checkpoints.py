"""Reading checkpoints (tensor bundles) into numpy, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import HarnessError

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"  # serialized object graph, not a variable


def read(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every variable stored under `prefix` (a checkpoint prefix such as .../variables/variables)."""
    import tensorflow as tf

    prefix = str(prefix)
    index = Path(prefix + ".index")
    if not index.exists():
        raise HarnessError(f"{index}: checkpoint index does not exist")
    try:
        reader = tf.train.load_checkpoint(prefix)
        keys = sorted(k for k in reader.get_variable_to_dtype_map() if k != OBJECT_GRAPH_KEY)
        return {key: np.asarray(reader.get_tensor(key)) for key in keys}
    except (tf.errors.OpError, ValueError, RuntimeError) as e:
        shards = sorted(p.name for p in index.parent.glob(Path(prefix).name + ".data-*"))
        raise HarnessError(f"{index.parent}/{shards or Path(prefix).name}: checkpoint cannot be read "
                           f"(truncated or corrupt?): {' '.join(str(e).split())[:300]}") from None
