"""tflite-X: the export converted by TF Python X's TFLite converter and trained by X's tf.lite interpreter
through its signature runners (tflite_session.py), what an on-device training app does; in a worker of
its own in X's virtualenv (python_worker.py serves it). TFLite's kernels are not TF's: its runs are held
to KERNELS_BAND, per dtype, and the report says where they are bit-exact."""

from __future__ import annotations

from ..plan.compare import Band
from .base import Capabilities
from .python import _Python

# Norm-wise relative bound per dtype (compare.py) of TFLite's kernels against TF's, on the same export.
# Measured on the CI subset written by TF 2.15.1 and 2.21.0, converted and trained by TF 2.15.1 (5+3
# steps; the largest over losses, predictions, the save signature's checkpoints, the restored parts and
# Python resumed from them): float32 2.0e-5 (mixed_float16's losses; the CNN's checkpoint 1.2e-5; most
# cases 1e-7 to 1e-6): the bound, 1e-4 (~1,700 float32 unit roundoffs), as TF's own cross-version band.
# float64 3.5e-14 (float64 tanh, whose kernel changed in TF 2.21; 9.3e-15 on 2.15.1's own exports): the
# bound 1e-13. float16 one float16 epsilon. Integers (iteration counters) none: a count is a behaviour.
KERNELS_BAND = Band("TFLite kernels band", {"float16": 9.8e-4, "bfloat16": 7.8e-3, "float32": 1e-4, "float64": 1e-13})


class TFLite(_Python):
    kind = "tflite"
    what = "TF X's TFLite converter (SELECT_TF_OPS, resource variables) and tf.lite interpreter: the signature runners, as on device"
    loader = "tflite"
    capabilities = Capabilities(saves_by_saver=False, restores_by_saver=False, benchmark_step=True, on_device=True)
    not_saving = "TFLite has no saver: checkpoints come from the save signature"
    not_restoring = "TFLite has no saver: it restores through the restore signature or weights by value"
    kernels_band = KERNELS_BAND

    @classmethod
    def worker_key(cls, version: str) -> tuple[str, str]:
        return (cls.kind, version)  # a worker of its own: a TFLite crash does not take the reference down
