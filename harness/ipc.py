"""Length-prefixed pickle frames between the harness and its Java worker process."""

from __future__ import annotations

import pickle
import struct
from typing import BinaryIO

_HEADER = struct.Struct("<Q")


def send(stream: BinaryIO, message) -> None:
    payload = pickle.dumps(message, protocol=5)
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def receive(stream: BinaryIO):
    """The next message, or EOFError when the other side has gone."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("peer closed the pipe")
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("peer closed the pipe mid-message")
    return pickle.loads(payload)
