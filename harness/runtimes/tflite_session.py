"""A SavedModel converted to TFLite and driven through the interpreter's signature runners, as on device.

Run inside a worker of TF Python X's virtualenv (python_worker.py, loader "tflite"; "litert": LiteRT's
interpreter instead of tf.lite's on the same conversion, litert.py): X's converter
(`supported_ops` TFLITE_BUILTINS + SELECT_TF_OPS, resource variables on, what TFLite's on-device
training guide does) turns every signature of the export into a signature of one model; X's
`tf.lite.Interpreter` runs them, its variables shared by the signatures. Gradients, SaveV2 and
RestoreV2 are TF ops (Flex): without the Flex delegate in X's wheel (TF 2.20 on), the first call that
needs one fails, and that failure names the Flex ops of each signature.

TFLite has no saver: save_variables returns None (the kind says so: Capabilities.saves_by_saver);
checkpoints come from the export's save(checkpoint_path) signature, or weights by value.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..plan.trajectory import RuntimeFailure

FLEX_ISSUE = "https://github.com/google-ai-edge/LiteRT/issues/6458"
FLEX_MISSING = "not supported by this interpreter"  # TFLite's error when a Flex op meets no Flex delegate
UNCONVERTIBLE = re.compile(r"'tf\.(\w+)' op is neither a custom op nor a flex op")  # the converter's words
FUNCTION = re.compile(r"@__inference_(\w+?)_\d+\b")  # the function an op is in, as its MLIR location names it

_converted: dict[tuple, bytes] = {}  # one conversion per export and tag set per worker: restore parts reopen it


def convert(saved_model: Path, tags=("serve",)) -> bytes:
    """The TFLite model of every signature of `saved_model` (a conversion error is TensorFlow's, raised)."""
    key = (str(Path(saved_model).resolve()), tuple(sorted(tags)))
    if key not in _converted:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), tags=set(tags))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
        converter.experimental_enable_resource_variables = True
        try:
            _converted[key] = converter.convert()
        except Exception as e:  # the converter's error is pages of MLIR locations: say which ops, where
            ops = sorted(set(UNCONVERTIBLE.findall(str(e))))
            if not ops:
                raise
            where = sorted({f for f in FUNCTION.findall(str(e)) if not f.startswith("signature_wrapper_")})
            raise RuntimeFailure(f"TF {tf.__version__}'s TFLite converter cannot convert the export: "
                                 f"{', '.join('tf.' + op for op in ops)} neither a TFLite builtin nor a Flex op"
                                 + (f" (in {', '.join(where)})" if where else "")) from None
    return _converted[key]


def flex_ops(model: bytes) -> dict[str, list[str]]:
    """signature -> the Flex (TF) ops its subgraph calls, read from the model's flatbuffer."""
    from tensorflow.lite.python import schema_py_generated as schema

    root = schema.Model.GetRootAsModel(model, 0)
    codes = [root.OperatorCodes(i).CustomCode() or b"" for i in range(root.OperatorCodesLength())]
    out = {}
    for s in range(root.SignatureDefsLength()):
        signature = root.SignatureDefs(s)
        graph = root.Subgraphs(signature.SubgraphIndex())
        used = {codes[graph.Operators(k).OpcodeIndex()].decode() for k in range(graph.OperatorsLength())}
        out[signature.SignatureKey().decode()] = sorted(op for op in used if op.startswith("Flex"))
    return out


def tf_lite_interpreter(model: bytes, threads: int):
    """(TF's tf.lite interpreter on `model`, what to call it in a failure)."""
    with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated" (TF 2.18 on): it is what we test
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(model_content=model, num_threads=threads), f"TF {tf.__version__}'s tf.lite interpreter"


def litert_interpreter(model: bytes, threads: int):
    """(LiteRT's interpreter (ai-edge-litert, the package TF 2.20+ points tf.lite users to) on `model`, its name)."""
    import ai_edge_litert
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=model, num_threads=threads), f"LiteRT {ai_edge_litert.__version__}'s interpreter"


class TFLiteSession:
    """One interpreter on the converted export: a fresh one starts from the exported variables.
    `interpreter`: which interpreter runs the model (tf_lite_interpreter, litert_interpreter)."""

    def __init__(self, saved_model: Path, threads: int, tags=("serve",), interpreter=tf_lite_interpreter):
        self.model = convert(saved_model, tags)
        self.interpreter, self.interpreter_name = interpreter(self.model, threads)
        self.runners: dict = {}

    def call(self, signature: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            if signature not in self.runners:
                self.runners[signature] = self.interpreter.get_signature_runner(signature)
            return self.runners[signature](**feeds)
        except RuntimeError as e:
            if FLEX_MISSING not in str(e):
                raise
            ops = flex_ops(self.model)
            others = "; ".join(f"{name} needs {', '.join(used)}" for name, used in ops.items() if used and name != signature)
            raise RuntimeFailure(f"{self.interpreter_name} has no Flex delegate ({FLEX_ISSUE}), "
                                 f"signature {signature} cannot run: it needs {', '.join(ops.get(signature, [])) or '(none)'}"
                                 + (f" (and {others})" if others else "")) from None

    def save_variables(self, directory: Path) -> None:
        return None  # no saver in TFLite: the save signature writes its checkpoints

    def restore_variables(self, prefix: str) -> None:
        raise RuntimeFailure("TFLite has no saver: restore through the export's restore signature")

    def close(self) -> None:
        self.runners.clear()
        self.interpreter = None
