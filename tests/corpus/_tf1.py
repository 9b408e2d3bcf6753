"""Shared plumbing for the TF1-graph fixtures: a fresh graph with its graph-level seed, and the
SavedModelBuilder write whose broken twin hands the builder a Saver that omits one variable."""

from __future__ import annotations

import shutil
from pathlib import Path

SEED = 7


def tf():
    import tensorflow as tf  # imported late: collecting cases needs no TensorFlow

    return tf


def graph():
    """A new graph with the graph-level seed set; use it with `with g.as_default():`."""
    g = tf().Graph()
    g.seed = SEED
    return g


def saver_without(omit: str, name: str = "save"):
    """The known-bad twin's Saver: every global variable but the one whose op name is `omit`."""
    t = tf()
    keep = [v for v in t.compat.v1.global_variables() if v.op.name != omit]
    if len(keep) == len(t.compat.v1.global_variables()):
        raise ValueError(f"no variable named {omit!r} to leave out")
    return t.compat.v1.train.Saver(var_list=keep, name=name)


def write(out: Path, sess, tags, signature_def_map=None, saver=None, **kwargs) -> None:
    """One meta graph with variables, written as a binary SavedModel into `out` (replaced if there)."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    builder = tf().compat.v1.saved_model.Builder(str(out))
    builder.add_meta_graph_and_variables(
        sess, list(tags), signature_def_map=signature_def_map or {}, saver=saver, **kwargs
    )
    builder.save(as_text=False)
