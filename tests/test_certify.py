"""`python -m harness certify` on exports written outside this project: no flags, no data.

Each export comes from tests/foreign_exports.py (not the harness's routes): other signature and
input names, TF1 graphs, denied ops, a train call that never returns.
"""

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from harness.certify import discover
from harness.plan.interface import Interface
from harness.runtimes.tflite import KERNELS_BAND
from harness.runs.versions import LITERT, TF_PYTHON, TFLITE_ON_DEVICE

from .foreign_exports import build
from .helpers import fingerprint
from .test_cli import harness


def keras3_export_archive(out: Path) -> None:
    """Keras 3's own export (keras.export.ExportArchive, as the Keras docs show it: track, add_endpoint,
    write_out) with a training endpoint: a GradientTape step on int64 class ids, a Keras train_step's dict
    of loss and accuracy."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(10)])
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)  # its slots exist before the export
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def train_step(x, label):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = cross_entropy(label, logits)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return {"loss": loss, "accuracy": tf.reduce_mean(keras.metrics.sparse_categorical_accuracy(label, logits))}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(optimizer)  # the train endpoint updates its variables too
    archive.add_endpoint("serve", lambda x: model(x, training=False),
                         input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    archive.add_endpoint("train", train_step, input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x"),
                                                               tf.TensorSpec([None], tf.int64, name="label")])
    archive.write_out(str(out), verbose=False)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """name -> the export's path, built on first use (tests/foreign_exports.py, or keras3_export_archive);
    get.expected(name): what discovery must find in it (foreign_exports.Expected)."""
    root = tmp_path_factory.mktemp("foreign")
    made = {}

    def get(name):
        if name not in made:
            if name == "keras3_export_archive":
                made[name] = root / name / "saved_model", None
                keras3_export_archive(made[name][0])
            else:
                made[name] = build(name, root)
        return made[name][0]

    get.expected = lambda name: get(name) and made[name][1]
    return get


def certify(export: Path, out: Path, *flags):
    """`certify` with no flags (but `flags`) and no data: (the process, its certificate, (runtime, check) -> result)."""
    done = harness("certify", export, "--out", out, *flags)
    certificate = json.loads((out / "certificate.json").read_text())
    results = {(r["runtime"], r["check"]): r for r in json.loads((out / "conformance.json").read_text())["results"]}
    return done, certificate, results


WITH_FLEX = TFLITE_ON_DEVICE[0]
LITERT_NAME = f"litert-{LITERT[0]}"
RUNTIMES = ("python-2.21.0", "python-session-2.21.0", "java-1.1.0")  # the ones that run the whole plan
PLAIN = "java-plain-1.1.0"
# Every style of tests/foreign_exports.py that should certify with no flags and no data, with the checks
# that style is about: each must be bit-exact in RUNTIMES (and in plain Java where it runs it).
CERTIFIED = {
    # fit_step(features, target) -> {"mse"}; serving_default; export/import_weights(prefix): raw SaveV2/RestoreV2
    "fit_step": ("train.loss", "predict", "checkpoint.signature", "restore.signature.loss", "restore.signature.variables"),
    # the reference's checkpoint, re-keyed by name, is what a TF1 saver restores (was: "Key global_step not found")
    "tf1_momentum": ("restore.saver.loss", "restore.saver.variables"),
    # a V1 checkpoint (raw Save: one file at the path) is read (was: an internal error, exit 2)
    "v1_checkpoint_module": ("checkpoint.signature", "restore.signature.loss", "restore.signature.variables"),
    # the saved_model guide's custom tag set, loaded as such by every runtime (was: "no meta graph tagged serve")
    "tf1_custom_tag": ("train.loss", "predict", "restore.saver.loss"),
    # Estimator-style: trained with its TRAINING meta graph (inference is in the SERVING one)
    "tf1_train_and_serve": ("train.loss", "restore.saver.loss", "restore.saver.variables"),
    # tf.train.Checkpoint write/read as signatures; a bool output ("applied") compared as a metric
    "checkpoint_module": ("train.loss", "checkpoint.signature", "restore.signature.loss", "restore.signature.variables"),
    # a federated client: get_weights() and set_weights(w, b), round-tripped by value
    "weights_by_value": ("train.loss", "checkpoint.weights", "restore.weights.loss", "restore.weights.variables"),
    # train returns {loss, accuracy, mae} and takes a learning rate and a keep probability
    "metrics_and_extra_inputs": ("train.loss", "resume.loss", "restore.saver.loss"),
}
TAGS = {"tf1_custom_tag": "test_saved_model", "tf1_train_and_serve": "train"}
# On device (beside the verdict): TF 2.15.1's TFLite trains every style but these, measured, for the cause named.
NOT_ON_DEVICE = {
    # tf.train.Checkpoint.write in the save signature adds tf.DisableCopyOnRead: no TFLite builtin nor Flex op
    "checkpoint_module": "tflite-unconvertible-op",
}


@pytest.mark.java
@pytest.mark.parametrize("name", sorted(CERTIFIED))
def test_the_corpus_is_certified_with_no_flags_and_no_data(foreign, tmp_path, name):
    export, expected = foreign(name), foreign.expected(name)  # expected: from how the export was built
    before = fingerprint(export)
    done, certificate, results = certify(export, tmp_path / "cert")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    assert fingerprint(export) == before  # only read: the runtimes train a copy
    assert certificate["ok"] and not certificate["failing"]
    assert Interface.from_dict(certificate["discovery"]["interface"]) == expected.interface
    assert certificate["data"]["source"] == "synthesized"
    assert {PLAIN, *RUNTIMES} <= {runtime for runtime, _ in results}
    for check in CERTIFIED[name]:
        for runtime in RUNTIMES + ((PLAIN,) if not check.startswith("restore.") else ()):
            result = results[runtime, check]
            assert result["outcome"] == "PASS" and result["comparison"]["verdict"] == "bit-exact", result
    # Every scalar output of train is compared, each by name: (loss + metrics) per step, in every runtime.
    per_step = 1 + len(expected.interface.metrics)
    for runtime in (*RUNTIMES, PLAIN):
        assert results[runtime, "train.loss"]["comparison"]["compared"] == per_step * certificate["data"]["steps"]
    # A check that does not apply says why; weights by value where the export has no getter and setter.
    for runtime in RUNTIMES:
        for check in ("checkpoint.weights", "restore.weights.loss", "restore.weights.variables"):
            if not expected.interface.get_weights:
                assert results[runtime, check]["outcome"] == "N/A"
                assert results[runtime, check]["detail"].startswith("export has no get_weights")
    # The plain Java program (no Python, no JPype) saw exactly what the harness saw through JPype.
    same = results[PLAIN, "equals.java-1.1.0"]
    assert same["outcome"] == "PASS" and same["comparison"]["verdict"] == "bit-exact", same
    rerun = (tmp_path / "cert" / "rerun-java" / "rerun.sh").read_text()
    assert rerun.count("dev.conformance.TrainExport") == 1 and "a Java team reruns it with Java 17 and Maven only" in done.stdout
    assert certificate["rerun_java"] == "sh rerun-java/rerun.sh" and str(tmp_path) not in rerun  # no path of this machine
    tags = TAGS.get(name, "serve")
    assert ("--tags " in rerun) == (tags != "serve") and (tags == "serve" or f"--tags {tags}" in rerun)  # plain Java too
    assert (f"--metrics {','.join(expected.interface.metrics)}" in rerun) == bool(expected.interface.metrics)
    # On device, beside the verdict: TFLite with Flex trains it within its kernels' band, or says why not;
    # TF 2.21's TFLite has no Flex delegate (or cannot convert it first), which never makes it NOT conformant.
    # LiteRT (no Flex delegate either, on the same conversion) fails as TF 2.21's tf.lite does, in its own words.
    device = certificate["on_device"]
    assert set(device) == {f"tflite-{WITH_FLEX}", f"tflite-{TF_PYTHON}", LITERT_NAME}
    for without in (device[f"tflite-{TF_PYTHON}"]["first_failure"], device[LITERT_NAME]["first_failure"]):
        assert without["cause"]["id"] == NOT_ON_DEVICE.get(name, "tflite-no-flex"), without
    with_flex = device[f"tflite-{WITH_FLEX}"]
    if name in NOT_ON_DEVICE:
        assert not with_flex["trains"] and with_flex["first_failure"]["cause"]["id"] == NOT_ON_DEVICE[name], with_flex
        assert f"on device: does not train with tflite-{WITH_FLEX}: " in done.stdout
    else:
        assert with_flex["trains"] and 0 <= with_flex["max_scaled_error"] < KERNELS_BAND["float32"], with_flex
        assert f"on device: trains with tflite-{WITH_FLEX} (norm-wise error <= " in done.stdout
    if name == "weights_by_value":
        assert "found: weights: 'get_weights' returns b, w as read from variables, 'set_weights' writes them back" in done.stdout
        assert "--weights get_weights" in rerun
        for runtime in RUNTIMES:
            assert results[runtime, "restore.weights.variables"]["comparison"]["compared"] == 2  # w and b, by name
        assert results[PLAIN, "restore.weights.loss"]["outcome"] == "N/A"  # plain Java trains from the export only
        assert_the_java_rerun_travels(tmp_path / "cert" / "rerun-java", tmp_path / "elsewhere")


def assert_the_java_rerun_travels(folder, elsewhere):
    """The certificate's rerun-java/, copied elsewhere, built by Maven from an empty local repository, trains
    the export again and writes the same numbers, byte for byte (its own comparison, and this test's)."""
    shutil.copytree(folder, elsewhere / "taken-away")
    shutil.rmtree(folder)  # nothing of the certificate's folder is read
    empty = elsewhere / "empty-m2"
    done = subprocess.run(["sh", str(elsewhere / "taken-away" / "rerun.sh"), f"-Dmaven.repo.local={empty}"],
                          capture_output=True, text=True, cwd=elsewhere, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "same numbers as the certificate's run" in done.stdout and any(empty.rglob("tensorflow-core-api-*.jar"))
    expected = sorted((elsewhere / "taken-away" / "expected").glob("*.npy"))
    assert "losses.npy" in {p.name for p in expected}
    for path in expected:
        assert np.load(path).tobytes() == np.load(elsewhere / "taken-away" / "out" / path.name).tobytes(), path.name
    # Its comparison can fail: one bit of the recorded loss flipped, the rerun says which file differs, exit 1.
    losses = elsewhere / "taken-away" / "expected" / "losses.npy"
    data = bytearray(losses.read_bytes())
    data[-1] ^= 1
    losses.write_bytes(bytes(data))
    again = subprocess.run(["sh", str(elsewhere / "taken-away" / "rerun.sh"), f"-Dmaven.repo.local={empty}", "-o"],
                           capture_output=True, text=True, cwd=elsewhere, timeout=600)
    assert again.returncode == 1 and "differs from the certificate's run: out/losses.npy" in again.stdout, again.stdout


@pytest.mark.java
@pytest.mark.parametrize("name, cause, fix, failing", [
    # Keras 3 in a plain tf.Module: the session loaders never create its variables, so nothing trains there
    ("keras3_in_module", "keras3-variables-in-tf-module", "Export with keras.export.ExportArchive",
     {(rt, "train.loss") for rt in ("python-session-2.21.0", "java-1.1.0", "java-plain-1.1.0")}
     | {(rt, "restore.saver.loss") for rt in ("python-session-2.21.0", "java-1.1.0")}),
    # Keras 3's ExportArchive (up to 3.15 at least: keras#23553) saves each weight twice, and the session loader
    # trains the other copy: it trains the same in Java, but no checkpoint crosses between the two loaders
    ("keras3_export_archive", "exportarchive-doubled-weights", "Train and checkpoint in one kind of loader only",
     {(rt, check) for rt in ("python-session-2.21.0", "java-1.1.0", "java-plain-1.1.0")
      for check in ("checkpoint.saver", "resume.loss", "resume.variables")}
     | {(rt, f"restore.saver.{what}") for rt in ("python-session-2.21.0", "java-1.1.0") for what in ("loss", "variables")}),
])
def test_a_known_cause_is_named_with_what_to_change(foreign, tmp_path, name, cause, fix, failing):
    done, certificate, results = certify(foreign(name), tmp_path / "cert", "--on-device", "")  # the corpus test runs it
    assert done.returncode == 1 and not certificate["ok"], done.stdout[-4000:] + done.stderr[-3000:]
    assert certificate["on_device"] == {} and "on device" not in done.stdout
    fails = [f for f in certificate["failing"] if f["outcome"] == "FAIL"]
    assert {tuple(f["id"].split("/")[1:]) for f in fails} == {(rt, f"saved_model.{check}") for rt, check in failing}
    assert all(f["cause"]["id"] == cause for f in fails), fails  # a divergent part's losses too: its variables name it
    assert f"what to change: {fix}" in done.stdout and "unknown cause" not in done.stdout
    assert certificate["failing"][0]["cause"]["links"][0] in done.stdout
    if name == "keras3_export_archive":  # ... what does not cross loaders is the same in every runtime, bit for bit
        interface = certificate["discovery"]["interface"]
        assert (interface["train"], interface["loss"], interface["metrics"], interface["predict"]) == (
            "train", "loss", ["accuracy"], "serve")
        for runtime in (*RUNTIMES, PLAIN):
            for check in ("train.loss", "predict"):
                assert results[runtime, check]["comparison"]["verdict"] == "bit-exact", (runtime, check)
        assert results[PLAIN, "equals.java-1.1.0"]["comparison"]["verdict"] == "bit-exact"
    else:
        assert "https://github.com/tensorflow/tensorflow/issues/72963" in done.stdout


def test_unrelated_scalar_outputs_are_refused_naming_the_file_and_the_flag(foreign, tmp_path):
    export = foreign("unrelated_scalars")  # mse, mae, max_error; the step minimizes mse + 0.1 * mae, not returned
    done = harness("certify", export, "--out", tmp_path / "cert", "--on-device", "")
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {export / 'saved_model.pb'}: signature 'fit' has several scalar float outputs and none is computed "
        f"from the others or named 'loss', so which one the step minimizes cannot be told (mae: float32[], "
        f"max_error: float32[], mse: float32[]): pass --loss OUTPUT to name the loss")
    assert not (tmp_path / "cert" / "work").exists()  # refused before anything ran
    d = discover.discover(export, {"loss": "mse"})  # named, the others are its metrics
    assert (d.interface.loss, d.interface.metrics) == ("mse", ("mae", "max_error"))


@pytest.mark.parametrize("kind, op", [("writes_file", "WriteFile"), ("calls_python", "EagerPyFunc")])
def test_an_export_with_a_refused_op_is_not_run(foreign, tmp_path, kind, op):
    export = foreign(kind)
    before = fingerprint(export)
    done = harness("certify", export, "--out", tmp_path / "cert", "--on-device", "")
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{export / 'saved_model.pb'}: refusing to run this export: op '{op}'" in done.stderr
    assert f"--allow-op {op}" in done.stderr
    assert not (tmp_path / "cert" / "work").exists()  # refused before anything ran
    assert fingerprint(export) == before


def test_an_input_that_cannot_be_made_up_is_named(foreign, tmp_path):
    export = foreign("text_no_predict")  # a string input: no data can be invented for it
    done = harness("certify", export, "--out", tmp_path / "cert", "--on-device", "")
    assert done.returncode == 2
    assert "cannot synthesize data for signature" in done.stderr and str(export) in done.stderr


@pytest.mark.java
def test_made_up_labels_the_reference_cannot_train_on_are_no_verdict(foreign, tmp_path):
    """combined_loss's class labels lie in [0, 3): with no flags the graph says so (a sparse cross-entropy over 3
    logits) and certify makes up labels in that range; integers in [0, 10) (--int-range) make TF itself refuse
    the step. That is the harness's limit, never the export's failure: no verdict (exit 2), and what to give."""
    export = foreign("combined_loss")
    done = harness("certify", export, "--out", tmp_path / "cert", "--on-device", "", "--int-range", "0", "10")
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-2000:]
    certificate = json.loads((tmp_path / "cert" / "certificate.json").read_text())
    assert certificate["undecided"] and not certificate["ok"]
    assert certificate["verdict"].startswith("not certified: the data made up from the signatures is not valid")
    assert "--int-range LOW HIGH" in done.stdout and "NOT conformant" not in done.stdout
    assert "outside the valid range of [0, 3)" in done.stdout  # the reference's own error, shown as why
    done = harness("certify", export, "--out", tmp_path / "cert2", "--on-device", "")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "data: 'label' uniform in [0, 3) (the class ids of a sparse cross-entropy over 3 logits)" in done.stdout


@pytest.mark.java
def test_a_train_call_that_never_returns_is_a_timeout_and_the_run_ends(foreign, tmp_path):
    export = foreign("hang_forever")
    started = time.monotonic()
    done = harness("certify", export, "--out", tmp_path / "cert", "--on-device", "", "--call-timeout", "20", "--steps", "1", "--resume-steps", "1")
    # The reference itself does not return on made-up data: no verdict on the export (real data might converge).
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert time.monotonic() - started < 400  # bounded by the timeout, not by the hang
    certificate = json.loads((tmp_path / "cert" / "certificate.json").read_text())
    assert certificate["undecided"] and certificate["verdict"].startswith("not certified")
    (reference,) = [f for f in certificate["failing"] if f["id"].endswith(".reference")]
    assert "timeout: no answer within 20 s" in reference["detail"]


def test_the_console_script_and_the_github_action_run_certify(tmp_path):
    """A user's CI runs `tf-training-conformance certify PATH` (pyproject's script) through action.yml."""
    import subprocess
    import sys
    import tomllib

    from .conftest import ROOT

    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["tf-training-conformance"]
    module, function = target.split(":")
    done = subprocess.run([sys.executable, "-c", f"import sys; from {module} import {function} as m; sys.exit(m())",
                           "certify", str(tmp_path / "missing")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and f"{tmp_path / 'missing'}: export directory does not exist" in done.stderr
    action = (ROOT / "action.yml").read_text()
    for name in ("saved-model", "data", "java-versions", "on-device"):
        assert f"\n  {name}:\n" in action
    assert 'args=(certify "$SAVED_MODEL" --out "$OUT")' in action and 'tf-training-conformance "${args[@]}"' in action
    assert "uses: actions/upload-artifact@v4" in action and "path: ${{ inputs.out }}" in action
