"""The docs cannot rot: every command block is marked and parses, every flag shown exists in the CLI, every
relative link resolves, generated tables equal what their command renders, no figure is typed by hand.
Running the marked blocks is `nox -s docs` (tools/docs.py); this file is the fast half (no TensorFlow run)."""

import functools
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


docs = _tool("docs")
PAGES = docs.pages()
BLOCKS = docs.all_blocks()
NOX_SESSIONS = set(re.findall(r"@nox\.session\([^)]*\)\ndef (\w+)", (ROOT / "noxfile.py").read_text()))
HARNESS_SESSIONS = {"conformance", "release"}  # nox sessions whose arguments after `--` go to the harness


def prose(path: Path) -> str:
    """A page without its fenced blocks (links and inline commands live in the prose)."""
    return re.sub(r"^```.*?^```\s*$", "", path.read_text(), flags=re.S | re.M)


def inline_commands(path: Path) -> list[str]:
    starts = ("tf-training-conformance ", "python -m harness", "python3 -m nox", "nox -s ", "python tools/")
    return [c for c in re.findall(r"`([^`\n]+)`", prose(path)) if c.startswith(starts)]


def shown_commands() -> list[tuple[str, str]]:
    """(where, command) for every command of a block and every command in inline code."""
    out = [(b.where, c) for b in BLOCKS for c in b.commands()]
    out += [(p.relative_to(ROOT).as_posix(), c) for p in PAGES for c in inline_commands(p)]
    return out


def segments(command: str) -> list[list[str]]:
    """A shell command line's simple commands as word lists (split at ;, &&, ||, |; comments dropped)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    out = [[]]
    for token in lexer:
        if token in (";", "&&", "||", "|", "&"):
            out.append([])
        else:
            out[-1].append(token)
    return [s for s in out if s]


def harness_args(command: str) -> list[list[str]]:
    """The harness argument lists a shell command line runs (after the command name), one per invocation."""
    found = []
    for tokens in segments(command):
        if tokens[:1] == ["tf-training-conformance"]:
            found.append(tokens[1:])
        elif len(tokens) >= 3 and Path(tokens[0]).name.startswith("python") and tokens[1:3] == ["-m", "harness"]:
            found.append(tokens[3:])
        elif "nox" in tokens and "-s" in tokens:
            session = tokens[tokens.index("-s") + 1]
            if session in HARNESS_SESSIONS and "--" in tokens:
                found.append([session, *tokens[tokens.index("--") + 1:]])
    return found


@functools.cache
def help_text(*command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "harness", *command, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, (command, done.stderr[-2000:])
    return done.stdout


def test_every_command_block_is_marked_and_parses():
    assert BLOCKS, "no ```sh block found"
    for b in BLOCKS:
        assert b.mode, f"{b.where}: a ```sh block needs <!-- run -->, <!-- run exit=N -->, <!-- run outside --> or <!-- ci -->"
        assert all(o == "outside" or re.fullmatch(r"exit=\d+", o) for o in b.options), (b.where, b.options)
        done = subprocess.run(["bash", "-n", "-c", b.text], capture_output=True, text=True)
        assert done.returncode == 0, f"{b.where}: {done.stderr}"
        for c in b.commands():
            shlex.split(c, comments=True)  # every line is a complete shell word list (quotes closed)


def test_ci_blocks_are_what_ci_runs():
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    blocks = [b for b in BLOCKS if b.mode == "ci"]
    assert blocks
    for b in blocks:
        for c in b.commands():
            command = " ".join(shlex.split(c, comments=True))
            assert command in ci, f"{b.where}: `{command}` is not a line of .ci/run"


def test_the_readme_keeps_the_two_commands_and_stays_short():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for command in ('python3 -m pip install "nox[uv]" && python3 -m nox -s conformance', "python3 -m nox -s tests"):
        assert any(command in b.text for b in BLOCKS if b.file.name == "README.md" and b.mode), command


def test_every_flag_shown_exists_in_the_cli():
    checked = 0
    for where, command in shown_commands():
        for args in harness_args(command):
            if args == ["--version"]:  # the one flag of the command itself
                assert "--version" in help_text(), f"{where}: the command has no --version"
                continue
            words = [a for a in args if not a.startswith("-")]
            assert words, f"{where}: `{command}` names no command"
            sub = words[:2] if words[0] == "expectations" else words[:1]
            text = help_text(*sub)
            for flag in {a.split("=")[0] for a in args if a.startswith("--")}:
                assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), f"{where}: {' '.join(sub)} has no {flag}"
                checked += 1
    assert checked > 20, checked


def test_every_nox_session_and_script_shown_exists():
    for where, command in shown_commands():
        for tokens in segments(command):
            if "nox" in tokens and "-s" in tokens:
                assert tokens[tokens.index("-s") + 1] in NOX_SESSIONS, (where, command)
            for t in tokens:
                if t.endswith((".py", ".sh")) and not t.startswith("reports/") and "/" in t:
                    assert (ROOT / t).is_file(), f"{where}: {t} does not exist"


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#+\s+(.*)$", prose(path), flags=re.M)
    return {re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", h.strip().lower())) for h in headings}


def test_every_relative_link_resolves():
    links = 0
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", prose(page)):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            resolved = (page.parent / file).resolve() if file else page
            assert resolved.exists(), f"{page.relative_to(ROOT)}: link {target} points nowhere"
            if anchor:
                assert anchor in _anchors(resolved), f"{page.relative_to(ROOT)}: {target}: no heading #{anchor}"
            links += 1
    assert links > 10, links


def test_the_readme_picture_is_a_png_of_a_report():
    png = ROOT / "docs" / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "](docs/report.png)" in (ROOT / "README.md").read_text()


def test_measured_md_is_what_its_command_makes_from_the_committed_reports():
    text = (ROOT / "docs" / "measured.md").read_text()
    command = re.search(r"`python tools/measured\.py ([^`>]+) > docs/measured\.md`", text)
    assert command, "docs/measured.md names no command"
    paths = command[1].split()
    assert all((ROOT / p).is_file() for p in paths), paths
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert text == _tool("measured").main(paths), \
            f"docs/measured.md is stale: python tools/measured.py {command[1]} > docs/measured.md"
    finally:
        os.chdir(cwd)


def test_reference_tables_are_what_the_code_renders():
    reference = _tool("reference")
    text = (ROOT / "docs" / "reference.md").read_text()
    assert set(re.findall(r"<!-- generated: (\w+) -->", text)) == set(reference.SECTIONS)
    assert reference.rewrite(text) == text, "python tools/reference.py --write docs/reference.md"


FIGURE = re.compile(r"\b\d[\d,.]*\s?(?:ms|us|µs|s|sec|min|minutes|seconds|hours|GB/s|MB/s|MB|GB|MiB|GiB|%|x faster)(?![\w/])")


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "measured.md"], ids=lambda p: p.name)
def test_no_figure_is_typed_by_hand(page):
    """Timings, sizes, rates and percentages belong in generated files (docs/measured.md), not in prose."""
    text = re.sub(r"<!-- generated: (\w+) -->.*?<!-- end: \1 -->", "", prose(page), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)  # code: flags, file names, versions
    assert not FIGURE.findall(text), f"{page.relative_to(ROOT)}: {FIGURE.findall(text)}: generate it into docs/measured.md"


def test_the_plain_java_options_shown_are_the_program_s():
    page = (ROOT / "docs" / "certify.md").read_text()
    usage = re.search(r"## The plain Java program.*?```text\n(.*?)```", page, flags=re.S)
    assert usage, "docs/certify.md shows no TrainExport options"
    shown = set(re.findall(r"--[a-z-]+", usage[1]))
    source = (ROOT / "java" / "src" / "main" / "java" / "dev" / "conformance" / "TrainExport.java").read_text()
    assert shown == set(re.findall(r'"(--[a-z-]+)"', source))
