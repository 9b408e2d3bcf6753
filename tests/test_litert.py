"""litert-X (harness/runtimes/litert.py): TF_PYTHON's TFLite conversion trained by LiteRT X's interpreter.

LiteRT has no Flex delegate: it trains an export whose every signature is TFLite builtins (a GRU
autoencoder with a hand-written Adam, the weights by value: foreign_exports.gru_autoencoder) within
TFLite's kernels band, and refuses one that needs Flex (every export of specs/) with the named finding,
listed in expectations/expected_failures.toml (cause tflite-no-flex). Its virtualenv (TF_PYTHON beside
ai-edge-litert X) is built by venvs.interpreter from uv's cache when missing.
"""

import numpy as np
import pytest

from harness import runtimes
from harness.errors import HarnessError
from harness.plan import compare
from harness.plan.trajectory import WEIGHTS_KEY, Restore, RuntimeFailure
from harness.runtimes import registry
from harness.runtimes.litert import PACKAGE
from harness.runtimes.tflite import KERNELS_BAND
from harness.runs import expectations, venvs
from harness.runs.versions import LITERT, TF_PYTHON, TFLITE_ON_DEVICE
from harness.testing import bench

from . import foreign_exports
from .conftest import CACHE

NAME = f"litert-{LITERT[0]}"


@pytest.fixture(scope="module")
def litert(tmp_path_factory):
    runtime = runtimes.single(NAME, CACHE, tmp_path_factory.mktemp("litert-logs"))
    yield runtime
    runtime.stop()


def test_the_kind_is_registered_with_its_own_version_and_tf_python_converting():
    assert registry.parse(NAME) == ("litert", LITERT[0]) and registry.tensorflow_of(NAME) == TF_PYTHON
    assert registry.kind_of(NAME).kernels_band is KERNELS_BAND
    # certify's on-device section by default: TFLite of each TFLITE_ON_DEVICE version, then LiteRT; --all-kinds too
    assert registry.on_device() == [f"tflite-{v}" for v in TFLITE_ON_DEVICE] + [NAME]
    assert registry.on_device(["2.15.1", NAME]) == ["tflite-2.15.1", NAME] and registry.on_device([]) == []
    assert NAME in registry.every_kind([TF_PYTHON])
    with pytest.raises(HarnessError, match="--on-device 'java-1.1.0': not a TF version nor an on-device runtime"):
        registry.on_device(["java-1.1.0"])


def test_a_litert_version_the_index_does_not_serve_is_one_line_listing_those_that_exist(tmp_path):
    runtime = runtimes.single("litert-0.0.1", CACHE, tmp_path)
    with pytest.raises(HarnessError) as error:
        runtime.start()
    assert f"{PACKAGE} '0.0.1' has no wheel" in str(error.value) and LITERT[0] in str(error.value)
    assert "\n" not in str(error.value)


def test_trains_a_builtin_only_export_within_the_kernels_band(python, litert, tmp_path):
    export, expected = foreign_exports.build("gru_autoencoder", tmp_path / "exports")
    facts = litert.start()
    assert facts["ai_edge_litert"] == LITERT[0] and facts["tensorflow"] == TF_PYTHON
    assert venvs.stamp(TF_PYTHON, CACHE, (f"{PACKAGE}=={LITERT[0]}",))["pins"][-1] == f"{PACKAGE}=={LITERT[0]}"
    g = foreign_exports.GRU
    rng = np.random.default_rng(0)
    steps, more = 5, 3
    batch = rng.standard_normal((g["batch"], g["time"], g["features"])).astype("float32")
    data = {"train.x": np.stack([batch] * (steps + more)),  # one batch every step: its loss must fall
            "predict.x": rng.standard_normal(batch.shape).astype("float32")}
    interface = expected.interface
    first = python.run(export, data, range(steps), tmp_path / "first", interface)
    weights = tmp_path / "weights.npz"
    np.savez(weights, **{WEIGHTS_KEY + k: v for k, v in first.weights.items()})
    restore = Restore((steps, steps + more), weights=str(weights))
    ref = python.run(export, data, range(steps), tmp_path / "ref", interface, restore)
    got = litert.run(export, data, range(steps), tmp_path / "litert", interface, restore)

    assert got.failure is None, got.failure
    losses = [float(loss) for loss in got.losses]
    assert losses[-1] < losses[0] * 0.95, losses  # it trains: the loss of the one batch falls
    measured = {
        "train.loss": compare.compare(compare.steps(ref.losses), compare.steps(got.losses), band=KERNELS_BAND),
        "predict": compare.compare(ref.predictions, got.predictions, band=KERNELS_BAND),
        "checkpoint.weights": compare.compare(ref.weights, got.weights, band=KERNELS_BAND),
        "restore.weights.loss": compare.compare(compare.steps(ref.restored["weights"].losses, steps),
                                                compare.steps(got.restored["weights"].losses, steps), band=KERNELS_BAND),
    }
    for check, comparison in measured.items():
        assert comparison.ok and comparison.compared, f"{check}: {comparison.summary()}"
    # TFLite's kernels (XNNPACK's float32 matmuls) are not TF's: float32 ulps apart, far inside the band
    # (measured 2026-12-07: losses 1.5e-7 (2 ulp), predictions 1.7e-7, weights 5.5e-7 norm-wise).
    assert max(c.max_scaled for c in measured.values()) < KERNELS_BAND["float32"] / 10, \
        {k: c.summary() for k, c in measured.items()}
    print({k: (c.verdict, c.max_ulp, c.max_scaled) for k, c in measured.items()})  # the figures, with -s
    step = litert.bench_step(export, data, 4)  # bench.py's row: LiteRT times the step it trains
    assert step["calls"] == 4 and 0 < step["min_us"] <= step["median_us"], step


def test_a_bench_model_it_cannot_train_is_its_row_saying_why(litert, bundles):
    export = bundles["tf_keras"]  # bench.MODELS' MLP: its gradients need Flex
    with pytest.raises(RuntimeFailure, match=f"{NAME}: LiteRT .* has no Flex delegate .* FlexReluGrad"):
        litert.bench_step(export.saved_model, export.data(), 2)
    rows = bench.table({"train_step": {"mlp": {NAME: {"cannot_train": "no Flex"}}, "cnn": {}}, "other_kinds": [NAME]})
    assert f"  {NAME:40s}{'n/a':>10}{'-':>10}" in rows and "    n/a, mlp: no Flex" in rows


def test_an_export_that_needs_flex_is_the_named_finding(litert, bundles, tmp_path):
    export = bundles["raw_module"]
    got = litert.run(export.saved_model, export.data(), range(2), tmp_path)
    assert got.failure is not None and got.failure.stage == "train", got.failure
    error = got.failure.error
    assert error.startswith(f"LiteRT {LITERT[0]}'s interpreter has no Flex delegate "
                            "(https://github.com/google-ai-edge/LiteRT/issues/6458), signature train cannot run: it needs ")
    assert "FlexBroadcastGradientArgs" in error and "save needs FlexSaveV2" in error and "restore needs" in error
    # The listed expectation explains exactly this failure, and would not explain another train failure.
    listed = [e for e in expectations.load(NAME).failures if e.matches(f"{export.name}.train.loss", TF_PYTHON)]
    assert any(e.explains(f"failed at train: {error}") for e in listed)
    assert not any(e.explains("failed at train: RuntimeError: tensor shape mismatch") for e in listed)
    assert expectations.explain(error, expectations.load_causes()).id == "tflite-no-flex"
