"""The run's report files: conformance.json and junit.xml (written atomically), then index.html."""

from __future__ import annotations

from pathlib import Path

from .. import atomic
from . import html_report
from .report import junit_from_json, to_json


def write_report(out: Path, report: dict, html: bool = True) -> tuple[Path, Path]:
    """Writes `conformance.json` and `junit.xml` (atomically), then `index.html` (html_report.py)."""
    json_path, junit_path = out / "conformance.json", out / "junit.xml"
    atomic.write_json(json_path, report)
    atomic.write_text(junit_path, junit_from_json(report))
    if html:
        html_report.render(report, out)
    return json_path, junit_path


def write(out: Path, results: list, env: dict, seconds: float, **extra) -> tuple[Path, Path]:
    """The run's reports: conformance.json, junit.xml and index.html; `extra` goes to to_json."""
    return write_report(out, to_json(results, env, seconds, **extra))
