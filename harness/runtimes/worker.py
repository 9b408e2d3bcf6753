"""The serving loop every runtime worker process runs (java_worker, python_worker).

A worker hosts one runtime (TF Java V, or TF Python X in its own venv) for a whole harness
session, so TensorFlow and the JVM start once; a native crash kills only the worker. Messages
(ipc.py frames) and replies:

  {"op": "start", ...}                      -> facts (versions), after the runtime is up
  {"op": "run", "saved_model", "data", "steps", "workdir", "interface", ...}
                                            -> a trajectory.Trajectory (failures inside it)
  {"op": "restore", "way", "prefix", and the run's keys}
                                            -> the Trajectory of the restore part of the plan, one way
  {"op": "session", "action", "id", "args"} -> {"value": ...} | {"failure": "..."}: a live session
                                               driven call by call (reference, stateful tests)
  {"op": "echo", "array"}                   -> the array after a trip through the runtime's tensors
  {"op": "bench", "saved_model", "data", "calls", "warmup", "sample_every", ...}
                                            -> per-call times of the plan's train step on one session,
                                               the worker's RSS along the way (benchmarks, soak)

A request the worker cannot serve at all comes back as {"error": ..., "traceback": ...}.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from . import ipc
from ..plan.interface import Interface
from ..plan.trajectory import describe, is_runtimes, restore_and_train, run
from ..runs.timing import Stopwatch

STAGE_MARK = "harness-stage:"  # written to stderr before each stage: names the stage of a crash


class Host:
    """What a worker module provides: start the runtime, open sessions on an export, echo arrays."""

    def start(self, message: dict) -> dict:
        raise NotImplementedError

    def open(self, saved_model: Path, message: dict):
        """A SignatureSession (trajectory.py) on `saved_model`, with `.unreleased` if it counts leaks."""
        raise NotImplementedError

    def echo(self, array):
        raise NotImplementedError

    def plain_java(self, saved_model: Path, message: dict):
        """The plain-Java loop's step in this process, with .step(i) -> ns and .close() (TF Java only)."""
        raise NotImplementedError(f"{type(self).__name__} has no plain-Java loop to interleave")


_channel: ipc.Channel | None = None


def reply_array(shape, dtype):
    """An array the reply to the current request can carry without a copy (shared memory, see ipc.py)."""
    import numpy as np

    return np.empty(shape, dtype) if _channel is None else _channel.reserve(shape, dtype)


def serve(host: Host) -> None:
    global _channel
    # fd 1 carries the protocol; anything native code prints goes to stderr (the worker's log).
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    arenas = [ipc.Arena(int(fd)) for fd in os.environ.pop(ipc.ENV, "").split(",") if fd]
    incoming, outgoing = arenas if arenas else (None, None)
    # Arrays of a request are read where the harness wrote them: valid while the request is served.
    _channel = channel = ipc.Channel(replies, requests, outgoing, incoming, in_place=True)
    live: dict[int, object] = {}
    while True:
        try:
            message = channel.receive()
        except EOFError:
            return
        try:
            op = message["op"]
            if op == "start":
                reply = host.start(message)
            elif op == "run":
                reply = run_plan(host, message)
            elif op == "restore":
                reply = run_plan(host, message, restore=True)
            elif op == "session":
                reply = session_request(host, live, message)
            elif op == "echo":
                reply = host.echo(message["array"])
            elif op == "bench":
                reply = bench_or_failure(host, message)
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as e:  # a harness bug or a runtime that cannot start: the caller says which
            print(traceback.format_exc(), file=sys.stderr, flush=True)  # into the worker's log
            reply = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        channel.send(reply)


def tags_of(message: dict) -> tuple[str, ...]:
    """The tag set of the meta graph to load: the plan's (its interface's); serve for requests without one."""
    return tuple(message.get("interface", {}).get("tags", ("serve",)))


def on_stage(stage: str) -> None:
    print(f"{STAGE_MARK}{stage}", file=sys.stderr, flush=True)


def run_plan(host: Host, message: dict, restore: bool = False):
    """The plan (trajectory.run), or with `restore` its restore part for one way (trajectory.restore_and_train)."""
    sessions = []

    def open_fresh():
        return host.open(Path(message["saved_model"]), message)

    def open_session():
        sessions.append(open_fresh())
        return sessions[-1]

    data, steps, workdir = message["data"], range(*message["steps"]), Path(message["workdir"])
    interface = Interface.from_dict(message["interface"])
    watch = Stopwatch(on_stage)
    if restore:
        trajectory = restore_and_train(open_session, message["way"], message["prefix"], data, steps, workdir,
                                       interface, watch)
    else:
        trajectory = run(open_session, data, steps, workdir, interface, watch)
    trajectory.notes["seconds"] = watch.stop()  # where the request's time went (timing.py)
    unreleased = getattr(sessions[0], "unreleased", None) if sessions else None
    if unreleased is not None:
        trajectory.notes["unreleased_native_pointers"] = unreleased
    return trajectory


def rss() -> int:
    """This process's resident set size, bytes (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def bench_or_failure(host: Host, message: dict) -> dict:
    """bench(), or {"failure": ...} when the runtime itself fails the step (LiteRT on an export that needs Flex):
    a finding about the runtime, not a bug of the harness's worker."""
    try:
        return bench(host, message)
    except Exception as e:
        if not is_runtimes(e):
            raise
        return {"failure": describe(e)}


def bench(host: Host, message: dict) -> dict:
    """`warmup` + `calls` train steps (trajectory.trainer, the plan's loop body) on one session,
    cycling through the data's steps; times the `calls` after the warm-up.

    Returns ns (each timed call, wall clock), cpu_ns (the process's CPU time over the timed calls:
    every thread, TensorFlow's and the JVM's included), rss ([call index, bytes] every
    `sample_every` calls, from before the warm-up to the end), losses (of the first pass over the
    data: the plan's train.loss) and unreleased (native pointers left alive, when the runtime counts them).

    With "plain_java" (TF Java): after each call, one step of the plain-Java loop in this JVM on a
    session of its own (host.plain_java), timed in Java: plain_ns pairs with ns call by call,
    plain_losses are its losses' bytes over the first pass, and cpu_ns is left out (it would count both loops).
    """
    import numpy as np

    from ..plan.trajectory import trainer

    data, interface = message["data"], Interface.from_dict(message["interface"])
    steps = len(next(v for k, v in data.items() if k.startswith("train.")))
    calls, warmup, every = message["calls"], message.get("warmup", 0), message.get("sample_every", 0)
    session = host.open(Path(message["saved_model"]), message)
    plain = None
    try:
        if message.get("plain_java"):
            plain = host.plain_java(Path(message["saved_model"]), message)
        train = trainer(session, data, interface)
        ns, plain_ns = np.zeros(calls, np.int64), np.zeros(calls, np.int64)
        samples, losses, plain_losses = [(0, rss())], [], []
        clock = time.perf_counter_ns
        for i in range(warmup + calls):
            if i == warmup:
                cpu = time.process_time_ns()
            started = clock()
            loss = train(i % steps)
            took = clock() - started
            if plain is not None:
                plain_took = plain.step(i)
                if i >= warmup:
                    plain_ns[i - warmup] = plain_took
                if i < steps:
                    plain_losses.append(bytes(memoryview(plain.loss())))
            if i >= warmup:
                ns[i - warmup] = took
            if i < steps:
                losses.append(loss)
            if every and (i + 1) % every == 0:
                samples.append((i + 1, rss()))
        cpu = time.process_time_ns() - cpu if calls else 0
        samples.append((warmup + calls, rss()))
        reply = {"ns": ns, "cpu_ns": None if plain is not None else cpu, "rss": np.array(samples, np.int64), "losses": losses,
                 "unreleased": getattr(session, "unreleased", None)}
        if plain is not None:
            reply["plain_ns"], reply["plain_losses"] = plain_ns, plain_losses
        return reply
    finally:
        session.close()
        if plain is not None:
            plain.close()


def session_request(host: Host, live: dict, message: dict) -> dict:
    """open / call / save_variables / restore_variables / export / close on a live session.

    A runtime failure is the result under test: it comes back as {"failure": ...}, not raised.
    """
    action, args = message["action"], message.get("args", ())
    try:
        if action == "open":
            key = max(live, default=0) + 1
            live[key] = host.open(Path(args[0]), message)
            return {"value": key}
        session = live[message["id"]]
        if action == "close":
            live.pop(message["id"]).close()
            return {"value": getattr(session, "unreleased", 0)}
        method: Callable = getattr(session, action)
        return {"value": method(*args)}
    except Exception as e:  # reported to the caller with its type and message
        return {"failure": describe(e)}
