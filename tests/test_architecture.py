"""The design, checked: no import cycle, kinds named only in their modules, no fault switch in production
code, a new kind is one module and one registry line, a harness bug is not a runtime's failure."""

import ast
import functools
from pathlib import Path

import pytest

from harness.cli import main as cli
from harness.runs import matrix
from harness.reports import outcomes
from harness import runtimes
from harness.plan import trajectory
from harness.plan.interface import Interface
from harness.runtimes import registry

from .conftest import CACHE
from .fake_kind import SessionAgain
from .helpers import export_of

PACKAGE = Path(__file__).resolve().parent.parent / "harness"
TESTING = PACKAGE / "testing"  # test-only: fault planting, the stories' player, benchmarks
# Functions over 60 lines, each with its reason (anything else that long fails the test below).
LONG = {
    ("cli/main.py", "main"): "the argument table of every command, read top to bottom",
    ("cli/main.py", "run"): "a run's sequence: parse, prepare, run, classify, write; each step a call",
    ("exports/bundle.py", "build"): "one export's steps with its cache and log handling in order",
    ("certify/certify_data.py", "from_npz"): "one validation per rule of the user's data file, each with its message",
    ("plan/compare.py", "compare"): "the comparison and its measured errors per tensor, in one pass",
    ("runs/matrix.py", "run"): "the scheduler with its Ctrl-C path: the cleanup must see every local",
    ("exports/routes/keras_models.py", "_model_class"): "a Keras model class body defined in a function (Keras 2 or 3 at run time)",
    ("exports/spec.py", "parse"): "one validation per field of a spec file, each with its message",
}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: dict) -> set[str]:
    """The harness modules `name` imports, at the top or inside functions (a lazy import is still a dependency)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: never imported at run time
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            candidates = submodules if len(submodules) == len(node.names) else submodules + [target]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for c in candidates:
            while c and c not in known:
                c = c.rpartition(".")[0]
            if c and c != name:
                found.add(c)
    return found


def test_the_module_graph_has_no_cycle():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name, path):
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep] if dep in path else [name, dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, path + [dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert "harness.reports.outcomes" in graph and graph["harness.reports.outcomes"] == set()  # the vocabulary at the bottom


def test_no_kind_name_is_spelled_outside_its_module():
    """Runtime names are built and matched by the registry; a kind's name is a string only in its module."""
    kinds = list(registry.KINDS)
    spelled = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "runtimes" or path.parent == TESTING:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            pieces = []
            if isinstance(node, ast.JoinedStr):  # f"python-{v}"
                pieces = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            elif isinstance(node, ast.Compare):  # kind == "java"
                pieces = [c.value for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)
                          and c.value in kinds]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):  # "java-plain-", "python-session-2.21"
                pieces = [node.value] if any(node.value.startswith(k + "-") for k in kinds) else []
            for piece in pieces:
                if piece in kinds or any(piece.startswith(k + "-") or piece.endswith(k + "-") for k in kinds):
                    spelled.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {piece!r}")
    assert not spelled, "kind names outside their modules:\n" + "\n".join(spelled)


def test_production_code_reads_no_fault_switch():
    """Planted faults are a kind the tests install (faults.planted_kind); nothing else knows of them."""
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        if path.parent == TESTING or rel in ("cli/main.py", "__main__.py"):  # the CLI's test-only --plant-fault
            continue
        text = path.read_text()
        if "HARNESS_PLANT_FAULT" in text or "faults" in {n.split(".")[-1] for n in imports(
                ".".join(["harness", *path.relative_to(PACKAGE).with_suffix("").parts]), path, modules())}:
            readers.append(rel)
    assert not readers, f"production modules that know of planted faults: {readers}"


def test_no_function_is_longer_than_60_lines_without_a_reason():
    long = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.add((str(path.relative_to(PACKAGE)), node.name))
    assert long <= set(LONG), f"over 60 lines, with no reason in LONG: {sorted(long - set(LONG))}"
    assert set(LONG) <= long, f"no longer over 60 lines: remove from LONG: {sorted(set(LONG) - long)}"


def test_a_new_kind_is_one_module_and_one_registry_line(monkeypatch, bundles, mlp_spec, tmp_path):
    monkeypatch.setitem(registry.KINDS, SessionAgain.kind, SessionAgain)  # the registry line
    name = f"{SessionAgain.kind}-2.21.0"
    assert registry.parse(name) == (SessionAgain.kind, "2.21.0") and registry.tensorflow_of(name) == "2.21.0"
    assert registry.column_title(name) == (SessionAgain.kind, "2.21.0")
    assert runtimes.names(["2.21.0"], [name]) == ["python-2.21.0", "python-session-2.21.0", name]
    export = export_of(bundles["tf_keras"], mlp_spec)
    results, facts = matrix.run([export], ["python-2.21.0", name], jobs=1, cache_dir=CACHE, workdir=tmp_path / "work",
                                log_dir=tmp_path / "logs", threads=1)
    mine = [r for r in results if r.runtime == name]
    assert {r.check for r in mine} >= {"load", "train.loss", "predict", "checkpoint.saver", "resume.loss",
                                       "restore.saver.loss", "restore.saver.variables"}
    for r in mine:
        assert r.passed is True or r.outcome == outcomes.NOT_APPLICABLE, (r.check, r.detail)
        if r.comparison is not None:
            assert r.comparison.verdict == "bit-exact", (r.check, r.detail)
    assert facts[name]["tensorflow"] == "2.21.0"


def test_an_error_of_the_harness_own_code_is_raised_not_recorded(tmp_path):
    """A runtime's error is a finding (a Failure with its stage); the harness's own is a bug: it propagates."""
    def tf_like():  # raised from outside the harness package, as TensorFlow's and TF Java's errors are
        raise ValueError("Cannot feed value of shape (3,) for Tensor 'x:0'")

    got = trajectory.run(tf_like, {}, range(1), tmp_path)
    assert got.failure.stage == "load" and "Cannot feed" in got.failure.error
    harness_bug = functools.partial(Interface.from_dict, None)  # a TypeError raised inside harness/plan/interface.py
    with pytest.raises(TypeError):
        trajectory.run(harness_bug, {}, range(1), tmp_path)


def test_a_harness_bug_exits_2_with_its_traceback_in_a_log(monkeypatch, tmp_path, capsys):
    def bug(args):
        return {}["a key the harness forgot"]

    monkeypatch.setattr(cli, "run", bug)
    assert cli.main(["conformance", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    log = tmp_path / "logs" / "harness-bug.log"
    assert "a bug in the harness, not a finding about any runtime: KeyError" in err and str(log) in err
    assert err.count("\n") == 1 and "Traceback" in log.read_text()


def test_the_reference_table_and_the_fault_catalog_name_the_registry_checks():
    """One registry of checks: docs/reference.md's table is its rendering; every planted fault names checks it has."""
    from harness import checks
    from harness.testing import faults

    reference = (PACKAGE.parent / "docs" / "reference.md").read_text()
    assert checks.docs_table() in reference, \
        "docs/reference.md's table of checks differs from harness/checks.py: python tools/reference.py --write docs/reference.md"
    for fault in faults.RUNTIME_FAULTS.values():
        assert all(c in checks.BY_NAME for c in fault.checks), (fault.name, fault.checks)
