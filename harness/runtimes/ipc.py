"""Messages between the harness and its worker processes: pickle frames on a pipe, large arrays in shared memory.

Workers run other interpreters (a TF 2.15 venv has numpy 1.x, the harness numpy 2.x), whose
numpy pickles do not load in each other. So arrays never cross as numpy pickles: they cross as
(dtype string, shape, raw buffer) and are rebuilt by this module on the other side.

The raw buffers of large arrays (OUT_OF_BAND bytes and more) do not go through the pipe: they are
pickle protocol 5 out-of-band buffers, copied once into an Arena, a shared memory file (memfd)
both processes map, and read from there by the other side. The pipe carries the pickle and where
each buffer is. Each direction has its own arena, written only by its sender; the protocol is
strictly request / reply, so an arena is rewritten only after the other side has read it.

Lifetime: an arena has no name in any file system. The harness creates both of a worker's arenas
before starting it (the worker inherits the two file descriptors); the memory is freed by the
kernel when the last process holding them ends or closes them, so a crashed or killed worker (or
harness) leaves no segment behind.
"""

from __future__ import annotations

import io
import mmap
import os
import pickle
import select
import struct
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

import numpy as np

_HEADER = struct.Struct("<QQ")  # payload bytes, out-of-band buffers
_PLACE = struct.Struct("<QQ")  # per out-of-band buffer: offset in the sender's arena, bytes
OUT_OF_BAND = 1 << 16  # smaller buffers stay in the pickle (a page-sized copy costs less than the bookkeeping)
# Copies of this many bytes and more are split across the CPUs: one core copies at ~7 GB/s here, two
# at ~11 (measured, 64 MiB). Below it, starting threads costs more than it saves.
PARALLEL_COPY = 8 << 20
_ALIGN = 64
ENV = "HARNESS_IPC_ARENAS"  # "<request fd>,<reply fd>" in a worker's environment


class Timeout(Exception):
    """No reply within the deadline."""


def _rebuild(dtype: str, shape: tuple, raw) -> np.ndarray:
    """The array, a copy of its own (the sender rewrites its arena with its next message)."""
    dtype, raw = np.dtype(dtype), memoryview(raw)  # in the pickle: a bytearray; out of band: a memoryview
    if raw.nbytes < PARALLEL_COPY:
        array = np.empty(shape, dtype)
    else:
        array = _landing.take(raw.nbytes).view(dtype).reshape(shape)
    copy(np.frombuffer(array, np.uint8), np.frombuffer(raw, np.uint8))
    return array


def _rebuild_in_place(dtype: str, shape: tuple, raw) -> np.ndarray:
    """The array, read-only, where it lies: valid until the next message on this channel."""
    array = np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)
    array.flags.writeable = False
    return array


def _rebuild_scalar(dtype: str, raw) -> np.generic:
    return np.frombuffer(raw, dtype=np.dtype(dtype))[0]


class _Landing:
    """Memory for large arrays received, reused once no array refers to it any more.

    A fresh 64 MiB allocation costs more than the copy into it (page faults; and stalls of 50 ms
    measured while the kernel compacts memory for huge pages); a buffer written before costs nothing.
    Every view of an array received refers to its buffer directly (numpy's base is the owner), so a
    buffer only this list refers to is free.
    """

    KEEP = 1 << 28  # bytes of free buffers kept for reuse

    def __init__(self):
        self.buffers: list[np.ndarray] = []
        self.lock = threading.Lock()  # worker sets receive in threads of their own (-j)

    def take(self, nbytes: int) -> np.ndarray:
        """`nbytes` bytes nothing else refers to: a free buffer of at most twice that size, or a new one."""
        with self.lock:
            free = [b for b in self.buffers if sys.getrefcount(b) == 3]  # the list, `b`, getrefcount's argument
            fits = [b for b in free if nbytes <= b.nbytes <= 2 * nbytes]
            buffer = min(fits, key=lambda b: b.nbytes) if fits else None
            spare = [b for b in free if b is not buffer]  # oldest first
            while spare and sum(b.nbytes for b in spare) > self.KEEP:
                dropped = spare.pop(0)
                self.buffers = [b for b in self.buffers if b is not dropped]
            if buffer is None:
                buffer = np.empty(nbytes, np.uint8)
                self.buffers.append(buffer)
            return buffer[:nbytes]


_landing = _Landing()
_CPUS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
_copiers = ThreadPoolExecutor(max(1, _CPUS - 1), thread_name_prefix="ipc-copy")  # threads start on first use


def copy(to: np.ndarray, source: np.ndarray) -> None:
    """to[...] = source for two byte arrays of one size; a large copy in one chunk per CPU, in parallel
    (numpy lets go of the GIL while it copies)."""
    if source.nbytes < PARALLEL_COPY or _CPUS < 2:
        np.copyto(to, source)
        return
    step = -(-source.nbytes // _CPUS // _ALIGN) * _ALIGN
    chunks = [_copiers.submit(np.copyto, to[at:at + step], source[at:at + step])
              for at in range(step, source.nbytes, step)]
    np.copyto(to[:step], source[:step])  # this thread copies the first chunk
    for chunk in chunks:
        chunk.result()


class _Unpickler(pickle.Unpickler):
    in_place = False

    def find_class(self, module, name):
        if self.in_place and module == __name__ and name == "_rebuild":
            return _rebuild_in_place
        return super().find_class(module, name)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufcSU":
            return _rebuild, (obj.dtype.str, obj.shape, pickle.PickleBuffer(np.ascontiguousarray(obj)))
        if isinstance(obj, np.generic) and obj.dtype.kind in "biufcSU":
            return _rebuild_scalar, (obj.dtype.str, obj.tobytes())
        return NotImplemented


class Arena:
    """A growable shared memory file, mapped by both processes; written by one of them.

    `reserve` hands out arrays inside it (e.g. a worker's large reply, written there directly);
    `place` copies a buffer in, unless it already lies inside. Offsets restart with each message.
    """

    def __init__(self, fd: int):
        self.fd = fd
        self.map: mmap.mmap | None = None
        self.base = 0  # address of self.map
        self.used = 0  # bytes handed out for the message being built

    @classmethod
    def create(cls, name: str) -> "Arena | None":
        """A new arena, or None where the platform has no memfd (messages then carry everything in the pipe)."""
        if not hasattr(os, "memfd_create"):
            return None
        return cls(os.memfd_create(name, os.MFD_CLOEXEC))

    def _ensure(self, size: int) -> None:
        """Maps at least `size` bytes, growing the file if this side writes past its end."""
        if self.map is not None and len(self.map) >= size:
            return
        length = os.fstat(self.fd).st_size
        if length < size:  # only the writer grows it
            length = max(size, 2 * length, 1 << 20)
            length = (length + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
            os.ftruncate(self.fd, length)
        # Arrays handed out from the old map keep it alive; both maps show the same pages.
        self.map = mmap.mmap(self.fd, length)
        self.base = np.frombuffer(self.map, np.uint8).ctypes.data

    def reserve(self, shape, dtype) -> np.ndarray:
        """A writable array inside the arena, sent without a copy if it is part of the next message."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        offset = self._take(nbytes)
        return np.frombuffer(self.map, np.uint8, nbytes, offset).view(dtype).reshape(shape)

    def _take(self, nbytes: int) -> int:
        offset = (self.used + _ALIGN - 1) // _ALIGN * _ALIGN
        self._ensure(offset + nbytes)
        self.used = offset + nbytes
        return offset

    def place(self, raw: memoryview) -> tuple[int, int]:
        """(offset, bytes) of `raw` in the arena: where it already is, or where it is copied to."""
        nbytes = raw.nbytes
        if self.map is not None and nbytes:
            address = np.frombuffer(raw, np.uint8).ctypes.data
            if self.base <= address and address + nbytes <= self.base + len(self.map):
                return address - self.base, nbytes
        offset = self._take(nbytes)
        copy(np.frombuffer(self.map, np.uint8, nbytes, offset), np.frombuffer(raw, np.uint8))
        return offset, nbytes

    def view(self, offset: int, nbytes: int) -> memoryview:
        """What the other side placed at `offset` (mapping more of the file if it has grown)."""
        self._ensure(offset + nbytes)
        return memoryview(self.map)[offset:offset + nbytes]

    def close(self) -> None:
        self.map = None  # unmapped when the last array handed out from it goes
        try:
            os.close(self.fd)
        except OSError:
            pass


class Channel:
    """One side of a worker's pipe pair, with the arena it writes and the arena it reads."""

    def __init__(self, writer: BinaryIO, reader: BinaryIO, outgoing: Arena | None = None,
                 incoming: Arena | None = None, in_place: bool = False):
        self.writer, self.reader = writer, reader
        self.outgoing, self.incoming = outgoing, incoming
        self.in_place = in_place  # arrays received are views of the incoming arena, valid until the next message

    def reserve(self, shape, dtype) -> np.ndarray:
        """An array to fill and send in the next message without a copy (a plain array without an arena)."""
        if self.outgoing is None:
            return np.empty(shape, dtype)
        return self.outgoing.reserve(shape, dtype)

    def send(self, message) -> None:
        places = []
        arena = self.outgoing

        def out_of_band(buffer: pickle.PickleBuffer) -> bool:
            raw = buffer.raw()
            if arena is None or raw.nbytes < OUT_OF_BAND:
                return True  # in the pickle
            places.append(arena.place(raw))
            return False

        stream = io.BytesIO()
        try:
            _Pickler(stream, protocol=5, buffer_callback=out_of_band).dump(message)
        finally:
            if arena is not None:
                arena.used = 0  # the next message starts at the beginning again
        payload = stream.getbuffer()
        self.writer.write(_HEADER.pack(len(payload), len(places)) + b"".join(_PLACE.pack(*p) for p in places))
        self.writer.write(payload)
        self.writer.flush()

    def receive(self, timeout: float | None = None):
        """The next message; EOFError when the other side has gone, Timeout when `timeout` s pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        size, count = _HEADER.unpack(_read(self.reader, _HEADER.size, deadline))
        places = [_PLACE.unpack_from(raw, i * _PLACE.size)
                  for raw in [_read(self.reader, count * _PLACE.size, deadline)] for i in range(count)]
        payload = _read(self.reader, size, deadline)
        buffers = [self.incoming.view(offset, nbytes).toreadonly() for offset, nbytes in places]
        unpickler = _Unpickler(io.BytesIO(payload), buffers=buffers)
        unpickler.in_place = self.in_place
        return unpickler.load()

    def close(self) -> None:
        for arena in (self.outgoing, self.incoming):
            if arena is not None:
                arena.close()


def dumps(message) -> bytes:
    """The whole message as one pickle, arrays in band (for tests and tools)."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(message)
    return buffer.getvalue()


def _read(stream: BinaryIO, size: int, deadline: float | None) -> bytes:
    if size == 0:
        return b""
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
