"""Length-prefixed pickle frames between the harness and its worker processes.

Workers run other interpreters (a TF 2.15 venv has numpy 1.x, the harness numpy 2.x), whose
numpy pickles do not load in each other. So arrays never cross as numpy pickles: they cross as
(dtype string, shape, raw bytes) and are rebuilt by this module on the other side.
"""

from __future__ import annotations

import io
import os
import pickle
import select
import struct
import time
from typing import BinaryIO

import numpy as np

_HEADER = struct.Struct("<Q")


class Timeout(Exception):
    """No reply within the deadline."""


def _rebuild(dtype: str, shape: tuple, raw) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()


def _rebuild_scalar(dtype: str, raw) -> np.generic:
    return np.frombuffer(raw, dtype=np.dtype(dtype))[0]


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufcSU":
            return _rebuild, (obj.dtype.str, obj.shape, pickle.PickleBuffer(np.ascontiguousarray(obj)))
        if isinstance(obj, np.generic) and obj.dtype.kind in "biufcSU":
            return _rebuild_scalar, (obj.dtype.str, obj.tobytes())
        return NotImplemented


def dumps(message) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(message)
    return buffer.getvalue()


def send(stream: BinaryIO, message) -> None:
    payload = dumps(message)
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def receive(stream: BinaryIO, timeout: float | None = None):
    """The next message; EOFError when the other side has gone, Timeout when `timeout` s pass first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    header = _read(stream, _HEADER.size, deadline)
    (size,) = _HEADER.unpack(header)
    return pickle.loads(_read(stream, size, deadline))


def _read(stream: BinaryIO, size: int, deadline: float | None) -> bytes:
    if deadline is None:
        data = stream.read(size)
        if len(data) < size:
            raise EOFError("peer closed the pipe")
        return data
    fd, chunks, got = stream.fileno(), [], 0
    while got < size:  # raw fd reads: a buffered read would block past the deadline
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise Timeout()
        chunk = os.read(fd, min(size - got, 1 << 24))
        if not chunk:
            raise EOFError("peer closed the pipe")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
