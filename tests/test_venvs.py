"""Other TF Python versions: their virtualenvs (harness/runs/venvs.py), exports by them, routes they cannot author.

Some tests ask the package index which versions exist (PyPI is reachable in CI) and one builds the
TF 2.15.1 virtualenv (from uv's cache after the first time) and exports with it.
"""

import re
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from harness.exports import bundle, data, routes
from harness.runs import venvs, versions
from harness.errors import HarnessError, NotApplicable

from .conftest import CACHE, ROOT

KERAS2_TF = "2.15.1"  # the matrix's Keras 2 exporter


def requirement(pins: list[str], name: str) -> Requirement | None:
    return next((r for r in map(Requirement, pins) if r.name == name), None)


# -- which versions exist ------------------------------------------------------------------------

def test_unknown_version_names_it_and_lists_the_versions_that_exist_newest_first(tmp_path):
    with pytest.raises(HarnessError) as raised:
        venvs.interpreter("2.99.0", tmp_path)
    message = str(raised.value)
    assert "'2.99.0'" in message
    listed = message.split("newest first: ")[1].split(", ")
    assert versions.TF_PYTHON in listed and KERAS2_TF in listed
    parsed = [Version(v) for v in listed]
    assert parsed == sorted(parsed, reverse=True)
    assert any(v.is_prerelease for v in parsed)  # pre-releases are versions that exist too
    assert not list(tmp_path.glob("venvs/tf-*"))  # nothing built


def test_a_string_that_is_no_version_gets_the_same_listing(tmp_path):
    with pytest.raises(HarnessError, match=r"'newest'.*newest first: .*" + re.escape(versions.TF_PYTHON)):
        venvs.interpreter("newest", tmp_path)


def test_a_version_without_a_wheel_for_this_python_is_a_clear_error(tmp_path):
    known = venvs.available(tmp_path)
    installable = venvs.installable(tmp_path)
    missing = [v for v in known if v not in installable]
    assert missing, "every TensorFlow on the index has a wheel for this Python: nothing to test"
    with pytest.raises(HarnessError, match=rf"TensorFlow {re.escape(missing[0])} has no wheel for CPython "
                                           rf"{sys.version_info.major}\.{sys.version_info.minor}"):
        venvs.interpreter(missing[0], tmp_path)


def test_the_cli_exits_2_with_the_listing_for_an_unknown_version(tmp_path):
    done = subprocess.run([sys.executable, "-m", "harness.runs.venvs", "2.99.0", "--cache-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert "'2.99.0'" in done.stderr and versions.TF_PYTHON in done.stderr


# -- pins and the matrix ---------------------------------------------------------------------------

def test_the_matrix_is_ascending_final_releases_and_holds_the_harness_version_and_a_keras2_one():
    matrix = [Version(v) for v in versions.TF_PYTHON_MATRIX]
    assert matrix == sorted(set(matrix))
    assert not any(v.is_prerelease for v in matrix)
    assert Version(versions.TF_PYTHON) in matrix
    assert any((v.major, v.minor) < (2, 16) for v in matrix), "no Keras 2 exporter in the matrix"


@pytest.mark.parametrize("tf_version", versions.TF_PYTHON_MATRIX)
def test_pins_name_that_tensorflow_and_the_tf_keras_of_its_minor(tf_version):
    pins = venvs.pins(tf_version)
    v = Version(tf_version)
    assert requirement(pins, "tensorflow").specifier.contains(tf_version)
    assert list(requirement(pins, "tensorflow").specifier)[0].operator == "=="
    tf_keras = requirement(pins, "tf-keras").specifier
    assert tf_keras.contains(f"{v.major}.{v.minor}.0") and tf_keras.contains(f"{v.major}.{v.minor}.9")
    assert not tf_keras.contains(f"{v.major}.{v.minor + 1}.0") and not tf_keras.contains(f"{v.major}.{v.minor - 1}.0")
    keras = requirement(pins, "keras")
    if (v.major, v.minor) < (2, 16):  # tf.keras is the keras package 2.x of the same minor
        assert keras.specifier.contains(f"{v.major}.{v.minor}.0") and not keras.specifier.contains("3.0.0")
        assert not requirement(pins, "numpy").specifier.contains("2.0.0")
    else:  # Keras 3, as TensorFlow wants it
        assert keras is None


def test_pins_of_the_harness_version_agree_with_pyproject():
    deps = [Requirement(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    pinned = {d.name: d for d in deps}
    assert {d.name for d in deps} >= {"uv", "packaging"}
    for name in ("tensorflow", "tf-keras"):
        (exact,) = [s.version for s in pinned[name].specifier if s.operator == "=="]
        assert requirement(venvs.pins(versions.TF_PYTHON), name).specifier.contains(exact)


def test_pins_of_a_pre_release_admit_the_pre_releases_of_its_tf_keras():
    tf_keras = requirement(venvs.pins("2.22.0rc0"), "tf-keras").specifier
    assert tf_keras.contains("2.22.0rc1", prereleases=True) and tf_keras.contains("2.22.0")
    assert not tf_keras.contains("2.21.0")


def test_previous_release_is_the_newest_final_release_before():
    listing = ["2.22.0rc0", "2.21.0", "2.21.0rc1", "2.20.0", "2.20.0rc0", "2.19.1", "2.15.0.post1", "2.15.0"]
    assert venvs.previous_release("2.22.0rc0", listing) == "2.21.0"
    assert venvs.previous_release("2.22.0", listing) == "2.21.0"
    assert venvs.previous_release("2.21.0", listing) == "2.20.0"
    assert venvs.previous_release("2.20.0", listing) == "2.19.1"
    assert venvs.previous_release("2.15.1", listing) == "2.15.0.post1"
    with pytest.raises(HarnessError, match="no release before 2.15.0"):
        venvs.previous_release("2.15.0", listing)


def test_the_previous_releases_named_in_versions_py_are_what_the_index_says(tmp_path):
    source = (ROOT / "harness" / "runs" / "versions.py").read_text()
    named = dict(re.findall(r'^\s*"([^"]+)",\s*#.*previous: ([0-9a-z.]+)', source, re.M))
    assert set(named) == set(versions.TF_PYTHON_MATRIX), "each matrix line names its previous release"
    existing = venvs.available(tmp_path)
    assert {v: venvs.previous_release(v, existing) for v in named} == named


# -- building: the stamp and the lock --------------------------------------------------------------

def fake_build(calls: list, delay: float = 0.0):
    def build(root, version, requirements, cache_dir):
        calls.append(version)
        time.sleep(delay)
        (root / "bin").mkdir(parents=True, exist_ok=True)
        (root / "bin" / "python").write_text("")
        (root / venvs.STAMP).write_text('{"format": %d, "tensorflow": "%s"}' % (venvs.FORMAT, version))
    return build


def test_a_virtualenv_without_its_stamp_is_rebuilt_and_concurrent_callers_build_it_once(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(venvs, "_build", fake_build(calls, delay=0.5))
    half_built = tmp_path / "venvs" / f"tf-{KERAS2_TF}-{venvs._digest(venvs.pins(KERAS2_TF))}"
    (half_built / "bin").mkdir(parents=True)
    (half_built / "bin" / "python").write_text("")  # an interpreter, no stamp: a build that died
    results = []
    threads = [threading.Thread(target=lambda: results.append(venvs.interpreter(KERAS2_TF, tmp_path))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [KERAS2_TF]
    assert results == [half_built / "bin" / "python"] * 3
    assert venvs.interpreter(KERAS2_TF, tmp_path) == half_built / "bin" / "python" and calls == [KERAS2_TF]


def test_the_harness_version_is_the_harness_interpreter(tmp_path):
    if venvs.harness_tf_version() != versions.TF_PYTHON:
        pytest.fail(f"the harness runs TF {venvs.harness_tf_version()}, not TF_PYTHON {versions.TF_PYTHON}")
    assert venvs.interpreter(versions.TF_PYTHON, tmp_path) == Path(sys.executable)
    assert not (tmp_path / "venvs").exists()



def test_packages_beside_the_harness_version_get_a_virtualenv_of_their_own_named_by_them(tmp_path, monkeypatch):
    """litert.py's: TF_PYTHON's pins and ai-edge-litert==X, never the harness's own interpreter."""
    built, make = [], fake_build([], 0)

    def build(root, version, requirements, cache_dir):
        built.append(requirements)
        make(root, version, requirements, cache_dir)

    monkeypatch.setattr(venvs, "_build", build)
    monkeypatch.setattr(venvs, "check_available", lambda version, cache_dir=None: None)
    beside = ("ai-edge-litert==2.3.0",)
    python = venvs.interpreter(versions.TF_PYTHON, tmp_path, beside)
    assert python != Path(sys.executable) and python.parent.parent.name.startswith(f"tf-{versions.TF_PYTHON}+ai-edge-litert-2.3.0-")
    assert built == [venvs.pins(versions.TF_PYTHON) + list(beside)]
    assert venvs.interpreter(versions.TF_PYTHON, tmp_path, beside) == python and len(built) == 1  # built once
    assert venvs.stamp(versions.TF_PYTHON, tmp_path, beside) is not None


# -- routes a version cannot author ----------------------------------------------------------------

KERAS2_MODULES = {"tensorflow": "2.15.1", "keras": "2.15.0", "tf_keras": "2.15.1"}  # as TF 2.15.1's venv imports them


@pytest.mark.parametrize("route", ["keras3_archive", "keras3_module"])
def test_keras3_routes_are_not_applicable_under_keras_2_with_the_reason(route):
    reason = routes.applicable(route, KERAS2_MODULES)
    assert reason is not None and KERAS2_TF in reason and "Keras 3" in reason and "2.15.0, Keras 2" in reason


def test_every_route_is_applicable_under_the_harness_version_and_the_others_under_2_15():
    assert all(routes.applicable(r, bundle.exporter_versions()) is None for r in routes.ROUTES)
    # tfkeras_module (tf.keras) is Keras 2 there, and applicable: it is the route that shows the break
    assert [r for r in routes.ROUTES if routes.applicable(r, KERAS2_MODULES) is None] == ["tf_keras", "tfkeras_module",
                                                                                          "raw_module", "tf1_graph"]
    with pytest.raises(HarnessError, match="not one of"):
        routes.applicable("keras4", KERAS2_MODULES)


def test_what_an_environment_does_not_import_decides_which_routes_it_authors():
    no_tf_keras = {"tensorflow": "2.22.0rc0", "keras": "3.16.0.dev2026102704", "tf_keras": None}
    assert routes.applicable("keras3_archive", no_tf_keras) is None
    assert "has no tf-keras (`import tf_keras` fails)" in routes.applicable("tf_keras", no_tf_keras)
    assert "has no Keras" in routes.applicable("keras3_module", {**no_tf_keras, "keras": None})


# -- a real release candidate: what its virtualenv imports ---------------------------------------

CANDIDATE = "2.22.0rc0"  # the TF release candidate PyPI serves (2026-12): Keras as keras-nightly, no tf-keras 2.22


@pytest.fixture(scope="module")
def candidate_python():
    return venvs.interpreter(CANDIDATE, CACHE)


def test_a_release_candidates_virtualenv_is_described_by_what_it_imports(candidate_python):
    found = venvs.modules(candidate_python)
    assert found["tensorflow"] == CANDIDATE  # tf.__version__ says 2.22.0-rc0: read canonically
    assert Version(found["keras"]).major == 3  # whatever distribution brought it (keras-nightly here)
    published = venvs.tf_keras_release(CANDIDATE)
    if published is None:  # tf-keras publishes after TF's releases: until then the route is not applicable
        assert found["tf_keras"] is None
        reason = routes.applicable("tf_keras", bundle.exporter_versions(candidate_python))
        assert reason.startswith(f"TF {CANDIDATE}'s environment has no tf-keras") and "has no tf-keras>=2.22.0rc0" in reason
    else:  # the day it is published, the virtualenv is rebuilt with it
        assert found["tf_keras"] == published
    assert routes.applicable("keras3_archive", bundle.exporter_versions(candidate_python)) is None
    assert venvs.stamp(CANDIDATE, CACHE)["modules"] == found  # recorded when built, by importing


# -- a real export by TF 2.15.1 ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def keras2_python():
    return venvs.interpreter(KERAS2_TF, CACHE)


def test_the_virtualenv_has_the_exporter_packages_and_not_the_harness_ones(keras2_python):
    assert keras2_python != Path(sys.executable)
    imported = venvs.modules(keras2_python)
    assert imported["tensorflow"] == KERAS2_TF
    for pin in map(Requirement, venvs.pins(KERAS2_TF)):
        module = {"tf-keras": "tf_keras"}.get(pin.name, pin.name)
        assert pin.specifier.contains(imported[module], prereleases=True), (pin, imported)
    for module in ("jpype", "pytest"):
        done = subprocess.run([str(keras2_python), "-I", "-c", f"import {module}"], capture_output=True)
        assert done.returncode != 0, f"{module} is installed in {keras2_python}"


def test_mlp_tf_keras_exported_by_tf_2_15_1_loads_and_trains_in_the_harness_tf(keras2_python, mlp_spec):
    import tensorflow as tf

    b = bundle.build(mlp_spec, "tf_keras", CACHE / "exports", tf_version=KERAS2_TF)
    assert (b.manifest["tensorflow"], b.manifest["tf_keras"]) == (KERAS2_TF, KERAS2_TF)
    assert Version(b.manifest["keras"]).major == 2
    assert b.manifest != bundle.build(mlp_spec, "tf_keras", CACHE / "exports").manifest  # its own cache key

    loaded = tf.saved_model.load(str(b.saved_model))  # written by 2.15.1, loaded by the harness's TF
    assert set(loaded.signatures) >= set(routes.SIGNATURES)
    feeds = b.data()

    def predict():
        return loaded.signatures["predict"](**{k: tf.constant(v) for k, v in data.batch(feeds, "predict").items()})["prediction"].numpy()

    before = predict()
    losses = [float(loaded.signatures["train"](**{k: tf.constant(v) for k, v in data.batch(feeds, "train", i).items()})["loss"])
              for i in range(b.manifest["steps"])]
    assert len(losses) == b.manifest["steps"] and np.all(np.isfinite(losses))
    assert np.all(np.isfinite(predict())) and not np.array_equal(before, predict())  # train moved the weights


def test_a_keras3_route_under_tf_2_15_1_raises_not_applicable(keras2_python, mlp_spec):
    with pytest.raises(NotApplicable, match="keras3_archive under TF 2.15.1: .*no Keras 3"):
        bundle.build(mlp_spec, "keras3_archive", CACHE / "exports", tf_version=KERAS2_TF)


# -- nightlies ---------------------------------------------------------------------------------------

NIGHTLY = "2.23.0.dev20261026"


def test_a_nightly_is_tf_nightly_with_the_tf_keras_nightly_dated_at_or_before_it():
    assert venvs.package_of(NIGHTLY) == "tf-nightly" and venvs.package_of("2.22.0rc0") == "tensorflow"
    assert requirement(venvs.pins(NIGHTLY), "tf-nightly").specifier == Requirement(f"x=={NIGHTLY}").specifier
    assert requirement(venvs.pins(NIGHTLY), "tensorflow") is None  # tf-nightly's own dependency brings keras-nightly
    tf_keras = requirement(venvs.pins(NIGHTLY), "tf-keras-nightly").specifier
    assert tf_keras.contains("2.23.0.dev2026102618", prereleases=True)  # the same day, with its hour
    assert not tf_keras.contains("2.23.0.dev2026102700", prereleases=True)  # the day after
    assert not tf_keras.contains("2.22.0.dev2026101709", prereleases=True)  # another minor


def test_a_nightlys_version_as_tensorflow_spells_it_is_that_nightly():
    assert venvs._same_version("2.23.0-dev20261026", NIGHTLY) and venvs._canonical("2.23.0-dev20261026") == NIGHTLY


def test_a_nightly_is_looked_up_among_the_nightlies_and_its_baseline_is_the_newest_release(tmp_path):
    nightlies = venvs.installable(tmp_path, venvs.NIGHTLY)
    assert venvs.newest_nightly(tmp_path) == nightlies[0] and Version(nightlies[0]).dev is not None
    venvs.check_available(nightlies[-1], tmp_path)  # no error: it is on the index
    with pytest.raises(HarnessError, match=r"'2.23.0.dev19990101' is not on .*\(tf-nightly\).*" + re.escape(nightlies[0])):
        venvs.check_available("2.23.0.dev19990101", tmp_path)
    releases = venvs.available(tmp_path)
    newest_final = next(v for v in releases if not Version(v).is_prerelease)
    assert venvs.previous_release(nightlies[0], releases) == newest_final


def test_a_nightlys_keras_nightly_is_the_newest_dated_at_or_before_it(tmp_path, monkeypatch):
    listed = ["3.16.0.dev2026102704", "3.16.0.dev2026102604", "3.16.0.dev2026102504", "3.15.0.dev2026100104"]
    monkeypatch.setattr(venvs, "available", lambda cache_dir=None, package="tensorflow":
                        listed if package == "keras-nightly" else [])
    assert venvs.keras_nightly_of(NIGHTLY, tmp_path) == "keras-nightly==3.16.0.dev2026102604"  # not the 27th's
    assert venvs.keras_nightly_of("2.23.0.dev20261001", tmp_path) == "keras-nightly==3.15.0.dev2026100104"
    assert venvs.keras_nightly_of("2.23.0.dev20260901", tmp_path) is None  # none so early: TF's dependency decides
    assert venvs.keras_nightly_of("2.21.0", tmp_path) is None  # a release brings its own Keras
    installed = []

    def run(command, what):
        installed.append(command)
        if "install" in command:
            raise HarnessError("stop: the command is what this test reads")

    monkeypatch.setattr(venvs, "_run", run)
    with pytest.raises(HarnessError, match="stop"):
        venvs._build(tmp_path / "venv", NIGHTLY, venvs.pins(NIGHTLY), tmp_path)
    assert "keras-nightly==3.16.0.dev2026102604" in installed[-1] and f"tf-nightly=={NIGHTLY}" in installed[-1]


def test_on_the_real_index_a_nightlys_keras_nightly_is_the_last_one_dated_by_then(tmp_path):
    chosen = Version(venvs.keras_nightly_of(NIGHTLY, tmp_path).split("==")[1])
    day = NIGHTLY.split("dev")[1]
    assert str(chosen.dev)[:8] <= day
    listed = [Version(v) for v in venvs.available(tmp_path, "keras-nightly")]
    assert not [v for v in listed if v > chosen and v.dev is not None and str(v.dev)[:8] <= day]
    assert [v for v in listed if v.dev is not None and str(v.dev)[:8] > day]  # later ones exist, and were left out
