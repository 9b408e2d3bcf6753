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

from ...errors import HarnessError
from ..spec import Spec

SIGNATURES = ("train", "predict", "save", "restore")
ROUTES = {
    "tf_keras": "Keras 2 (tf_keras) layers and optimizer inside a tf.Module",
    "keras3_archive": "Keras 3 model and optimizer exported with keras.export.ExportArchive",
    "keras3_module": "Keras 3 model and optimizer held by a plain tf.Module, tf.saved_model.save",
    "tfkeras_module": "the seed article's authoring: tf.keras model and optimizer in a tf.Module (Keras 2 up to "
                      "TF 2.15, Keras 3 from 2.16: the same code, the break users hit)",
    "raw_module": "plain tf.Variables and tf.functions, the optimizer's update written in TF ops",
    "tf1_graph": "a tf.compat.v1 graph and train op, saved with SavedModelBuilder",
}


def applicable(route: str, versions: dict[str, str | None]) -> str | None:
    """None when an exporter with these module versions (bundle.exporter_versions: tensorflow, keras,
    tf_keras as imported in its interpreter) can author `route`, else the reason it cannot ("not applicable")."""
    from packaging.version import InvalidVersion, Version

    if route not in ROUTES:
        raise HarnessError(f"route {route!r} is not one of {sorted(ROUTES)}")
    tf_version = versions.get("tensorflow")
    try:
        Version(tf_version or "")
    except InvalidVersion:
        raise HarnessError(f"{tf_version!r} is not a TensorFlow version (e.g. 2.15.1)") from None
    if route.startswith("keras3"):
        keras = versions.get("keras")
        if keras is None:
            return f"TF {tf_version}'s environment has no Keras (`import keras` fails)"
        if Version(keras).major < 3:
            return f"TF {tf_version} has no Keras 3: its keras is {keras}, Keras 2 (Keras 3 comes with TF 2.16 on)"
    if route == "tf_keras" and versions.get("tf_keras") is None:
        return f"TF {tf_version}'s environment has no tf-keras (`import tf_keras` fails): {_why_no_tf_keras(tf_version)}"
    return None


def _why_no_tf_keras(tf_version: str) -> str:
    """Why an environment of TF `tf_version` has no tf-keras: none exists for it (yet), or it was not installed."""
    from packaging.version import Version

    from ...runs import venvs

    version = Version(tf_version)
    if (version.major, version.minor) < (2, 14):
        return "the first tf-keras is 2.14"
    wanted = next(p for p in venvs.pins(tf_version) if p.startswith("tf-keras"))
    try:
        published = venvs.tf_keras_release(tf_version)
    except HarnessError as e:  # the index cannot be asked: say what is known
        return f"install {wanted} ({e})"
    if published is None:  # tf-keras follows TF's releases late, and its pre-releases rarely
        return f"the package index has no {wanted} yet"
    return f"install {wanted} (the index has {published})"


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
