"""The command line, end to end: `conformance` on the reference zoo, `check` on a user's export, bad input."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import tensorflow as tf

from harness.reports import report as report_mod
from harness.exports import spec
from harness.reports.report import reproducible
from harness.runs.versions import LITERT, TF_PYTHON

from .conftest import CACHE, ROOT
from .helpers import fingerprint


def harness(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=900)


def assert_it_says_where_its_seconds_went(report: dict) -> None:
    """The report's timings (harness/runs/timing.py): each case's stages, timed one after the other, account
    for its wall time; every runtime's plan stages and restored parts are there, and the fixed cost apart."""
    timings = report["timings"]
    walls = {(c["exporter"], c["case"]): c["seconds"] for c in timings["case seconds"]}
    ran = {(r["exporter"], r["case"]) for r in report["results"] if r["case"] and r["check"] != "export"}
    assert set(walls) == ran
    staged: dict = {}
    for row in timings["cases"]:
        assert row["seconds"] >= 0, row
        staged[(row["exporter"], row["case"])] = staged.get((row["exporter"], row["case"]), 0.0) + row["seconds"]
    for case, wall in walls.items():  # what no stage names (the reference's checkpoint re-keyed...) is small
        assert 0.8 * wall <= staged[case] <= wall + 0.01, (case, wall, staged[case])
    stages = {(r["runtime"], r["stage"]) for r in timings["cases"] if r["case"] == "mlp_regression.tf_keras"}
    for runtime in ("python-2.21.0", "python-session-2.21.0", "java-1.1.0"):
        for stage in ("load", "train", "predict", "save", "restore.saver.load", "restore.signature.train",
                      "restore.saver.restore", "transfer", "resume", "compare"):
            assert (runtime, stage) in stages, (runtime, stage, sorted(stages))
    assert ("python-2.21.0", "reference") in stages
    assert timings["fixed"]["imports"] > 0 and timings["fixed"]["worker starts"] >= timings["starts"]["java-1.1.0"] > 0


@pytest.mark.java
def test_conformance_end_to_end(bundles, tmp_path):
    before = {route: fingerprint(b.root) for route, b in bundles.items()}
    done = harness("conformance", "--out", tmp_path, "--cache-dir", CACHE)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads((tmp_path / "conformance.json").read_text())
    outcome = {r["id"]: r for r in report["results"]}

    java = f"{TF_PYTHON}/java-1.1.0/mlp_regression"
    for route in ("tf_keras", "keras3_archive"):  # trained in Java, step for step as in Python
        for check in ("train.loss", "predict", "checkpoint.signature"):
            result = outcome[f"{java}.{route}.{check}"]
            assert result["outcome"] == "PASS" and result["comparison"]["verdict"] == "bit-exact", result
        assert outcome[f"{java}.{route}.tensors.closed"]["outcome"] == "PASS"
    for check in ("checkpoint.saver", "resume.loss", "resume.variables"):  # Adam slots and iteration included
        assert outcome[f"{java}.tf_keras.{check}"]["comparison"]["verdict"] == "bit-exact"
        assert outcome[f"{java}.keras3_archive.{check}"]["outcome"] == "XFAIL"  # keras-team/keras#23553
    assert outcome[f"{java}.keras3_module.train.loss"]["outcome"] == "XFAIL"
    assert "Could not find variable" in outcome[f"{java}.keras3_module.train.loss"]["detail"]
    assert outcome["java-1.2.0/setup"]["outcome"] == "XFAIL"
    assert_it_says_where_its_seconds_went(report)

    # The zoo's CI subset: every spec and route ran, and Java trained the families step for step.
    ran = {(r["case"], r["runtime"]) for r in report["results"]}
    for s in spec.all_specs():
        for route in s.ci_routes:
            assert (f"{s.name}.{route}", "java-1.1.0") in ran, (s.name, route)
    for case in ("embedding.tf_keras", "cnn.tf_keras", "batchnorm.tf_keras", "tf1_graph.tf1_graph", "dropout.raw_module",
                 "mlp_regression_mixed_precision.tf_keras", "mlp_regression_float64.raw_module", "multi_output.tf_keras"):
        for check in ("train.loss", "predict", "checkpoint.saver", "resume.variables"):
            result = outcome[f"{TF_PYTHON}/java-1.1.0/{case}.{check}"]
            assert result["comparison"]["verdict"] == "bit-exact", result
    assert outcome[f"{TF_PYTHON}/python-{TF_PYTHON}/dropout_stateful.keras3_archive.reference.deterministic"]["outcome"] == "XFAIL"
    assert not [r["id"] for r in report["results"] if r["outcome"] in ("FAIL", "XPASS")]

    env = report["environment"]
    assert env["runtimes"]["java-1.1.0"]["tensorflow"] == "2.18.0"  # the TF the JVM really runs
    assert env["tensorflow_python"] == tf.__version__ and env["threads"] == {"intra_op": 1, "inter_op": 1}
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert {s.get("name") for s in suites} >= {"java-1.1.0", "python-2.21.0"}
    assert sum(int(s.get("failures")) for s in suites) == 0
    assert "0 failed" in done.stdout
    assert {route: fingerprint(b.root) for route, b in bundles.items()} == before  # exports never written


@pytest.mark.java
def test_check_certifies_a_user_export_without_writing_into_it(bundles, tmp_path):
    user = tmp_path / "user_export"
    shutil.copytree(bundles["tf_keras"].saved_model, user)
    before = fingerprint(user)
    done = harness("check", user, "--data", bundles["tf_keras"].data_path, "--out", tmp_path / "out", "--cache-dir", CACHE)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert fingerprint(user) == before
    report = json.loads((tmp_path / "out" / "conformance.json").read_text())
    # On-device trainability (TFLite) is reported beside the verdict: TF 2.15.1's trains it, TF 2.21's has no Flex.
    device = json.loads((tmp_path / "out" / "certificate.json").read_text())["on_device"]
    assert device["tflite-2.15.1"]["trains"] and not device[f"tflite-{TF_PYTHON}"]["trains"], device
    assert device[f"tflite-{TF_PYTHON}"]["first_failure"]["cause"]["id"] == "tflite-no-flex"
    assert device[f"litert-{LITERT[0]}"]["first_failure"]["cause"]["id"] == "tflite-no-flex"  # LiteRT: no Flex either
    report["results"] = [r for r in report["results"] if not r["runtime"].startswith(("tflite-", "litert-"))]
    assert {r["outcome"] for r in report["results"]} == {"PASS", "N/A"}
    # Only the plain-Java program's restore part does not apply (java-1.1.0 checks restoring), and weights by
    # value: the zoo's exports have no get_weights/set_weights signatures
    not_applicable = [r for r in report["results"] if r["outcome"] == "N/A"]
    assert {(r["runtime"], r["check"].split(".")[0]) for r in not_applicable if "weights" not in r["check"]} == {
        ("java-plain-1.1.0", "restore")}
    weights = [r for r in not_applicable if "weights" in r["check"]]
    assert len(weights) == 4 * 3 and all(r["detail"].startswith("export has no get_weights") for r in weights)
    assert {r["runtime"] for r in report["results"]} == {
        f"python-{TF_PYTHON}", f"python-session-{TF_PYTHON}", "java-1.1.0", "java-plain-1.1.0"}
    assert json.loads((tmp_path / "out" / "certificate.json").read_text())["ok"]


@pytest.fixture(scope="module")
def predict_only_export(tmp_path_factory):
    module = tf.Module()
    module.w = tf.Variable(tf.ones([8, 1]))
    module.predict = tf.function(lambda x: {"prediction": x @ module.w}, input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
    path = tmp_path_factory.mktemp("predict_only") / "saved_model"
    tf.saved_model.save(module, str(path), signatures={"predict": module.predict})
    return path


def test_missing_export_directory(tmp_path, bundles):
    done = harness("check", tmp_path / "nope", "--data", bundles["tf_keras"].data_path)
    assert done.returncode == 2
    assert f"{tmp_path / 'nope'}: export directory does not exist" in done.stderr


@pytest.mark.parametrize("args, error", [
    (("certify", "{tmp}/no/such/dir"), "{tmp}/no/such/dir: export directory does not exist"),
    (("certify", "{tmp}", "--data", "{tmp}/missing.npz"), "{tmp}/missing.npz: data file does not exist"),
    (("certify", "{tmp}", "--steps", "0"), "--steps and --resume-steps must be positive"),
    (("conformance", "-j", "0"), "-j must be at least 1, got 0"),
    (("conformance", "--expectations", "{tmp}/nope"), "{tmp}/nope: expectations folder does not exist"),
    (("release", "2.21.0", "--expectations", "{tmp}/nope"), "{tmp}/nope: expectations folder does not exist"),
])
def test_bad_arguments_are_answered_in_one_line_before_tensorflow_loads(tmp_path, args, error):
    """What is wrong with the arguments is said before anything heavy is imported: one line, exit 2, well under
    a second where `import tensorflow` alone takes ~10 s. Checked by what the process imported (-X importtime),
    not only by the clock of a shared machine."""
    tmp = str(tmp_path)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "harness", *(a.format(tmp=tmp) for a in args),
                           "--out", tmp_path / "out"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    print(f"{' '.join(args[:1])}: exit {done.returncode} in {took:.2f} s")
    lines = done.stderr.splitlines()
    imported = {line.rpartition("|")[2].strip() for line in lines if line.startswith("import time:")}
    said = [line for line in lines if not line.startswith("import time:")]
    assert done.returncode == 2 and said == [f"error: {error.format(tmp=tmp)}"] and not done.stdout, done.stderr[-2000:]
    assert not imported & {"tensorflow", "keras", "tf_keras", "jpype", "matplotlib", "rich"}, imported
    assert not (tmp_path / "out").exists()  # not even the log file
    assert took < 5, took  # about 0.4 s on an idle 2-core machine (numpy is the largest import)


def test_export_without_train_signature(predict_only_export, bundles):
    done = harness("check", predict_only_export, "--data", bundles["tf_keras"].data_path)
    assert done.returncode == 2
    assert f"{predict_only_export / 'saved_model.pb'}: no signature updates variables, so none trains" in done.stderr


def test_data_that_does_not_match_the_signature(bundles, tmp_path):
    data = bundles["tf_keras"].data()
    data["train.x"] = data["train.x"][..., :7]
    path = tmp_path / "data.npz"
    np.savez(path, **data)
    done = harness("check", bundles["tf_keras"].saved_model, "--data", path)
    assert done.returncode == 2
    steps = data["train.x"].shape[0]
    assert f"{path}: 'train.x' is float32[{steps}, 16, 7], but signature 'train'" in done.stderr, done.stderr
    assert "expects 'x' as one batch per step: [steps] + float32[None, 8]" in done.stderr


def test_truncated_variables_file(bundles, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(bundles["tf_keras"].saved_model, export)
    (shard,) = (export / "variables").glob("variables.data-*")
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    before = fingerprint(export)
    done = harness("check", export, "--data", bundles["tf_keras"].data_path)
    assert done.returncode == 2
    assert f"{export / 'variables'}/['{shard.name}']: checkpoint cannot be read (truncated or corrupt?)" in done.stderr
    assert fingerprint(export) == before


@pytest.mark.java
def test_jvm_that_cannot_start(bundles, tmp_path):
    done = harness("check", bundles["tf_keras"].saved_model, "--data", bundles["tf_keras"].data_path, "--java", "1.1.0",
                   "--out", tmp_path / "out", "--cache-dir", CACHE, env={"JAVA_HOME": str(tmp_path)})
    assert done.returncode == 1
    assert f"java-1.1.0: the JVM cannot start: FileNotFoundError: JAVA_HOME={tmp_path} is not a JDK" in done.stdout


@pytest.mark.java
def test_jars_that_cannot_be_resolved(bundles, tmp_path):
    no_maven = tmp_path / "bin"
    no_maven.mkdir()
    (no_maven / "python3").symlink_to(sys.executable)
    done = harness("check", bundles["tf_keras"].saved_model, "--data", bundles["tf_keras"].data_path, "--java", "1.1.0",
                   "--out", tmp_path / "out", "--cache-dir", tmp_path / "empty-cache", env={"PATH": str(no_maven)})
    assert done.returncode == 1
    assert "java/pom.xml: cannot resolve the TF Java jars: `mvn` is not on PATH" in done.stdout


def descendants(pid: int) -> set[int]:
    """Every process below `pid` now (workers run in sessions of their own, but stay its children)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.java
@pytest.mark.parametrize("stop, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_reports_what_finished_and_ends_every_worker(bundles, tmp_path, stop, status):
    """SIGINT (Ctrl-C), or SIGTERM (docker stop, Kubernetes, a CI timeout), once the first export has finished,
    the second running: within seconds, exit 130 (143), no traceback, every worker and JVM gone, and the
    reports hold the first export, marked partial."""
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "harness", "conformance", "--spec", "mlp_regression",
                            "--route", "tf_keras", "--route", "raw_module", "--java", "1.1.0", "--java-plain", "1.1.0",
                            "-j", "1", "--out", out, "--cache-dir", CACHE], cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "CI": "1"},
                           # as from a terminal: a shell's background job (`cmd &`) starts with SIGINT ignored
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = ""
        for line in run.stdout:  # progress: one line per finished export (CI set: no live bar)
            if line.startswith("[1/2] "):
                first = line
                break
        assert first.startswith("[1/2] mlp_regression.tf_keras@"), first
        time.sleep(1)  # into the second export's checks
        workers = descendants(run.pid)
        assert len(workers) >= 2, workers  # a TF Python worker and a TF Java worker, at least
        sent = time.monotonic()
        run.send_signal(stop)
        stdout, stderr = run.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == status, stdout[-3000:] + stderr[-3000:]
    assert took < 10, took
    assert "Traceback" not in stdout + stderr and "KeyboardInterrupt" not in stdout + stderr, stderr[-3000:]
    assert "interrupted: a partial report, of the 1 export(s) that finished" in stdout, stdout[-3000:]
    assert "mlp_regression.tf_keras" in stdout and "mlp_regression.raw_module" not in stdout  # the summary
    deadline = time.monotonic() + 5  # killed children of an exited process are reaped by init
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)]

    report = json.loads((out / "conformance.json").read_text())
    assert report["partial"] is True and report["interrupted"] is True and report["ok"] is False
    assert report_mod.problem(report) is None
    cases = {r["case"] for r in report["results"]}
    assert cases == {"mlp_regression.tf_keras"}, cases
    ran = {r["runtime"] for r in report["results"] if r["case"]}
    assert ran == {f"python-{TF_PYTHON}", f"python-session-{TF_PYTHON}", "java-1.1.0", "java-plain-1.1.0"}
    assert not [r["id"] for r in report["results"] if r["outcome"] in ("FAIL", "XPASS")]  # what finished, passed
    assert "mlp_regression.tf_keras" in (out / "junit.xml").read_text()
    assert ">PARTIAL</span>" in (out / "index.html").read_text()
    merged = report_mod.merge([report])  # a partial shard makes a partial merge
    assert merged["partial"] and not merged["ok"]
    done = harness("report", out / "conformance.json", "--out", tmp_path / "again")
    assert done.returncode == 1 and "interrupted: a partial report" in done.stdout, done.stdout[-2000:] + done.stderr


def one_case(tmp_path, *extra) -> tuple[subprocess.CompletedProcess, dict, ET.Element]:
    """`conformance` on mlp_regression.tf_keras with TF Java 1.1.0: the run, its JSON report and its JUnit XML."""
    out = tmp_path / "out"
    done = harness("conformance", "--spec", "mlp_regression", "--route", "tf_keras", "--java", "1.1.0",
                   "--out", out, "--cache-dir", CACHE, *extra)
    assert (out / "conformance.json").exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads((out / "conformance.json").read_text()), ET.parse(out / "junit.xml").getroot()


def junit_failures(suites: ET.Element) -> dict[str, str]:
    """"<classname>.<name>" -> failure message, for every testcase with a <failure>."""
    return {f"{case.get('classname')}.{case.get('name')}": case.find("failure").get("message")
            for case in suites.iter("testcase") if case.find("failure") is not None}


@pytest.mark.java
def test_a_listed_failure_that_passes_fails_the_run(tmp_path):
    """XPASS: a case listed as an expected failure that passes must fail the run, in every output."""
    listed = tmp_path / "expectations"
    listed.mkdir()
    (listed / "expected_failures.toml").write_text(
        '[[expected_failure]]\nruntime = "java-1.1.0"\ncase = "mlp_regression.tf_keras.train.loss"\n'
        'error = "planted"\nreason = "listed on purpose: this case passes"\nlinks = ["https://example.org/planted"]\n')
    done, report, suites = one_case(tmp_path, "--expectations", listed)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert report["ok"] is False
    case = f"{TF_PYTHON}/java-1.1.0/mlp_regression.tf_keras.train.loss"
    # (the zoo's exports have no weights by value: those checks are N/A)
    assert {r["id"]: r["outcome"] for r in report["results"] if r["outcome"] not in ("PASS", "N/A")} == {case: "XPASS"}
    assert report["summary"].get("XPASS") == 1
    assert list(junit_failures(suites)) == [f"java-1.1.0.mlp_regression.tf_keras@{TF_PYTHON}.train.loss"]
    assert {s.get("name"): s.get("failures") for s in suites}["java-1.1.0"] == "1"
    assert f"XPASS {TF_PYTHON}/java-1.1.0/mlp_regression.tf_keras.train.loss" in done.stdout and "remove the entry" in done.stdout


@pytest.mark.java
def test_a_diverging_runtime_fails_the_run(tmp_path):
    """A runtime that trains wrong (a test-only planted fault: its loss comes back 2 ULP up) fails the command
    when held to 0 ulp (--fail-on-drift). TF Java 1.1.0 runs TF 2.18, not the exporter's 2.21: by default a
    difference that small is drift (reported with its ulps, not a failure), as rounding between TF builds is."""
    done, report, _ = one_case(tmp_path / "default", "--plant-fault", "java-loss-2ulp")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    drifted = {r["check"]: r for r in report["results"] if (r["comparison"] or {}).get("verdict") == "drift"}
    assert set(drifted) == {"train.loss", "restore.saver.loss", "restore.signature.loss"}, drifted
    assert {r["runtime"] for r in drifted.values()} == {"java-1.1.0"} and drifted["train.loss"]["comparison"]["max_ulp"] == 2
    assert f"exports by {TF_PYTHON} in java-1.1.0: 1 drifted, at most 2 ulp" in done.stdout

    done, report, suites = one_case(tmp_path, "--plant-fault", "java-loss-2ulp", "--fail-on-drift")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert report["ok"] is False and report["environment"]["planted_fault"] == "java-loss-2ulp"
    failed = {r["check"]: r for r in report["results"] if r["outcome"] not in ("PASS", "N/A")}
    assert {r["runtime"] for r in failed.values()} == {"java-1.1.0"}  # the other runtimes are untouched
    assert set(failed) == {"train.loss", "restore.saver.loss", "restore.signature.loss"}, failed
    loss = failed["train.loss"]
    assert loss["outcome"] == "FAIL" and loss["comparison"]["max_ulp"] == 2 and "first: step 0" in loss["detail"]
    assert set(junit_failures(suites)) == {f"java-1.1.0.mlp_regression.tf_keras@{TF_PYTHON}.{c}" for c in failed}
    assert "test-only fault planted: java-loss-2ulp" in done.stderr


def test_expectations_folder_that_does_not_exist(tmp_path):
    done = harness("conformance", "--spec", "mlp_regression", "--expectations", tmp_path / "nope", "--out", tmp_path)
    assert done.returncode == 2
    assert f"{tmp_path / 'nope'}: expectations folder does not exist" in done.stderr


CROSS_VERSION = ("conformance", "--spec", "mlp_regression", "--route", "tf_keras", "--route", "tfkeras_module",
                 "--tf", "2.15.1", "--tf", TF_PYTHON, "--java", "1.0.0", "--java", "1.1.0", "--cache-dir", CACHE)


@pytest.fixture(scope="module")
def cross_version(tmp_path_factory):
    """(report, out) of one run of the cross-version cells: 2 exporters x 2 routes x 6 runtimes."""
    out = tmp_path_factory.mktemp("cross-version")
    done = harness(*CROSS_VERSION, "--out", out)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads((out / "conformance.json").read_text()), out


@pytest.mark.java
def test_cross_version_cells(cross_version):
    """TF 2.15.1 exports in TF 2.21 and TF Java 1.1.0; TF 2.21 exports in TF Java 1.0.0 (TF 2.16) and TF 2.15.1:
    and the seed article's authoring (tfkeras_module) breaking from Keras 2 (2.15) to Keras 3 (2.21)."""
    report, _ = cross_version
    outcome = {r["id"]: r for r in report["results"]}
    old, new = "2.15.1", TF_PYTHON
    for runtime in (f"python-{new}", f"python-session-{new}", "java-1.1.0", "java-1.0.0"):  # Keras 2: trains everywhere
        for check in ("train.loss", "checkpoint.saver", "resume.variables"):
            result = outcome[f"{old}/{runtime}/mlp_regression.tfkeras_module.{check}"]
            assert result["outcome"] == "PASS", result
    for runtime in (f"python-session-{old}", f"python-session-{new}", "java-1.1.0", "java-1.0.0"):  # Keras 3: breaks
        result = outcome[f"{new}/{runtime}/mlp_regression.tfkeras_module.train.loss"]
        assert result["outcome"] == "XFAIL" and "Could not find variable" in result["detail"], result
    for runtime in ("java-1.0.0", f"python-{old}", f"python-session-{old}"):  # forward: a 2.21 export, older runtimes
        result = outcome[f"{new}/{runtime}/mlp_regression.tf_keras.train.loss"]
        assert result["outcome"] == "PASS", result
    assert {(d["exporter"], d["runtime"]) for d in report["drift"]} >= {(old, f"python-{new}"), (new, "java-1.0.0")}


@pytest.mark.java
def test_shards_merge_into_the_unsharded_report(cross_version, tmp_path):
    """The cross-version run in two shards (the CI workflow's fan-out), merged: the unsharded report."""
    report, out = cross_version
    shards = [tmp_path / f"shard{k}" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        done = harness(*CROSS_VERSION, "--shard", f"{k}/2", "--out", shard)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    cases = [{r["case"] for r in json.loads((s / "conformance.json").read_text())["results"] if r["case"]} for s in shards]
    assert cases[0] and cases[1] and not cases[0] & cases[1]  # each shard ran cases of its own
    done = harness("merge", *(s / "conformance.json" for s in shards), "--out", tmp_path / "merged")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    merged = json.loads((tmp_path / "merged" / "conformance.json").read_text())
    assert reproducible(merged, *shards) == reproducible(report, out)

