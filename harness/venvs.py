"""The interpreter of each TF Python version (placeholder: only the harness's own TF until provisioning lands)."""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

from .errors import HarnessError


def interpreter(tf_version: str, cache_dir: Path) -> Path:
    if version("tensorflow") == tf_version:
        return Path(sys.executable)
    raise HarnessError(f"TF {tf_version}: no virtualenv provisioning yet (only {version('tensorflow')})")
