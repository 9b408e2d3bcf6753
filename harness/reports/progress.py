"""Progress of a run, one export at a time: a live bar on a terminal, one line per export otherwise.

Live (stdout is a terminal and `CI` is not set): a rich progress bar with the export(s) running,
done/total, pass and fail counts and the time left. Otherwise, for logs:

    [12/40] mlp_regression.tf_keras@2.21.0: 28 passed, 0 failed (3.1 s)

Thread-safe: exports may start and finish in parallel threads.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter

from .report import BLOCKED, FAIL, NOT_APPLICABLE, PASS, XFAIL, XPASS


def outcome_of(result) -> str:
    """A result's outcome (Result or JSON dict); before classification, from `passed`."""
    if isinstance(result, dict):
        outcome, passed = result.get("outcome", ""), result.get("passed")
    else:
        outcome, passed = result.outcome, result.passed
    if outcome:
        return outcome
    return PASS if passed else FAIL if passed is False else BLOCKED


def tally(results: list) -> str:
    """`28 passed, 0 failed`, then the other outcomes that occur."""
    c = Counter(outcome_of(r) for r in results)
    text = f"{c[PASS]} passed, {c[FAIL] + c[XPASS]} failed"
    for outcome, name in ((XFAIL, "expected failures"), (BLOCKED, "blocked"), (NOT_APPLICABLE, "not applicable")):
        if c[outcome]:
            text += f", {c[outcome]} {name}"
    return text


class Progress:
    """`with Progress(total) as p: p.started(name); ...; p.finished(name, results)`."""

    def __init__(self, total: int, stream=None):  # stream: default sys.stdout, looked up when called
        self.total = total
        self.stream = stream if stream is not None else sys.stdout
        self.done = 0
        self.counts: Counter = Counter()
        self.running: dict[str, float] = {}  # name -> when it started
        self.lock = threading.Lock()
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty()) and not os.environ.get("CI")
        self._bar = self._task = None

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, SpinnerColumn, TextColumn, \
                TimeRemainingColumn

            self._bar = Bar(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("[green]{task.fields[passed]} passed[/] [red]{task.fields[failed]} failed[/]"),
                            TimeRemainingColumn(), TextColumn("left"),
                            console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("starting", total=self.total, passed=0, failed=0)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            with self.lock:
                self._bar.update(self._task, description="done" if self.done == self.total else "stopped")
            self._bar.stop()

    def _describe(self) -> str:
        names = list(self.running)
        if not names:
            return "waiting"
        return names[0] + (f" (+{len(names) - 1} more)" if len(names) > 1 else "")

    def started(self, name: str) -> None:
        with self.lock:
            self.running[name] = time.monotonic()
            if self._bar is not None:
                self._bar.update(self._task, description=self._describe())

    def finished(self, name: str, results: list) -> None:
        with self.lock:
            began = self.running.pop(name, None)
            seconds = time.monotonic() - began if began is not None else 0.0
            self.done += 1
            outcomes = Counter(outcome_of(r) for r in results)
            self.counts.update(outcomes)
            if self._bar is not None:
                self._bar.update(self._task, advance=1, description=self._describe(), passed=self.counts[PASS],
                                 failed=self.counts[FAIL] + self.counts[XPASS])
                if outcomes[FAIL] or outcomes[XPASS]:  # a failing export stays on screen above the bar
                    self._bar.console.print(f"[red]FAILED[/] {name}: {tally(results)}", highlight=False)
            else:
                print(f"[{self.done}/{self.total}] {name}: {tally(results)} ({seconds:.1f} s)",
                      file=self.stream, flush=True)
