"""tflite-X (harness/runtimes/tflite.py): the export converted and trained by TF X's TFLite, as on device.

TF 2.15.1's wheel has the Flex delegate training needs; TF_PYTHON's (2.21) has not: its failure is the
finding, listed in expectations/expected_failures.toml (cause tflite-no-flex).
"""

import json
import shutil

import pytest

from harness import runtimes
from harness.plan import checkpoints, compare
from harness.plan.interface import ZOO
from harness.plan.trajectory import Restore
from harness.runtimes.tflite import KERNELS_BAND
from harness.runs import expectations
from harness.runs.versions import LITERT, TF_PYTHON

from .conftest import CACHE
from .helpers import fingerprint
from .test_cli import harness

WITH_FLEX = "2.15.1"  # its virtualenv is built from uv's cache when missing (venvs.interpreter)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    runtime = runtimes.single(f"python-{TF_PYTHON}", CACHE, tmp_path_factory.mktemp("python-logs"))
    yield runtime
    runtime.stop()


@pytest.fixture(scope="module")
def tflite(tmp_path_factory):
    """version -> its started tflite runtime (one worker each for the module)."""
    started = {}

    def get(version):
        if version not in started:
            started[version] = runtimes.single(f"tflite-{version}", CACHE, tmp_path_factory.mktemp(f"tflite-{version}"))
            assert started[version].start()["tensorflow"] == version
        return started[version]
    yield get
    for runtime in started.values():
        runtime.stop()


def within_band(expected, actual, what):
    comparison = compare.compare(expected, actual, band=KERNELS_BAND)
    assert comparison.ok and comparison.compared, f"{what}: {comparison.summary()}"
    return comparison


def test_trains_predicts_saves_and_restores_by_signature_within_the_kernels_band(reference, tflite, bundles, tmp_path):
    export = bundles["tf_keras"]
    data, steps, more = export.data(), export.manifest["steps"], export.manifest["resume_steps"]
    untouched = fingerprint(export.root)
    first = reference.run(export.saved_model, data, range(steps), tmp_path / "first")
    restore = Restore((steps, steps + more), None, first.signature_checkpoint)
    ref = reference.run(export.saved_model, data, range(steps), tmp_path / "ref", ZOO, restore)
    got = tflite(WITH_FLEX).run(export.saved_model, data, range(steps), tmp_path / "tflite", ZOO, restore)

    assert fingerprint(export.root) == untouched  # converted from the export, never written into it
    assert got.failure is None, got.failure
    assert got.saver_checkpoint is None  # no saver in TFLite: the save signature's checkpoint is what it saves
    losses = within_band(compare.steps(ref.losses), compare.steps(got.losses), "train.loss")
    within_band(ref.predictions, got.predictions, "predict")
    within_band(*checkpoints.comparable(ref.signature_checkpoint, got.signature_checkpoint), "checkpoint.signature")
    part = got.restored["signature"]
    assert part.failure is None and part.first_step == steps and len(part.losses) == more, part.failure
    within_band(compare.steps(ref.restored["signature"].losses, steps), compare.steps(part.losses, steps), "restore.signature.loss")
    # TFLite's kernels are not TF's: a few float32 ulps apart, far inside the band (measured <= 3e-7 for losses).
    assert losses.max_scaled < KERNELS_BAND["float32"] / 10, losses.summary()


def test_no_flex_delegate_is_the_finding_naming_the_ops_of_each_signature(tflite, bundles, tmp_path):
    export = bundles["raw_module"]
    got = tflite(TF_PYTHON).run(export.saved_model, export.data(), range(2), tmp_path)
    assert got.failure is not None and got.failure.stage == "train", got.failure
    error = got.failure.error
    assert error.startswith(f"TF {TF_PYTHON}'s tf.lite interpreter has no Flex delegate "
                            "(https://github.com/google-ai-edge/LiteRT/issues/6458), signature train cannot run: it needs ")
    assert "FlexBroadcastGradientArgs" in error and "save needs FlexSaveV2" in error and "restore needs" in error
    # The listed expectation explains exactly this failure, and would not explain another train failure.
    listed = [e for e in expectations.load(f"tflite-{TF_PYTHON}").failures if e.matches(f"{export.name}.train.loss", TF_PYTHON)]
    assert any(e.explains(f"failed at train: {error}") for e in listed)
    assert not any(e.explains("failed at train: RuntimeError: tensor shape mismatch") for e in listed)


def test_an_export_that_does_not_convert_is_a_load_failure_in_one_line(tflite, bundles, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(bundles["tf_keras"].saved_model, broken)
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    got = tflite(WITH_FLEX).run(broken, bundles["tf_keras"].data(), range(2), tmp_path / "work")
    assert got.failure is not None and got.failure.stage == "load", got.failure
    assert "\n" not in got.failure.error and got.failure.error


@pytest.mark.java
def test_conformance_reports_tflite_columns_with_verdicts(tmp_path):
    """--runtime tflite-X of the registry: TFLite with Flex passes within its band (no saver: checkpoint.saver
    does not apply, Python resumes from the save signature's checkpoint); without Flex, the listed finding,
    from TF 2.21's tf.lite and from LiteRT (litert-X, a column of its own)."""
    out = tmp_path / "out"
    litert = f"litert-{LITERT[0]}"
    done = harness("conformance", "--spec", "mlp_regression", "--route", "raw_module", "--java", "1.1.0",
                   "--runtime", f"tflite-{WITH_FLEX}", "--runtime", f"tflite-{TF_PYTHON}", "--runtime", litert, "--out", out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = {(r["runtime"], r["check"]): r for r in json.loads((out / "conformance.json").read_text())["results"]}
    flex = f"tflite-{WITH_FLEX}"
    for check in ("train.loss", "predict", "checkpoint.signature", "resume.loss", "resume.variables",
                  "restore.signature.loss", "restore.signature.variables"):
        assert results[flex, check]["outcome"] == "PASS", results[flex, check]
    assert results[flex, "train.loss"]["comparison"]["band_name"] == "TFLite kernels band"
    for check in ("checkpoint.saver", "restore.saver.loss"):
        assert results[flex, check]["outcome"] == "N/A" and results[flex, check]["detail"].startswith("TFLite has no saver")
    no_flex = results[f"tflite-{TF_PYTHON}", "train.loss"]
    assert no_flex["outcome"] == "XFAIL" and "has no Flex delegate" in no_flex["detail"]
    no_flex = results[litert, "train.loss"]
    assert no_flex["outcome"] == "XFAIL" and no_flex["detail"].startswith(
        f"failed at train: LiteRT {LITERT[0]}'s interpreter has no Flex delegate"), no_flex
    assert results[litert, "predict"]["outcome"] == "BLOCKED"  # the plan stops at train, as tflite's does
    header = next(line for line in done.stdout.splitlines() if "tflite" in line)
    assert header.count("tflite") == 2  # a column each, titled by the registry
