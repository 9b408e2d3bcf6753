"""An export the exporter cannot build is a result of the run (a failed `export` check in that exporter's
row), never the end of it: one line that says what failed, the whole output in a log it names."""

import argparse
import json
import stat
from pathlib import Path

import pytest

from harness.cli import main as cli
from harness.exports import bundle, spec
from harness.errors import ExportFailed
from harness.runs.runner import BLOCKED

# What a TF Python that cannot export prints: its own log lines first, then the traceback.
NOISE = """\
I0000 00:00:1796165370.764892    4071 port.cc:153] oneDNN custom operations are on.
E0000 00:00:1796165816.381059    4950 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)
Traceback (most recent call last):
  File "/work/harness/exports/routes/keras_models.py", line 68, in is_keras3
    return int(version(package).split(".")[0]) >= 3
importlib.metadata.PackageNotFoundError: No package metadata was found for keras
"""


@pytest.fixture
def failing_exporter(tmp_path, monkeypatch):
    """An interpreter that answers what it imports (a TF with Keras 3) and fails every export as above."""
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    modules = {"tensorflow": "2.99.0rc0", "keras": "3.99.0", "tf_keras": None, "numpy": "2.0.0"}
    python.write_text(f"""#!/bin/sh
case "$*" in
  *export_worker*) cat >/dev/null; printf '%s' '{NOISE}' >&2; exit 1 ;;
  *) echo '{json.dumps(modules)}' ;;
esac
""")
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(bundle, "_exporter_interpreter", lambda version, cache_dir: python)
    return python


def test_a_failed_export_is_one_line_naming_its_log_which_holds_everything(failing_exporter, tmp_path):
    log = tmp_path / "logs" / "mlp_regression.keras3_archive.log"
    with pytest.raises(ExportFailed) as raised:
        bundle.build(spec.find("mlp_regression"), "keras3_archive", tmp_path / "exports", "2.99.0rc0", log)
    message = str(raised.value)
    assert "\n" not in message
    assert message == ("exporting mlp_regression by keras3_archive with TF 2.99.0rc0 failed: "
                       "importlib.metadata.PackageNotFoundError: No package metadata was found for keras "
                       f"(log: {log})")
    assert NOISE in log.read_text()  # TensorFlow's lines and the traceback: in the log, not the message
    assert not any(p.name.startswith(".") for p in (tmp_path / "exports").iterdir())  # no half-built entry left


def test_the_run_goes_on_the_failed_export_fails_in_its_exporters_row_and_blocks_the_others(monkeypatch, tmp_path):
    real = bundle.build

    def build(s, route, cache_dir, tf_version=None, log=None):
        if route == "raw_module":
            raise ExportFailed(f"exporting {s.name} by {route} with TF {tf_version} failed: ValueError: planted (log: {log})")
        return real(s, route, cache_dir, tf_version, log)

    monkeypatch.setattr(bundle, "build", build)
    args = argparse.Namespace(spec=["mlp_regression"], route=["raw_module", "tf_keras"], all=False,
                              cache_dir=Path(__file__).resolve().parent.parent / ".cache", jobs=1, out=tmp_path)
    tf = "2.21.0"
    names = ["python-2.21.0", "python-session-2.21.0", "java-1.1.0"]
    exports, not_run = cli._exports(args, cli._cases(args, [tf]), names)
    assert [e.name for e in exports] == ["mlp_regression.tf_keras"]  # the other export still runs
    by = {r.runtime: r for r in not_run}
    assert [(r.case, r.check, r.exporter) for r in not_run] == [("mlp_regression.raw_module", "export", tf)] * 3
    assert by["python-2.21.0"].passed is False and by["python-2.21.0"].outcome == ""  # judged like any check
    assert "ValueError: planted (log: " in by["python-2.21.0"].detail
    assert str(tmp_path / "logs" / "exports" / tf / "mlp_regression.raw_module.log") in by["python-2.21.0"].detail
    assert all(by[n].outcome == BLOCKED and by[n].detail == "blocked by mlp_regression.raw_module.export"
               for n in names[1:])
