"""The commands README.md and docs/*.md show, extracted and run: `nox -s docs` (`python tools/docs.py run`).

A command block is a ```sh fence; the comment line right above it says what is done with it:

    <!-- run -->            run in the repository's root by bash (-e -o pipefail); exit status 0 expected
    <!-- run exit=N -->     the same, exit status N expected (a command whose point is to fail)
    <!-- run outside -->    the same, as on a fresh machine: the session's virtualenv is not on PATH
    <!-- ci -->             the command CI runs: not run here; each of its lines must be in .ci/run

Every ```sh block carries one of them (tests/test_docs.py); other fences (yaml, text) are not commands.
Blocks run in page order (README.md, then docs/ by name), so a page may use what an earlier block wrote;
the same block shown on two pages runs once. `python tools/docs.py list` prints the blocks; `run [PATTERN...]`
runs those whose file:line contains a pattern.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!--\s*(run|ci)((?:\s+[\w=]+)*)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    file: Path
    line: int  # of the fence
    mode: str  # run, ci; "" when unmarked
    options: tuple[str, ...]
    text: str

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def exit(self) -> int:
        return next((int(o[5:]) for o in self.options if o.startswith("exit=")), 0)

    def commands(self) -> list[str]:
        """The block's commands: lines joined at a trailing backslash, comments and blank lines dropped."""
        out, pending = [], ""
        for raw in self.text.splitlines():
            line = pending + raw.strip()
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            if line and not line.startswith("#"):
                out.append(line)
        return out


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence or not fence[1]:
            i += 1 if not fence else _skip(lines, i)
            continue
        end = _skip(lines, i) + i - 1
        if fence[1] == "sh":
            marker = MARKER.match(lines[i - 1]) if i else None
            found.append(Block(path, i + 1, marker[1] if marker else "", tuple(marker[2].split()) if marker else (),
                               "\n".join(lines[i + 1:end])))
        i = end + 1
    return found


def _skip(lines: list[str], start: int) -> int:
    """How many lines from `start` (a fence) to its closing fence, inclusive."""
    for j in range(start + 1, len(lines)):
        if lines[j].strip() == "```":
            return j - start + 1
    raise SystemExit(f"unclosed fence at line {start + 1}")


def all_blocks() -> list[Block]:
    return [b for p in pages() for b in blocks(p)]


def environment(block: Block) -> dict:
    env = dict(os.environ)
    if "outside" in block.options:  # as on a fresh machine: no virtualenv of ours in the way
        venv = env.pop("VIRTUAL_ENV", None)
        if venv:
            env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(venv))
        env.pop("CONDA_PREFIX", None)
    return env


def run(patterns: list[str]) -> int:
    chosen = [b for b in all_blocks() if b.mode == "run" and (not patterns or any(p in b.where for p in patterns))]
    failed, started, ran = [], time.monotonic(), {}
    for b in chosen:
        if b.text in ran:  # the same command shown twice (README and a guide) runs once
            print(f"--- {b.where}: the same block as {ran[b.text]}, run above\n")
            continue
        ran[b.text] = b.where
        print(f"--- {b.where} (expects exit {b.exit}{', outside the virtualenv' if 'outside' in b.options else ''})\n"
              f"{b.text}", flush=True)
        t = time.monotonic()
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", b.text], cwd=ROOT, env=environment(b),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tail = "\n".join(done.stdout.splitlines()[-15:])
        verdict = "ok" if done.returncode == b.exit else f"FAILED: exit {done.returncode}, expected {b.exit}"
        print(f"{tail}\n--- {b.where}: {verdict} in {time.monotonic() - t:.0f} s\n", flush=True)
        if done.returncode != b.exit:
            failed.append(b.where)
    print(f"{len(chosen) - len(failed)} of {len(chosen)} documented blocks as documented, "
          f"{time.monotonic() - started:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed or not chosen else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"]:
        for b in all_blocks():
            print(f"{b.where}\t{b.mode or 'UNMARKED'} {' '.join(b.options)}\t{' ; '.join(b.commands())}")
        return 0
    if argv[:1] == ["run"]:
        return run(argv[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
