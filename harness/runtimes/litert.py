"""litert-X: the export converted by TF_PYTHON's TFLite converter, as for tflite-X (tflite_session.convert),
and trained by LiteRT X's interpreter (`ai_edge_litert.interpreter.Interpreter`, the ai-edge-litert package
X on PyPI: an interpreter, no converter) through its signature runners, what an on-device training app that
followed TF 2.20+'s deprecation of tf.lite.Interpreter does.

Decided, measured (2026-12-07, CPython 3.11, linux x86_64):
- Where it runs: a worker of its own (python_worker.py, loader "litert") in a virtualenv of TF_PYTHON's pins
  beside `ai-edge-litert==X` (venvs.interpreter(..., beside=...): uv, cached, stamped, one per (TF, X)).
  TF 2.21.0 and ai-edge-litert 2.3.0 resolve together (ai-edge-litert asks numpy>=1.23.2, any protobuf,
  flatbuffers, ml_dtypes: numpy 2.4.6 and protobuf 7.36.2, what the harness has) and import in either
  order in one process. Still a virtualenv, never a dependency of the harness: every X is its own runtime,
  and the harness's environment stays what pyproject.toml says.
- Which TF converts: TF_PYTHON (`tensorflow(X)` answers it): LiteRT ships no converter and TF 2.20+ users
  convert with their own TF. Its kernels are TFLite's: held to tflite.KERNELS_BAND.
- What it trains: only exports whose train signature converts to TFLite builtins. LiteRT X has no Flex
  delegate: a signature that needs Flex fails at its first call with "Select TensorFlow op(s) ... not
  supported by this interpreter", reported as tflite-X's is (the Flex ops of each signature, cause
  tflite-no-flex). Every export of specs/ needs Flex to train (FlexBroadcastGradientArgs and FlexReluGrad at
  least: open batch dimensions, ReLU; SaveV2/RestoreV2 in save/restore; float64 and mixed_float16 in predict
  too), so in a conformance run litert-X trains none of them: its train and restore-by-signature checks are
  the listed expected failure. A fixed-shape train step of matmuls, sigmoid and tanh with a hand-written
  optimizer converts to builtins (TF lowers SigmoidGrad and TanhGrad; tests/foreign_exports.gru_autoencoder)
  and trains. Against the Python reference (tests/test_litert.py), float32 only (float64 and float16 compute
  are Flex in TFLite, so LiteRT trains neither): losses 1.5e-7 norm-wise (2 ulp), predictions 1.7e-7, the
  weights after 5 steps 5.5e-7, the weights-restored part's losses 1.7e-7: inside KERNELS_BAND's float32
  1e-4 with 180x to spare; certify's largest on that export 6.0e-7 (tflite-2.21.0 trains it too, 4.4e-7:
  both lack only the Flex delegate).
"""

from __future__ import annotations

from ..errors import HarnessError
from .python import _Python
from .tflite import KERNELS_BAND, TFLite
from .workers import WorkerStart

PACKAGE = "ai-edge-litert"  # on PyPI; imported as ai_edge_litert


class LiteRT(_Python):
    kind = "litert"
    what = ("LiteRT X's interpreter (ai-edge-litert X: no Flex delegate) and its signature runners, on TF_PYTHON's "
            "TFLite conversion (as tflite-X's), as on device")
    loader = "litert"
    versioned_by_tensorflow = False  # X is LiteRT's version
    capabilities = TFLite.capabilities
    not_saving, not_restoring = TFLite.not_saving, TFLite.not_restoring
    kernels_band = KERNELS_BAND

    @classmethod
    def own_versions(cls) -> tuple[str, ...]:
        from ..runs.versions import LITERT

        return LITERT

    @classmethod
    def tensorflow(cls, version: str) -> str:
        """The TF whose converter converts the export for LiteRT `version`: TF_PYTHON's, for every version."""
        from ..runs.versions import TF_PYTHON

        return TF_PYTHON

    @classmethod
    def worker_key(cls, version: str) -> tuple[str, str]:
        return (cls.kind, version)

    def worker_start(self) -> WorkerStart:
        from ..runs import venvs
        from ..runs.versions import TF_PYTHON

        beside = (f"{PACKAGE}=={self.version}",)
        # Asked of the index only until its virtualenv is built: a start needs no network after that.
        built = venvs.stamp(TF_PYTHON, self.setting.cache_dir, beside) is not None
        served = [] if built else venvs.installable(self.setting.cache_dir, PACKAGE)
        if not built and self.version not in served:
            raise HarnessError(f"{PACKAGE} {self.version!r} has no wheel for this Python and platform on the index; "
                               f"versions installable here, newest first: {', '.join(served) or 'none'}")
        python = venvs.interpreter(TF_PYTHON, self.setting.cache_dir, beside=beside)
        return WorkerStart([str(python), "-m", self.worker_module],
                           {"op": "start", "threads": self.setting.threads, "modules": ["ai_edge_litert"]},
                           f"LiteRT {self.version} (TensorFlow {TF_PYTHON} converts)")
