"""The wheel as users take it: built from this checkout, installed non-editable into a fresh virtualenv,
run from a folder outside the checkout: `--version`, `certify` and `conformance` work, and write nothing
into site-packages (caches and reports go to $TF_CONFORMANCE_CACHE, or the user's cache folder)."""

import json
import shutil
import subprocess
import time
import zipfile

import pytest

from harness import __version__, resources

from .conftest import ROOT
from .installed import INSTALLED_CACHE, build_wheel, environment, fresh_venv, install, site_packages, snapshot


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh virtualenv with the wheel installed (TensorFlow hard-linked from uv's cache): its bin folder."""
    python = fresh_venv(tmp_path_factory.mktemp("venv") / "venv")
    install(python, wheel)
    return python.parent


def run(venv, *args, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run([venv / "tf-training-conformance", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=env or environment(venv), timeout=timeout)
    print(f"tf-training-conformance {' '.join(map(str, args[:2]))}: exit {done.returncode} "
          f"({time.monotonic() - started:.1f} s)")
    return done


def test_the_wheel_holds_every_module_and_the_run_time_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "harness").rglob("*.py")}
    assert modules - names == set()
    for folder, pattern in (("specs", "*.toml"), ("expectations", "*.toml"), ("c", "*.[ch]"), ("java/src", "**/*.java"),
                            ("java/worker", "**/*.java")):
        files = {f"harness/_data/{p.relative_to(ROOT)}" for p in (ROOT / folder).glob(pattern)}
        assert files and files - names == set(), folder
    assert "harness/_data/java/pom.xml" in names
    assert not [n for n in names if "/target/" in n or "__pycache__" in n]


def test_version_and_where_an_installed_harness_keeps_its_files(venv, tmp_path):
    done = run(venv, "--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"tf-training-conformance {__version__}", done
    env = environment(venv)
    del env["TF_CONFORMANCE_CACHE"]
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")  # platformdirs' user cache folder on Linux
    where = subprocess.run([venv / "python", "-c", "from harness import resources as r; "
                            "print(r.CHECKOUT, r.cache_dir(), r.reports_dir(), r.data('specs'), sep='\\n')"],
                           cwd=tmp_path, capture_output=True, text=True, env=env, check=True).stdout.split("\n")
    site = site_packages(venv / "python")
    assert where[:4] == ["None", str(tmp_path / "xdg" / resources.NAME), str(tmp_path / "xdg" / resources.NAME / "reports"),
                         str(site / "harness" / "_data" / "specs")], where
    # The checkout reads its own folders, and keeps its .cache/ and reports/.
    assert resources.CHECKOUT == ROOT and resources.data("specs") == ROOT / "specs"


@pytest.mark.java
def test_certify_and_conformance_from_the_wheel_write_nothing_into_site_packages(venv, bundles, tmp_path):
    site = site_packages(venv / "python")
    before = snapshot(site)
    export = tmp_path / "my-export"
    shutil.copytree(bundles["tf_keras"].saved_model, export)
    # certify: Python, TF Java through JPype, plain Java (a Maven build, from a copy in the cache), TFLite 2.21.0.
    done = run(venv, "certify", export, "--out", tmp_path / "certificate", "--on-device", "2.21.0", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    certificate = json.loads((tmp_path / "certificate" / "certificate.json").read_text())
    assert certificate["ok"] and set(certificate["runtimes"]) >= {"java-1.1.0", "java-plain-1.1.0"}, certificate["runtimes"]
    # conformance: the spec from the wheel's specs/, judged by its expectations/; reports in the cache by default.
    reports = INSTALLED_CACHE / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    done = run(venv, "conformance", "--spec", "mlp_regression", "--route", "tf_keras", "--java", "1.1.0", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    report = json.loads((reports / "conformance.json").read_text())
    assert report["ok"] and {r["case"] for r in report["results"] if r["case"]} == {"mlp_regression.tf_keras"}
    assert {r["runtime"] for r in report["results"]} >= {"python-2.21.0", "java-1.1.0"}
    assert snapshot(site) == before  # not one file added, changed or removed
    assert list((INSTALLED_CACHE / "exports").glob("mlp_regression.tf_keras.*/saved_model"))  # exported into the cache
    assert list(INSTALLED_CACHE.glob("java-project-*/pom.xml")), "Maven ran on the package's own java/"
