"""Messages between the harness and a worker: large arrays through shared memory, bit for bit, and
shared memory that goes away with the worker."""

import os
import signal

import numpy as np
import pytest

from harness.runtimes import ipc


@pytest.fixture
def pair():
    """Two ends of a worker's channel in one process: harness (copies what it receives), worker (reads in place)."""
    requests_r, requests_w = os.pipe()
    replies_r, replies_w = os.pipe()
    requests, replies = ipc.Arena.create("test-requests"), ipc.Arena.create("test-replies")
    harness = ipc.Channel(os.fdopen(requests_w, "wb"), os.fdopen(replies_r, "rb"), requests, replies)
    worker = ipc.Channel(os.fdopen(replies_w, "wb"), os.fdopen(requests_r, "rb"),
                         ipc.Arena(os.dup(replies.fd)), ipc.Arena(os.dup(requests.fd)), in_place=True)
    yield harness, worker
    for channel in (harness, worker):
        channel.close()
        channel.writer.close()
        channel.reader.close()


def pipe_bytes(channel, message) -> int:
    """Bytes `message` puts on the pipe (not in shared memory)."""
    sent = []
    write = channel.writer.write
    channel.writer.write = lambda data: (sent.append(len(data)), write(data))[1]
    try:
        channel.send(message)
    finally:
        channel.writer.write = write
    return sum(sent)


ARRAYS = [
    np.arange(2**20, dtype=np.float32).reshape(1024, 1024),  # 4 MiB: shared memory
    np.arange(10, dtype=np.int64),  # small: in the pickle
    np.array(3.5, np.float64),  # 0-d
    np.zeros((0, 3), np.float16),  # empty
    np.arange(2**18, dtype=np.float64).reshape(512, 512)[:, ::2],  # not contiguous
    np.array([b"a path"]), np.array([True, False]), np.array([1 + 2j], np.complex64),
]


def test_arrays_cross_bit_for_bit_and_large_ones_skip_the_pipe(pair):
    harness, worker = pair
    nbytes = pipe_bytes(harness, {"arrays": ARRAYS, "scalar": np.float32(2.5)})
    assert nbytes < 64 * 1024  # the 4 MiB array did not go through the pipe
    got = worker.receive()
    for sent, received in zip(ARRAYS, got["arrays"]):
        assert received.dtype == sent.dtype and received.shape == sent.shape
        assert received.tobytes() == sent.tobytes()
        assert not received.flags.writeable  # a worker reads requests in place, and must not write them
    assert got["scalar"] == np.float32(2.5) and got["scalar"].dtype == np.float32


def test_a_reply_written_in_shared_memory_is_sent_without_a_copy_and_received_as_a_copy(pair):
    harness, worker = pair
    out = worker.reserve((256, 1024), np.float32)
    out[...] = 7.0
    assert pipe_bytes(worker, {"value": out}) < 1024
    first = harness.receive()["value"]
    worker.send({"value": np.zeros((256, 1024), np.float32)})  # rewrites the arena
    second = harness.receive()["value"]
    assert np.all(first == 7.0) and np.all(second == 0.0)  # the harness's arrays are its own
    assert first.flags.writeable


def test_arenas_grow_for_larger_messages(pair):
    harness, worker = pair
    for megabytes in (1, 3, 9):
        array = np.full(megabytes * 2**18, megabytes, np.float32)
        harness.send({"a": array})
        assert np.array_equal(worker.receive()["a"], array)


@pytest.mark.java
def test_shared_memory_goes_with_a_killed_worker(java):
    """A worker killed mid-session leaves no shared memory: the harness drops its side, the kernel the rest."""
    def memfds() -> set[int]:
        """The shared memory files of the worker this process still holds (a map holds a descriptor too)."""
        held = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}").startswith(f"/memfd:{java.worker.name}-"):
                    held.add(os.stat(f"/proc/self/fd/{fd}").st_ino)
            except OSError:
                pass
        return held

    array = np.ones(2**22, np.float32)
    assert np.array_equal(java.echo(array), array)
    before = memfds()
    assert len(before) == 2  # one arena each way
    pid = java.worker.pid
    os.killpg(pid, signal.SIGKILL)
    from harness.runtimes import WorkerLost

    with pytest.raises(WorkerLost):
        java.echo(array)
    assert memfds() == set() and not os.path.exists(f"/proc/{pid}/fd")
    assert np.array_equal(java.echo(array), array)  # the next request starts a new worker, with new arenas
    after = memfds()
    assert len(after) == 2 and not after & before


@pytest.mark.parametrize("extra", [0, 3, 65])  # chunk boundaries: whole, odd, past an alignment
def test_large_copies_split_across_cpus_keep_every_byte(extra):
    source = np.random.default_rng(extra).integers(0, 256, ipc.PARALLEL_COPY + extra, dtype=np.uint8)
    target = np.zeros_like(source)
    ipc.copy(target, source)
    assert target.tobytes() == source.tobytes()


def test_memory_of_a_received_array_is_reused_only_once_nothing_refers_to_it(pair):
    """Large arrays received land in reused buffers (ipc._Landing): never one an array or view still uses."""
    harness, worker = pair
    n = ipc.PARALLEL_COPY // 4 + 1  # float32, just over the size that goes to the landing buffers

    def receive(value: float) -> np.ndarray:
        worker.send({"a": np.full(n, value, np.float32)})
        return harness.receive()["a"]

    first = receive(1.0)
    view = first[5:10]
    address = first.ctypes.data
    del first
    second = receive(2.0)  # the view keeps the first buffer in use
    assert second.ctypes.data != address and np.all(view == 1.0)
    del view
    third = receive(3.0)  # now free: written again
    assert third.ctypes.data == address and np.all(third == 3.0) and np.all(second == 2.0)
