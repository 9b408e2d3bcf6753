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


def test_an_unusable_middle_is_replaced_by_its_nearest_usable_neighbour():
    asked = []
    unusable, first = {NIGHTLIES[9]}, 14

    def verdict(version):
        asked.append(version)
        return None if version in unusable else NIGHTLIES.index(version) >= first

    low, high, skipped = bisect.bracket(NIGHTLIES, verdict)
    assert (low, high, skipped) == (first - 1, first, [])  # exact: the skipped one was not next to the break
    assert asked[:2] == [NIGHTLIES[9], NIGHTLIES[8]]
    assert len(asked) == len(set(asked))


def test_with_no_usable_version_left_between_the_range_brackets_the_skipped_ones():
    unusable = set(NIGHTLIES[9:11])
    low, high, skipped = bisect.bracket(NIGHTLIES, lambda v: None if v in unusable else NIGHTLIES.index(v) >= 11)
    assert (low, high, skipped) == (8, 11, NIGHTLIES[9:11])
    every_unusable = bisect.bracket(NIGHTLIES, lambda v: None if v != NIGHTLIES[-1] else True)
    assert every_unusable == (-1, len(NIGHTLIES) - 1, NIGHTLIES[:-1])  # GOOD to BAD, nothing between known


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
                                  "first_bad": NIGHTLIES[0], "first_bad_date": "2026-10-01", "skipped": []}


def test_nightlies_that_do_not_install_are_skipped_not_counted_as_failing():
    unusable = set(NIGHTLIES[9:11])
    breaks = planted({CHECK: NIGHTLIES[11]})
    found = bisect.bisect("2.21.0", NIGHTLIES[-1], NIGHTLIES, lambda v: None if v in unusable else breaks(v))
    assert found.found[CHECK] == {"last_good": NIGHTLIES[8], "last_good_date": "2026-10-09",
                                  "first_bad": NIGHTLIES[11], "first_bad_date": "2026-10-12",
                                  "skipped": NIGHTLIES[9:11]}
    assert {s["version"]: s["installs"] for s in found.steps if s["version"] in unusable} == dict.fromkeys(unusable, False)
    assert found.installs and found.complete
    assert f"between them, not installing: {NIGHTLIES[9]}, {NIGHTLIES[10]}" in bisect.summary(found)


def test_dates_name_the_nightly_of_that_day_and_anything_else_is_a_clear_error():
    assert bisect.resolve("2026-10-08", NIGHTLIES[::-1], ["2.21.0"]) == NIGHTLIES[7]
    assert bisect.resolve("2.21.0", NIGHTLIES, ["2.21.0"]) == "2.21.0"
    with pytest.raises(cli.HarnessError, match="no tf-nightly dated 2026-11-30"):
        bisect.resolve("2026-11-30", NIGHTLIES, ["2.21.0"])
    with pytest.raises(cli.HarnessError, match="'2.99.0' is neither a date"):
        bisect.resolve("2.99.0", NIGHTLIES, ["2.21.0"])


def fake_release_steps(monkeypatch, step) -> list[list[str]]:
    """Every `release` subprocess becomes step(version) -> (exit status, its release.json or None, stderr)
    (a real one is a TensorFlow per nightly); returns the commands run, in order."""
    monkeypatch.setattr(venvs, "installable", lambda cache_dir, package="tensorflow": NIGHTLIES[::-1])
    monkeypatch.setattr(venvs, "available", lambda cache_dir, package="tensorflow": ["2.22.0rc0", "2.21.0"])
    commands = []
    real_run = subprocess.run

    def fake_release(command, **kwargs):
        if command[1:4] != ["-m", "harness", "release"]:
            return real_run(command, **kwargs)
        commands.append(command)
        version, out = command[4], Path(command[command.index("--out") + 1])
        status, record, stderr = step(version)
        out.mkdir(parents=True)
        if record is not None:
            (out / "release.json").write_text(json.dumps(record))
        return subprocess.CompletedProcess(command, status, "", stderr)

    monkeypatch.setattr(subprocess, "run", fake_release)
    return commands


def released(breaks, does_not_install=()):
    """step(version) of a release run: exit 3 for those that do not install, else 1 on a planted break."""
    def step(version):
        if version in does_not_install:
            return 3, {"installs": False, "reason": f"No matching distribution for tf-nightly=={version}"}, ""
        return int(bool(breaks(version))), {"installs": True, "new_failure_checks": sorted(breaks(version))}, ""
    return step


def test_the_cli_runs_a_release_per_step_narrowed_to_the_failing_cases(tmp_path, monkeypatch, capsys):
    """End to end with a fake release step: the planted break is found, bisect.json says so, and every
    step after BAD's runs only the failing check's spec and route."""
    commands = fake_release_steps(monkeypatch, released(planted({CHECK: NIGHTLIES[11]})))
    status = cli.main(["bisect", "--out", str(tmp_path), "--cache-dir", str(tmp_path), "--spec", "mlp_regression"])
    assert status == 1
    report = json.loads((tmp_path / "bisect.json").read_text())
    assert report["good"] == "2.21.0" and report["bad"] == NIGHTLIES[-1]  # the defaults: newest release and nightly
    assert report["found"][CHECK]["first_bad"] == NIGHTLIES[11] and report["step_count"] == len(commands)
    assert commands[0][4] == NIGHTLIES[-1] and commands[0][-2:] == ["--spec", "mlp_regression"]
    assert all(c[-4:] == ["--spec", "mlp_regression", "--route", "tf_keras"] for c in commands[1:])
    assert all(c[c.index("--baseline") + 1] == "2.21.0" for c in commands)
    assert "first bad 2.23.0.dev20261012 (2026-10-12)" in capsys.readouterr().out
    assert report["complete"] and report["installs"]


def test_the_cli_skips_a_nightly_whose_release_exits_3(tmp_path, monkeypatch):
    unusable = NIGHTLIES[9:11]
    fake_release_steps(monkeypatch, released(planted({CHECK: NIGHTLIES[11]}), unusable))
    assert cli.main(["bisect", "--out", str(tmp_path), "--cache-dir", str(tmp_path)]) == 1
    report = json.loads((tmp_path / "bisect.json").read_text())
    assert report["found"][CHECK]["last_good"] == NIGHTLIES[8] and report["found"][CHECK]["first_bad"] == NIGHTLIES[11]
    assert report["found"][CHECK]["skipped"] == unusable
    assert [(s["version"], s["failing"]) for s in report["steps"] if not s["installs"]] == [(v, None) for v in unusable]


@pytest.mark.parametrize("status", [2, -9])  # a harness error or bad usage; killed by a signal
def test_a_step_without_a_verdict_stops_with_one_line_and_keeps_the_steps_done(tmp_path, monkeypatch, capsys, status):
    broken = NIGHTLIES[9]  # the first middle: BAD's step is done before it
    verdicts = released(planted({CHECK: NIGHTLIES[11]}))
    commands = fake_release_steps(monkeypatch, lambda v: (status, None, "error: boom") if v == broken else verdicts(v))
    assert cli.main(["bisect", "--out", str(tmp_path), "--cache-dir", str(tmp_path)]) == 2
    assert [c[4] for c in commands] == [NIGHTLIES[-1], broken]  # stopped there
    err = capsys.readouterr().err.strip().splitlines()
    step_out = tmp_path.resolve() / "steps" / broken
    assert len(err) == 1 and broken in err[0] and str(step_out) in err[0] and f"exited {status}" in err[0]
    assert "error: boom" in (step_out / "release.log").read_text()  # the step's own output, kept
    report = json.loads((tmp_path / "bisect.json").read_text())
    assert report["complete"] is False and broken in report["error"] and report["found"] == {}
    assert [s["version"] for s in report["steps"]] == [NIGHTLIES[-1]]


def test_a_bad_that_does_not_install_is_one_line_and_exit_3(tmp_path, monkeypatch, capsys):
    commands = fake_release_steps(monkeypatch, released(planted({}), [NIGHTLIES[-1]]))
    assert cli.main(["bisect", "--out", str(tmp_path), "--cache-dir", str(tmp_path)]) == 3
    assert len(commands) == 1  # nothing to search
    out = capsys.readouterr().out
    assert f"bisect: BAD TF {NIGHTLIES[-1]} does not install or import: No matching distribution" in out
    report = json.loads((tmp_path / "bisect.json").read_text())
    assert report["installs"] is False and report["steps"][0]["installs"] is False and report["found"] == {}


def test_the_cli_refuses_a_good_not_older_than_bad_before_any_step(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(venvs, "installable", lambda cache_dir, package="tensorflow": NIGHTLIES[::-1])
    monkeypatch.setattr(venvs, "available", lambda cache_dir, package="tensorflow": ["2.21.0"])
    assert cli.main(["bisect", "2026-10-09", "2026-10-02", "--out", str(tmp_path)]) == 2
    assert "GOOD 2.23.0.dev20261009 is not older than BAD 2.23.0.dev20261002" in capsys.readouterr().err


def test_with_fixed_it_finds_the_first_nightly_that_fixed_what_good_fails(tmp_path, monkeypatch, capsys):
    """--fixed: the checks GOOD fails and BAD passes (release.json's fixed_checks), each searched for the first
    nightly that passes it; a fix is no failure (exit 0)."""
    fixes = planted({CHECK: NIGHTLIES[5]})  # fixed from that nightly on

    def step(version):
        return 0, {"installs": True, "new_failure_checks": [], "fixed_checks": sorted(fixes(version))}, ""

    commands = fake_release_steps(monkeypatch, step)
    assert cli.main(["bisect", "--fixed", "--out", str(tmp_path), "--cache-dir", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bisect.json").read_text())
    assert report["searched"] == "fixes"
    assert report["found"][CHECK] == {"last_failing": NIGHTLIES[4], "last_failing_date": "2026-10-05",
                                      "first_fixed": NIGHTLIES[5], "first_fixed_date": "2026-10-06", "skipped": []}
    assert len(commands) <= 1 + math.ceil(math.log2(len(NIGHTLIES)))
    assert "last still failing 2.23.0.dev20261005 (2026-10-05), first fixed 2.23.0.dev20261006" in capsys.readouterr().out
    # without --fixed the same steps have nothing to search: no new failure
    assert cli.main(["bisect", "--out", str(tmp_path / "breaks"), "--cache-dir", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "breaks" / "bisect.json").read_text())["found"] == {}
