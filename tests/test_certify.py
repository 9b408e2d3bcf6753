"""`python -m harness certify` on exports written outside this project: no flags, no data.

Each export comes from tests/foreign_exports.py (not the harness's routes): other signature and
input names, TF1 graphs, denied ops, a train call that never returns.
"""

import json
import time

import pytest

from .foreign_exports import build
from .helpers import fingerprint
from .test_cli import harness


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    root = tmp_path_factory.mktemp("foreign")
    made = {}

    def get(name):
        if name not in made:
            made[name] = build(name, root)[0]
        return made[name]

    return get


@pytest.mark.java
def test_a_foreign_export_is_certified_with_no_flags_and_no_data(foreign, tmp_path):
    export = foreign("fit_step")  # fit_step(features, target) -> {"mse"}; serving_default; export/import_weights(prefix)
    before = fingerprint(export)
    done = harness("certify", export, "--out", tmp_path / "cert")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    assert fingerprint(export) == before  # only read: the runtimes train a copy

    certificate = json.loads((tmp_path / "cert" / "certificate.json").read_text())
    assert certificate["ok"] and not certificate["failing"]
    interface = certificate["discovery"]["interface"]
    assert (interface["train"], interface["loss"], interface["predict"]) == ("fit_step", "mse", "serving_default")
    assert (interface["save"], interface["save_path"]) == ("export_weights", "prefix")
    assert certificate["data"]["source"] == "synthesized"

    results = {r["id"]: r for r in json.loads((tmp_path / "cert" / "conformance.json").read_text())["results"]}
    runtimes = {r["runtime"] for r in results.values()}
    assert {"java-1.1.0", "java-plain-1.1.0", "python-session-2.21.0"} <= runtimes
    # The plain Java program (no Python, no JPype) saw exactly what the harness saw through JPype.
    (same,) = [r for r in results.values() if r["check"] == "equals.java-1.1.0"]
    assert same["outcome"] == "PASS" and same["comparison"]["verdict"] == "bit-exact", same
    assert (tmp_path / "cert" / "rerun-java.sh").read_text().count("dev.conformance.TrainExport") == 1
    assert "a Java team reruns it without Python" in done.stdout


@pytest.mark.java
@pytest.mark.parametrize("name, checks", [
    # the reference's checkpoint, re-keyed by name, is what a TF1 saver restores (was: "Key global_step not found")
    ("tf1_momentum", ("restore.saver.loss", "restore.saver.variables")),
    # a V1 checkpoint (raw Save: one file at the path) is read (was: an internal error, exit 2)
    ("v1_checkpoint_module", ("checkpoint.signature", "restore.signature.loss", "restore.signature.variables")),
    # the saved_model guide's custom tag set, loaded as such by every runtime (was: "no meta graph tagged serve")
    ("tf1_custom_tag", ("train.loss", "predict", "restore.saver.loss")),
    # Estimator-style: trained with its TRAINING meta graph (inference is in the SERVING one)
    ("tf1_train_and_serve", ("train.loss", "restore.saver.loss", "restore.saver.variables")),
])
def test_foreign_checkpoint_layouts_are_certified(foreign, tmp_path, name, checks):
    export = foreign(name)
    done = harness("certify", export, "--out", tmp_path / "cert")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    results = {(r["runtime"], r["check"]): r for r in json.loads((tmp_path / "cert" / "conformance.json").read_text())["results"]}
    for runtime in ("python-2.21.0", "python-session-2.21.0", "java-1.1.0"):
        for check in checks:
            result = results[runtime, check]
            assert result["outcome"] == "PASS" and result["comparison"]["verdict"] == "bit-exact", result
    certificate = json.loads((tmp_path / "cert" / "certificate.json").read_text())
    tags = {"tf1_custom_tag": "test_saved_model", "tf1_train_and_serve": "train"}.get(name, "serve")
    assert certificate["discovery"]["interface"]["tags"] == [tags]
    rerun = (tmp_path / "cert" / "rerun-java.sh").read_text()
    assert ("--tags " in rerun) == (tags != "serve") and (tags == "serve" or f"--tags {tags}" in rerun)  # plain Java too


@pytest.mark.java
def test_a_known_cause_is_named_with_what_to_change(foreign, tmp_path):
    export = foreign("keras3_in_module")  # Keras 3 in a plain tf.Module: correctly not conformant in session loaders
    done = harness("certify", export, "--out", tmp_path / "cert")
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-3000:]
    failing = [f for f in json.loads((tmp_path / "cert" / "certificate.json").read_text())["failing"] if f["outcome"] == "FAIL"]
    assert {f["id"].split("/")[1] for f in failing} >= {"python-session-2.21.0", "java-1.1.0", "java-plain-1.1.0"}
    assert all(f["cause"]["id"] == "keras3-variables-in-tf-module" for f in failing), failing
    assert "what to change: Export with keras.export.ExportArchive" in done.stdout
    assert "https://github.com/tensorflow/tensorflow/issues/72963" in done.stdout


@pytest.mark.parametrize("kind, op", [("writes_file", "WriteFile"), ("calls_python", "EagerPyFunc")])
def test_an_export_with_a_refused_op_is_not_run(foreign, tmp_path, kind, op):
    export = foreign(kind)
    before = fingerprint(export)
    done = harness("certify", export, "--out", tmp_path / "cert")
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{export / 'saved_model.pb'}: refusing to run this export: op '{op}'" in done.stderr
    assert f"--allow-op {op}" in done.stderr
    assert not (tmp_path / "cert" / "work").exists()  # refused before anything ran
    assert fingerprint(export) == before


def test_an_input_that_cannot_be_made_up_is_named(foreign, tmp_path):
    export = foreign("text_no_predict")  # a string input: no data can be invented for it
    done = harness("certify", export, "--out", tmp_path / "cert")
    assert done.returncode == 2
    assert "cannot synthesize data for signature" in done.stderr and str(export) in done.stderr


@pytest.mark.java
def test_a_train_call_that_never_returns_is_a_timeout_and_the_run_ends(foreign, tmp_path):
    export = foreign("hang_forever")
    started = time.monotonic()
    done = harness("certify", export, "--out", tmp_path / "cert", "--call-timeout", "20", "--steps", "1", "--resume-steps", "1")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert time.monotonic() - started < 400  # bounded by the timeout, not by the hang
    certificate = json.loads((tmp_path / "cert" / "certificate.json").read_text())
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
    for name in ("saved-model", "data", "java-versions"):
        assert f"\n  {name}:\n" in action
    assert 'args=(certify "$SAVED_MODEL" --out "$OUT")' in action and 'tf-training-conformance "${args[@]}"' in action
    assert "uses: actions/upload-artifact@v4" in action and "path: ${{ inputs.out }}" in action
