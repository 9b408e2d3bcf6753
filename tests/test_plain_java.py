"""The plain-Java CLI (java/src, harness/runtimes/plain_java.py) trains an export exactly as the JPype worker does."""

import os
import re
import shlex
import subprocess

import numpy as np
import pytest

from harness.exports import bundle, spec
from harness.plan import checkpoints, compare
from harness.runtimes import maven, plain_java
from harness.errors import HarnessError
from harness.plan.interface import ZOO
from harness.runs.versions import TF_JAVA

from .conftest import CACHE
from .helpers import fingerprint

pytestmark = pytest.mark.java


@pytest.fixture(scope="session")
def tf1_bundle():
    return bundle.build(spec.find("tf1_graph"), "tf1_graph", CACHE / "exports")


@pytest.fixture(scope="session")
def classpath():
    return [*maven.classpath(TF_JAVA, CACHE), str(plain_java.jar(TF_JAVA, CACHE))]


def assert_same_as_jpype(java, export: bundle.Bundle, tmp_path, bench: int = 0) -> plain_java.PlainJavaRun:
    data, steps = export.data(), range(0, export.manifest["steps"])
    untouched = fingerprint(export.root)
    reference = java.run(export.saved_model, data, steps, tmp_path / "jpype")
    assert reference.failure is None, reference.failure
    plain = plain_java.run(export.saved_model, data, ZOO, steps, tmp_path / "plain", TF_JAVA, CACHE, bench=bench)

    assert fingerprint(export.root) == untouched  # inputs and outputs go to the workdir, never the export
    assert len(plain.losses) == len(steps) and plain.predictions
    assert plain.tensorflow == java.start()["tensorflow"]
    losses = compare.compare(compare.steps(reference.losses), compare.steps(plain.losses))
    assert losses.verdict == compare.BIT_EXACT, losses.summary()
    predictions = compare.compare(reference.predictions, plain.predictions)
    assert predictions.verdict == compare.BIT_EXACT, predictions.summary()
    for want, got in [(reference.saver_checkpoint, plain.saver_checkpoint),
                      (reference.signature_checkpoint, plain.signature_checkpoint)]:
        expected, actual = checkpoints.comparable(want, got)
        variables = compare.compare(expected, actual)
        assert expected and variables.verdict == compare.BIT_EXACT, f"{got}: {variables.summary()}"

    # The checkpoints hold trained variables, not copies of the export's: the comparison can fail.
    initial, trained = checkpoints.comparable(export.saved_model / "variables" / "variables", plain.saver_checkpoint)
    assert initial.keys() == trained.keys() and compare.compare(initial, trained).verdict == compare.DIVERGED
    assert plain.summary["unreleased_native_pointers"] == 0  # every tensor the CLI made was closed
    # The summary's decimal losses parse back to the very bits of losses.npy.
    decimal = np.array(plain.summary["losses"], dtype=plain.losses[0].dtype)
    assert decimal.tobytes() == np.array(plain.losses).tobytes()
    return plain


def test_tf_keras_export_trains_bit_exactly_as_through_jpype(java, bundles, tmp_path):
    plain = assert_same_as_jpype(java, bundles["tf_keras"], tmp_path, bench=20)
    # --bench runs after the saves, so the checks above also show it leaves the run alone.
    timings = plain.bench
    assert timings["calls"] == 20 and 0 < timings["min_us"] <= timings["median_us"] <= timings["max_us"]


def test_tf1_graph_export_trains_bit_exactly_as_through_jpype(java, tf1_bundle, tmp_path):
    plain = assert_same_as_jpype(java, tf1_bundle, tmp_path)
    # The command reruns as is, without Python, and writes the same losses again.
    losses = np.array(plain.losses)
    done = subprocess.run(shlex.split(plain.command), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert np.load(plain.summary["files"]["losses"]).tobytes() == losses.tobytes()


def test_jar_is_built_once_per_version_and_source(classpath):
    jar = plain_java.jar(TF_JAVA, CACHE)
    before = jar.stat().st_mtime_ns
    assert str(jar) == classpath[-1] and plain_java.jar(TF_JAVA, CACHE).stat().st_mtime_ns == before


def test_unresolvable_tf_java_fails_with_mavens_error(tmp_path):
    with pytest.raises(HarnessError, match=r"pom\.xml: Maven could not build .* against TF Java 1\.2\.0: .*ERROR"):
        plain_java.jar("1.2.0", tmp_path)


def test_missing_export_is_named(bundles, tmp_path):
    missing = tmp_path / "no-such-export"
    with pytest.raises(HarnessError, match=re.escape(f"{missing}: export directory does not exist")):
        plain_java.run(missing, bundles["tf_keras"].data(), ZOO, range(0, 2), tmp_path / "work", TF_JAVA, CACHE)


def truncated(x):
    return x, lambda raw: raw[:-10]


def fortran_order(x):
    return np.asfortranarray(x), None


def unsupported_dtype(x):
    return x.astype(np.uint8), None


def not_npy(x):
    return x, lambda raw: b"x,y\n1,2\n"


@pytest.mark.parametrize("malform", [truncated, fortran_order, unsupported_dtype, not_npy])
def test_malformed_npy_is_named(classpath, bundles, tmp_path, malform):
    export = bundles["tf_keras"]
    inputs = tmp_path / "inputs"
    plain_java.write_inputs(export.data(), ZOO, range(0, 2), inputs)
    bad = inputs / "train.x.npy"
    array, change = malform(np.load(bad))
    np.save(bad, array)
    if change:
        bad.write_bytes(change(bad.read_bytes()))

    done = subprocess.run([plain_java.java_executable(), "-cp", os.pathsep.join(classpath), plain_java.MAIN,
                           "--export", str(export.saved_model), "--inputs", str(inputs), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith(f"{plain_java.ERROR_MARK}{bad}: "), message
    assert not (tmp_path / "out").exists()
