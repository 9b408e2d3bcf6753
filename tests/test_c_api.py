"""The TF C API runtime (c/train_export.c, harness/runtimes/c_api.py) trains an export exactly as the TF1 session loader does."""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest

from harness.runtimes import c_api, plain_java
from harness.plan import checkpoints, compare
from harness import runtimes
from harness.errors import HarnessError
from harness.plan.interface import ZOO, Interface
from harness.plan.trajectory import Restore
from harness.runs.versions import TF_PYTHON

from .conftest import CACHE
from .helpers import fingerprint


@pytest.fixture(scope="module")
def session_loader(tmp_path_factory):
    """python-session-<TF_PYTHON>: the C++ SavedModel loader the C API runs, driven from TF Python."""
    runtime = runtimes.single(f"python-session-{TF_PYTHON}", CACHE, tmp_path_factory.mktemp("session-logs"))
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture(scope="module")
def c_runtime(tmp_path_factory):
    runtime = runtimes.single(f"c-{TF_PYTHON}", CACHE, tmp_path_factory.mktemp("c-logs"))
    facts = runtime.start()
    assert facts["tensorflow"] == TF_PYTHON  # TF_Version() of the library the binary loads
    yield runtime
    runtime.stop()


def assert_same(expected, actual, what: str) -> None:
    if isinstance(expected, dict):
        comparison = compare.compare(expected, actual)
    else:  # a checkpoint prefix
        values = checkpoints.comparable(expected, actual)
        assert values[0], f"{what}: {expected} holds no variables"
        comparison = compare.compare(*values)
    assert comparison.verdict == compare.BIT_EXACT, f"{what}: {comparison.summary()}"


def test_mlp_trains_restores_and_saves_bit_exactly_as_the_session_loader(session_loader, c_runtime, bundles, tmp_path):
    export = bundles["tf_keras"]
    data, steps, more = export.data(), export.manifest["steps"], export.manifest["resume_steps"]
    untouched = fingerprint(export.root)
    first = session_loader.run(export.saved_model, data, range(steps), tmp_path / "session-first")
    assert first.failure is None, first.failure
    restore = Restore((steps, steps + more), first.saver_checkpoint, first.signature_checkpoint)
    reference = session_loader.run(export.saved_model, data, range(steps), tmp_path / "session", ZOO, restore)
    got = c_runtime.run(export.saved_model, data, range(steps), tmp_path / "c", ZOO, restore)

    assert fingerprint(export.root) == untouched  # everything goes to the workdir, never the export
    assert got.failure is None, got.failure
    assert len(got.losses) == steps and got.predictions.keys() == reference.predictions.keys()
    assert_same(compare.steps(reference.losses), compare.steps(got.losses), "train.loss")
    assert_same(reference.predictions, got.predictions, "predict")
    assert_same(reference.saver_checkpoint, got.saver_checkpoint, "checkpoint.saver")
    assert_same(reference.signature_checkpoint, got.signature_checkpoint, "checkpoint.signature")
    assert set(got.restored) == {"saver", "signature"}
    for way, part in got.restored.items():
        want = reference.restored[way]
        assert part.failure is None and want.failure is None, (part.failure, want.failure)
        assert part.first_step == steps and len(part.losses) == more
        assert_same(compare.steps(want.losses, steps), compare.steps(part.losses, steps), f"restore.{way}.loss")
        saved = (want.saver_checkpoint, part.saver_checkpoint) if way == "saver" else \
            (want.signature_checkpoint, part.signature_checkpoint)
        assert_same(*saved, f"restore.{way}.variables")
    assert got.notes["unreleased_native_pointers"] == 0  # every TF_Tensor the program held was deleted
    assert got.notes["tensorflow"] == TF_PYTHON

    # The checkpoints hold trained variables, not copies of the export's: the comparison can fail.
    initial, trained = checkpoints.comparable(export.saved_model / "variables" / "variables", got.saver_checkpoint)
    assert initial.keys() == trained.keys() and compare.compare(initial, trained).verdict == compare.DIVERGED
    # The command reruns as is, without Python, and writes the same losses again; its summary's decimal
    # losses parse back to the very bits of losses.npy.
    done = subprocess.run(shlex.split(got.notes["command"]), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    again = np.load(summary["files"]["losses"])
    assert again.tobytes() == np.array(got.losses).tobytes()
    assert np.array(summary["losses"], dtype=again.dtype).tobytes() == again.tobytes()
    assert summary["resolved"]["train"]["outputs"]["loss"]  # the tensor the MetaGraphDef named for it


def test_binary_is_built_once_per_version_and_source(c_runtime):
    binary = c_api.build(TF_PYTHON, CACHE)
    before = binary.stat().st_mtime_ns
    assert c_api.build(TF_PYTHON, CACHE) == binary and binary.stat().st_mtime_ns == before
    assert binary.parent.name.startswith(f"{TF_PYTHON}-") and (binary.parent / "build.json").exists()


def test_missing_compiler_is_one_line_naming_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(HarnessError, match=r"^CC=.*no-such-cc: no such C compiler.*apt-get install -y gcc") as e:
        c_api.build(TF_PYTHON, tmp_path / "cache")  # a fresh cache: nothing built to reuse
    assert "\n" not in str(e.value)
    monkeypatch.delenv("CC")
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcc, no cc
    with pytest.raises(HarnessError, match=r"^no C compiler \(gcc or cc on PATH\).*apt-get install -y gcc") as e:
        c_api.build(TF_PYTHON, tmp_path / "cache")
    assert "\n" not in str(e.value)


def test_tensorflow_without_c_headers_is_named(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    for name in c_api.LIBRARIES:
        (fake / name).write_bytes(b"")
    with pytest.raises(HarnessError, match=re.escape(f"{fake}: TensorFlow 9.9.9 ships no C API headers")):
        c_api.build_against(fake, "9.9.9", tmp_path / "cache")


def test_bad_tag_set_is_a_load_failure(c_runtime, bundles, tmp_path):
    export = bundles["tf_keras"]
    interface = Interface(tags=("no_such_tag",))
    got = c_runtime.run(export.saved_model, export.data(), range(2), tmp_path, interface,
                        Restore((2, 3), "unused", "unused"))
    assert got.failure is not None and got.failure.stage == "load", got.failure
    assert "cannot load the SavedModel (tags no_such_tag)" in got.failure.error
    assert got.failure.error.count("\n") == 0 and not got.losses and not got.restored


def test_unreadable_checkpoint_is_a_restore_failure_of_that_part(c_runtime, bundles, tmp_path):
    export = bundles["tf_keras"]
    missing = tmp_path / "nothing-saved" / "variables"
    got = c_runtime.run(export.saved_model, export.data(), range(2), tmp_path / "c", ZOO, Restore((2, 4), str(missing)))
    assert got.failure is None and len(got.losses) == 2 and set(got.restored) == {"saver"}
    part = got.restored["saver"]
    assert part.failure is not None and part.failure.stage == "restore", part.failure
    assert str(missing) in part.failure.error and "saver_def's restore op" in part.failure.error
    assert not part.losses and part.saver_checkpoint is None


def test_fails_where_the_session_loader_is_expected_to(c_runtime, mlp_spec, tmp_path):
    """Keras 3 in a plain tf.Module: the session loader's known failure, and its expectation explains the C
    API's too (TF's error names as TF Python spells them): python-session-V's file can stand in for c-V's."""
    from harness.exports import bundle
    from harness.runs import expectations

    export = bundle.build(mlp_spec, "keras3_module", CACHE / "exports")
    got = c_runtime.run(export.saved_model, export.data(), range(2), tmp_path)
    assert got.failure is not None and got.failure.stage == "train", got.failure
    listed = expectations.load(f"c-{TF_PYTHON}", stand_in=f"python-session-{TF_PYTHON}")
    test_id = f"{export.name}.train.loss"
    entry = next(e for e in listed.failures if e.matches(test_id, TF_PYTHON))
    assert entry.explains(f"failed at train: {got.failure.error}"), got.failure.error


def test_timeout_names_the_stage(c_runtime, bundles, tmp_path):
    export = bundles["tf_keras"]
    slow = runtimes.single(f"c-{TF_PYTHON}", CACHE, tmp_path / "logs", call_timeout=0.05)
    got = slow.run(export.saved_model, export.data(), range(2), tmp_path)
    assert got.failure is not None and got.failure.error.startswith("timeout: train_export gave no answer within 0.05 s")


def truncated(x):
    return x, lambda raw: raw[:-10]


def wrong_dtype(x):
    return x.astype(np.float64), None


def unsupported_dtype(x):
    return x.astype(">f4"), None


@pytest.mark.parametrize("malform", [truncated, wrong_dtype, unsupported_dtype])
def test_malformed_npy_is_named_and_nothing_runs(c_runtime, bundles, tmp_path, malform):
    export = bundles["tf_keras"]
    inputs = tmp_path / "inputs"
    plain_java.write_inputs(export.data(), ZOO, range(0, 2), inputs)
    bad = inputs / "train.x.npy"
    array, change = malform(np.load(bad))
    np.save(bad, array)
    if change:
        bad.write_bytes(change(bad.read_bytes()))
    done = subprocess.run([str(c_api.build(TF_PYTHON, CACHE)), "--export", str(export.saved_model), "--inputs",
                           str(inputs), "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 2
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith(f"{c_api.ERROR_MARK}{bad}: "), message
    assert not (tmp_path / "out").exists()


def test_missing_export_is_bad_input(bundles, tmp_path):
    missing = tmp_path / "no-such-export"
    with pytest.raises(HarnessError, match=re.escape(f"{missing}: export directory does not exist")):
        c_api.run(missing, bundles["tf_keras"].data(), ZOO, range(0, 2), tmp_path / "work", TF_PYTHON, CACHE)


def test_a_tf_with_no_tf_java_release_trains_bit_exactly(tmp_path):
    """TF 2.15.1 (no TF Java runs it): its C API against its own session loader, on an export it wrote."""
    from harness.exports import bundle, spec

    version = "2.15.1"  # its virtualenv is built from uv's cache when missing (venvs.interpreter)
    export = bundle.build(spec.find("mlp_regression"), "tf_keras", CACHE / "exports", version)
    data, steps = export.data(), range(export.manifest["steps"])
    session = runtimes.single(f"python-session-{version}", CACHE, tmp_path / "logs")
    try:
        reference = session.run(export.saved_model, data, steps, tmp_path / "session")
    finally:
        session.stop()
    got = runtimes.single(f"c-{version}", CACHE, tmp_path / "logs").run(export.saved_model, data, steps, tmp_path / "c")
    assert reference.failure is None and got.failure is None, (reference.failure, got.failure)
    assert got.notes["tensorflow"] == version
    assert_same(compare.steps(reference.losses), compare.steps(got.losses), "train.loss")
    assert_same(reference.predictions, got.predictions, "predict")
    assert_same(reference.saver_checkpoint, got.saver_checkpoint, "checkpoint.saver")
    assert_same(reference.signature_checkpoint, got.signature_checkpoint, "checkpoint.signature")
    assert Path(got.saver_checkpoint).parent.parent == tmp_path / "c"
