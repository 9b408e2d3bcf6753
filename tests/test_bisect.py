"""bisect: the pure search, the search per check on a planted break, and the CLI with a fake release step."""

import json
import math
import subprocess
from pathlib import Path

import pytest

from harness.cli import main as cli
from harness.runs import bisect, venvs
from harness.testing.faults import RUNTIME_FAULTS

NIGHTLIES = [f"2.23.0.dev202610{day:02}" for day in range(1, 21)]  # oldest first
FAULT = RUNTIME_FAULTS["java-stale-batch"]  # a fault kind, planted to start failing from a given nightly
CHECK = f"CANDIDATE/{FAULT.runtime}-1.1.0/{'.'.join(FAULT.cases[0])}.{FAULT.checks[0]}"  # as release.json names it
OTHER = "CANDIDATE/python-CANDIDATE/cnn.tf_keras.checkpoint.saver"


@pytest.mark.parametrize("first", range(len(NIGHTLIES)))
def test_first_bad_finds_every_position_in_log2_steps(first):
    asked = []
    found, steps = bisect.first_bad(NIGHTLIES, lambda v: asked.append(v) or NIGHTLIES.index(v) >= first)
    assert found == first
    assert steps == len(asked) <= math.ceil(math.log2(len(NIGHTLIES)))
    assert NIGHTLIES[-1] not in asked  # the bad end is known bad: never asked again


def planted(breaks: dict[str, str]):
    """failing(version): the planted checks, each from its version on."""
    return lambda version: {check for check, since in breaks.items() if version >= since}


def test_bisect_finds_the_version_a_planted_break_starts_from_for_each_check():
    breaks = {CHECK: NIGHTLIES[7], OTHER: NIGHTLIES[15]}
    found = bisect.bisect("2.21.0", NIGHTLIES[-1], ["2.20.0.dev20250101", *NIGHTLIES], planted(breaks))
    assert found.nightlies == NIGHTLIES  # only those after GOOD
    assert {c: f["first_bad"] for c, f in found.found.items()} == breaks
    assert found.found[CHECK]["last_good"] == NIGHTLIES[6] and found.found[CHECK]["first_bad_date"] == "2026-10-08"
    versions = [s["version"] for s in found.steps]
    assert len(versions) == len(set(versions)) <= 2 * math.ceil(math.log2(len(NIGHTLIES))) + 1  # each run once
    assert "first bad 2.23.0.dev20261008 (2026-10-08)" in bisect.summary(found)


def test_a_break_in_the_first_nightly_has_the_good_release_as_last_good():
    found = bisect.bisect("2.21.0", NIGHTLIES[-1], NIGHTLIES, planted({CHECK: NIGHTLIES[0]}))
    assert found.found[CHECK] == {"last_good": "2.21.0", "last_good_date": None,
                                  "first_bad": NIGHTLIES[0], "first_bad_date": "2026-10-01"}


def test_dates_name_the_nightly_of_that_day_and_anything_else_is_a_clear_error():
    assert bisect.resolve("2026-10-08", NIGHTLIES[::-1], ["2.21.0"]) == NIGHTLIES[7]
    assert bisect.resolve("2.21.0", NIGHTLIES, ["2.21.0"]) == "2.21.0"
    with pytest.raises(cli.HarnessError, match="no tf-nightly dated 2026-11-30"):
        bisect.resolve("2026-11-30", NIGHTLIES, ["2.21.0"])
    with pytest.raises(cli.HarnessError, match="'2.99.0' is neither a date"):
        bisect.resolve("2.99.0", NIGHTLIES, ["2.21.0"])


def test_the_cli_runs_a_release_per_step_narrowed_to_the_failing_cases(tmp_path, monkeypatch, capsys):
    """End to end with a fake release step (a real one is a TensorFlow per nightly): the planted break is
    found, bisect.json says so, and every step after BAD's runs only the failing check's spec and route."""
    monkeypatch.setattr(venvs, "installable", lambda cache_dir, package="tensorflow": NIGHTLIES[::-1])
    monkeypatch.setattr(venvs, "available", lambda cache_dir, package="tensorflow": ["2.22.0rc0", "2.21.0"])
    breaks = planted({CHECK: NIGHTLIES[11]})
    commands = []
    real_run = subprocess.run

    def fake_release(command, **kwargs):
        if command[1:4] != ["-m", "harness", "release"]:
            return real_run(command, **kwargs)
        commands.append(command)
        version, out = command[4], Path(command[command.index("--out") + 1])
        out.mkdir(parents=True)
        (out / "release.json").write_text(json.dumps({"installs": True, "new_failure_checks": sorted(breaks(version))}))
        return subprocess.CompletedProcess(command, 1 if breaks(version) else 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_release)
    status = cli.main(["bisect", "--out", str(tmp_path), "--cache-dir", str(tmp_path), "--spec", "mlp_regression"])
    assert status == 1
    report = json.loads((tmp_path / "bisect.json").read_text())
    assert report["good"] == "2.21.0" and report["bad"] == NIGHTLIES[-1]  # the defaults: newest release and nightly
    assert report["found"][CHECK]["first_bad"] == NIGHTLIES[11] and report["step_count"] == len(commands)
    assert commands[0][4] == NIGHTLIES[-1] and commands[0][-2:] == ["--spec", "mlp_regression"]
    assert all(c[-4:] == ["--spec", "mlp_regression", "--route", "tf_keras"] for c in commands[1:])
    assert all(c[c.index("--baseline") + 1] == "2.21.0" for c in commands)
    assert "first bad 2.23.0.dev20261012 (2026-10-12)" in capsys.readouterr().out


def test_the_cli_refuses_a_good_not_older_than_bad_before_any_step(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(venvs, "installable", lambda cache_dir, package="tensorflow": NIGHTLIES[::-1])
    monkeypatch.setattr(venvs, "available", lambda cache_dir, package="tensorflow": ["2.21.0"])
    assert cli.main(["bisect", "2026-10-09", "2026-10-02", "--out", str(tmp_path)]) == 2
    assert "GOOD 2.23.0.dev20261009 is not older than BAD 2.23.0.dev20261002" in capsys.readouterr().err
