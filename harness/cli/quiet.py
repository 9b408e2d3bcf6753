"""Quiet by default: what TensorFlow prints (C++ banners, absl warnings) goes to a log file.

TensorFlow writes to file descriptor 2 from C++, below Python's sys.stderr, so the descriptor
itself is pointed at the log; the harness's own messages keep a copy of the real stderr.
Workers write to log files of their own (runtimes.Worker), Maven and exporters are captured.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path


@contextlib.contextmanager
def tensorflow_to(log: Path, verbose: bool = False):
    """Within the block, fd 2 goes to `log` (unless `verbose`); sys.stderr still reaches the console."""
    if verbose:
        yield
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    console = os.dup(2)
    with open(log, "ab") as sink:
        os.dup2(sink.fileno(), 2)
    previous = sys.stderr
    sys.stderr = os.fdopen(os.dup(console), "w", buffering=1, errors="backslashreplace")
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = previous
        os.dup2(console, 2)
        os.close(console)
