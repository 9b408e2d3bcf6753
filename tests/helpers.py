"""Test helpers: rewriting a checkpoint the way a faulty runtime would, and fingerprinting a directory."""

import hashlib
from pathlib import Path

import tensorflow as tf

from harness import bundle, runner, spec, validate


def rewrite_checkpoint(prefix: str, change) -> None:
    """Applies change(values: dict[key, ndarray]) to every tensor stored under `prefix`, in place."""
    reader = tf.train.load_checkpoint(prefix)
    values = {key: reader.get_tensor(key) for key in reader.get_variable_to_dtype_map()}
    change(values)
    for old in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        old.unlink()
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values), shape_and_slices=[""] * len(values),
                      tensors=[tf.constant(v) for v in values.values()])


def fingerprint(directory: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below `directory`: to show nothing was written there."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def export_of(b: bundle.Bundle, s: spec.Spec) -> runner.Export:
    """What the runner needs of a bundle, validated as the CLI does."""
    data = b.data()
    return runner.Export(b.name, b.saved_model, data, s.steps, s.resume_steps,
                         validate.check_export(b.saved_model, data, b.data_path))
