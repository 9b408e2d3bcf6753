"""The GitHub Action (action.yml) and the workflows, read as GitHub reads them and run as its runner does.

Every YAML file the project ships parses; action.yml and .github/workflows/*.yml validate against GitHub's
schemas (check-jsonschema's vendored copies, offline); actionlint (installed by `nox -s tests`, Go) finds
nothing in the workflows nor in a workflow that `uses: ./`; and the composite action's `run:` steps,
executed in bash as the runner executes them, install the harness non-editable from a copy of this
repository and certify a good export (exit 0, a certificate) and a bad one (exit 1, the cause named).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT
from .foreign_exports import build
from .installed import environment, fresh_venv, install

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
# The steps of action.yml a runner takes from other actions: not run here (the test's virtualenv stands in for
# setup-python's Python, the machine's JDK for setup-java's; nothing is uploaded).
OTHER_ACTIONS = {"actions/setup-python@v5", "actions/setup-java@v4", "actions/upload-artifact@v4"}
BROKEN_LINE = "    description: optional .npz of inputs keyed by input name (default: made up from the signatures)\n"


def shipped_yaml() -> list[Path]:
    """Every YAML file of the repository (tracked, or new and not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "*.yml", "*.yaml"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).exists()]


def test_every_yaml_file_parses():
    files = shipped_yaml()
    assert ROOT / "action.yml" in files and set(WORKFLOWS) <= set(files) and WORKFLOWS, files
    for path in files:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path


def test_the_parser_refuses_the_line_that_was_broken():
    """The test can fail: action.yml's `description` as it was (a colon in a plain scalar)."""
    text = (ROOT / "action.yml").read_text()
    line = next(l for l in text.splitlines(keepends=True) if l.lstrip().startswith("description: \"optional .npz"))
    with pytest.raises(yaml.YAMLError, match="mapping values are not allowed here"):
        yaml.safe_load(text.replace(line, BROKEN_LINE))


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def test_the_action_and_the_workflows_validate_against_githubs_schemas(tmp_path):
    done = check_jsonschema("vendor.github-actions", ROOT / "action.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    done = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr
    # ... and the schemas refuse what GitHub refuses: a composite `run` step with no shell.
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        step.pop("shell", None)
    (tmp_path / "action.yml").write_text(yaml.safe_dump(action))
    done = check_jsonschema("vendor.github-actions", tmp_path / "action.yml")
    assert done.returncode == 1 and "action.yml::$.runs" in done.stdout, done.stdout + done.stderr


def actionlint() -> str:
    found = os.environ.get("ACTIONLINT") or shutil.which("actionlint")
    if not found:
        pytest.fail("actionlint not found: `nox -s tests` installs it (go install github.com/rhysd/actionlint/cmd/actionlint)")
    return found


SAMPLE = """\
name: certify
on: [push]
jobs:
  certify:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          saved-model: exports/model
          on-device: none
"""


def lint(repository: Path) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint(), "-no-color"], cwd=repository, capture_output=True, text=True, timeout=300)


def test_actionlint_finds_nothing_in_the_workflows_nor_in_one_that_uses_the_action(tmp_path):
    done = lint(ROOT)  # .github/workflows/*.yml
    assert done.returncode == 0, done.stdout + done.stderr
    repository = tmp_path / "user-repo"  # a user's repository with the action at its root (`uses: ./`)
    (repository / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repository)], check=True)  # actionlint finds the project by its .git
    shutil.copyfile(ROOT / "action.yml", repository / "action.yml")
    (repository / ".github" / "workflows" / "certify.yml").write_text(SAMPLE)
    done = lint(repository)
    assert done.returncode == 0, done.stdout + done.stderr
    # ... and it reads the action: an input it does not declare is an error.
    (repository / ".github" / "workflows" / "certify.yml").write_text(SAMPLE.replace("saved-model:", "saved_model:"))
    done = lint(repository)
    assert done.returncode == 1 and "saved_model" in done.stdout, done.stdout + done.stderr


# ------------------------------------------------------------------ the composite action, run as the runner does

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(text: str, context: dict) -> str:
    """`${{ github.action_path }}` and `${{ inputs.NAME }}`, as GitHub's expression engine evaluates them (a
    missing input is ''); any other expression fails the test, so that this runner is never silently wrong."""
    def value(match):
        expression = match.group(1)
        if expression == "github.action_path":
            return context["action_path"]
        if expression.startswith("inputs."):
            return context["inputs"].get(expression.removeprefix("inputs."), "")
        raise AssertionError(f"an expression this test's runner does not evaluate: {expression}")
    return EXPRESSION.sub(value, text)


def run_action(action_path: Path, workspace: Path, inputs: dict, env: dict) -> subprocess.CompletedProcess:
    """The composite action's steps: each `run` in bash as the runner runs it (`bash --noprofile --norc -eo pipefail
    FILE`, in the workspace, the step's env evaluated, INPUT_* set); `uses` steps skipped. Stops at the first
    failing step, as the runner does; returns the last step run."""
    action = yaml.safe_load((action_path / "action.yml").read_text())
    declared = action["inputs"]
    assert set(inputs) <= set(declared), set(inputs) - set(declared)
    missing = [name for name, spec in declared.items() if spec.get("required") and name not in inputs]
    assert not missing, missing
    given = {name: inputs.get(name, spec.get("default", "")) for name, spec in declared.items()}
    context = {"action_path": str(action_path), "inputs": given}
    base = {**env, "GITHUB_ACTION_PATH": str(action_path), "GITHUB_WORKSPACE": str(workspace),
            **{f"INPUT_{name.upper()}": value for name, value in given.items()}}
    assert action["runs"]["using"] == "composite"
    skipped, done = [], None
    for i, step in enumerate(action["runs"]["steps"]):
        if "uses" in step:
            skipped.append(step["uses"])
            continue
        assert step.get("if") in (None, "always()"), step
        assert step["shell"] == "bash", step
        script = workspace.parent / f"step-{i}.sh"
        script.write_text(evaluate(step["run"], context))
        step_env = {**base, **{k: evaluate(str(v), context) for k, v in step.get("env", {}).items()}}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=workspace,
                              env=step_env, capture_output=True, text=True, timeout=1800)
        print(f"step {i}: exit {done.returncode}")
        if done.returncode != 0:
            break
    assert set(skipped) <= OTHER_ACTIONS, skipped  # a new `uses` step: say here what stands in for it
    return done


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """What a runner has when the action's own steps start: a copy of this repository as github.action_path, and
    (setup-python's part) a Python first on PATH with pip, the harness's dependencies in place (from uv's cache:
    pip installs the harness itself)."""
    root = tmp_path_factory.mktemp("runner")
    action_path = root / "action"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (action_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, action_path / name)
    python = fresh_venv(root / "python", pip=True)
    install(python, *tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    return action_path, python.parent


@pytest.mark.java
def test_the_action_certifies_a_good_export_and_fails_on_a_bad_one_naming_the_cause(runner, bundles, tmp_path):
    action_path, venv_bin = runner
    env = environment(venv_bin)
    good = tmp_path / "good"
    shutil.copytree(bundles["tf_keras"].saved_model, good / "exports" / "model")
    done = run_action(action_path, good, {"saved-model": "exports/model", "on-device": "none"}, env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    assert "verdict: trainable and conformant in every runtime" in done.stdout
    certificate = json.loads((good / "certificate" / "certificate.json").read_text())
    assert certificate["ok"] and (good / "certificate" / "index.html").exists()
    installed = subprocess.run([venv_bin / "python", "-c", "import harness; print(harness.__file__)"], cwd=tmp_path,
                               capture_output=True, text=True, env=env, check=True).stdout
    assert "site-packages" in installed and str(action_path) not in installed  # not editable

    bad = tmp_path / "bad"
    build("keras3_in_module", bad / "exports")
    done = run_action(action_path, bad, {"saved-model": "exports/keras3_in_module/saved_model", "on-device": "none",
                                         "out": "cert"}, env)
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-3000:]
    assert "what to change: Export with keras.export.ExportArchive" in done.stdout, done.stdout[-4000:]
    assert not json.loads((bad / "cert" / "certificate.json").read_text())["ok"]
