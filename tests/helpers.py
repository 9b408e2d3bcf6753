"""Test helpers: fingerprinting a directory, and an export as the runner takes it."""

import hashlib
from pathlib import Path

from harness.exports import bundle, spec, validate
from harness.runs import runner
from harness.runs.versions import TF_PYTHON


def fingerprint(directory: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below `directory`: to show nothing was written there."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def export_of(b: bundle.Bundle, s: spec.Spec) -> runner.Export:
    """What the runner needs of a bundle, validated as the CLI does."""
    data = b.data()
    validate.check_export(b.saved_model, data, b.data_path)
    return runner.Export(b.name, b.saved_model, data, s.steps, s.resume_steps, TF_PYTHON)
