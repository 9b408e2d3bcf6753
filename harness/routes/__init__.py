"""Authoring routes: the ways users write a training export, each turning a Spec into a SavedModel.

Every route exports the same four signatures:
  train(<features>, <labels>[, seed]) -> {"loss"}   one optimizer step
  predict(<features>) -> {<output>: ...}
  save(checkpoint_path) -> {"checkpoint_path"}       TF Lite on-device training convention:
  restore(checkpoint_path) -> {"checkpoint_path"}    every variable by name (SaveV2/RestoreV2)
besides the SavedModel's own saver_def (what TF Java's Session.save/restore use).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import HarnessError
from ..spec import Spec

SIGNATURES = ("train", "predict", "save", "restore")
ROUTES = {
    "tf_keras": "Keras 2 (tf_keras) layers and optimizer inside a tf.Module",
    "keras3_archive": "Keras 3 model and optimizer exported with keras.export.ExportArchive",
    "keras3_module": "Keras 3 model and optimizer held by a plain tf.Module, tf.saved_model.save",
    "raw_module": "plain tf.Variables and tf.functions, the optimizer's update written in TF ops",
    "tf1_graph": "a tf.compat.v1 graph and train op, saved with SavedModelBuilder",
}


def export(spec: Spec, route: str, out: Path, data: dict[str, np.ndarray]) -> list[str]:
    """Writes the SavedModel for `spec` by `route` into `out`; returns the save-signature variable names."""
    if route not in ROUTES:
        raise HarnessError(f"route {route!r} is not one of {sorted(ROUTES)}")
    if route == "raw_module":
        from . import raw

        return raw.export(spec, out)
    if route == "tf1_graph":
        from . import tf1

        return tf1.export(spec, out)
    from . import keras_models

    return keras_models.export(spec, route, out, data)
