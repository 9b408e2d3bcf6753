"""Benchmarks: `python -m harness.testing.bench` (`nox -s bench`) prints them and writes reports/bench.json.

Figures (each measured, none assumed; a noisy machine shows in `rounds` and the CPU times):

  train_step     per-call time of one optimizer step of the plan (trajectory.trainer, tensors
                 made per call, the loss read back), inside each runtime's worker: Python eager
                 (tf.saved_model.load), the TF1 session loader, TF Java through JPype; for the MLP
                 and the CNN (route tf_keras). plain_java: the plain-Java CLI's own bench step
                 (TrainExport.Stepper, the body of `TrainExport --bench`), loaded into the TF Java
                 worker's JVM and run after each harness call, on a session of its own, timed in
                 Java: the machine's load (which drifts the median of a block of calls by up to a
                 third here) weighs on both alike. jpype_over_plain_java: per round, median over
                 median of those paired calls; the median of the rounds. plain_java_own_jvm: the
                 same loop in a JVM of its own (`TrainExport --bench`, no Python in the process),
                 measured after the rounds: whether the worker's JVM runs Java any slower.
                 Every other kind with a benchmark step (Capabilities.benchmark_step) gets a row
                 of its own, Runtime.bench_step: c-X (the C program's --bench, timed in C) and
                 tflite-X (the signature runner in its worker; X: the first TFLite with Flex) and
                 litert-X (X: versions.LITERT; a model it cannot train, for its Flex ops, is
                 n/a with the runtime's reason: cannot_train).
                 Every loop first makes as many untimed calls as it times (JIT warm-up).
  transfer       a float32 array, numpy -> TF Java tensor -> numpy (runtime.echo) from the harness
                 process: gb_per_s = array bytes / round trip (gb_per_s_both_ways counts the bytes
                 that crossed in both directions). The trip makes four copies (into shared memory,
                 into the tensor, out of it into shared memory, out into the harness's array), each
                 split across the CPUs (ipc.copy, Calls.copy): copy_gb_per_s, one such copy of the
                 array here, is their ceiling (memcpy_gb_per_s: on one core).
  parallel       the conformance run at -j 1 and -j 2 (warm export cache): parallel_speedup =
                 seconds(-j 1) / seconds(-j 2); identical_results compares the two reports
                 without their timings; timings: where the -j 2 run's seconds went (the report's,
                 runs/timing.py), printed as a stage x runtime table with the fixed cost apart.
  soak           N train calls on one TF Java session after --soak-warmup untimed ones: the
                 worker's RSS after the warm-up and at the end (rss_growth), tensors left open.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import atomic, resources
from ..runs.versions import TF_JAVA, TF_PYTHON

MODELS = (("mlp", "mlp_regression", "tf_keras"), ("cnn", "cnn", "tf_keras"))


def summary(ns: np.ndarray, cpu_ns: int | None = None) -> dict:
    us = np.asarray(ns, np.float64) / 1e3
    out = {"calls": int(us.size), "median_us": round(float(np.median(us)), 1),
           "p10_us": round(float(np.percentile(us, 10)), 1), "mean_us": round(float(us.mean()), 1)}
    if cpu_ns is not None and us.size:
        out["cpu_us_per_call"] = round(cpu_ns / us.size / 1e3, 1)  # the worker's every thread
    return out


def export(spec_name: str, route: str, cache_dir: Path):
    """(bundle, data) of a zoo export, built if needed."""
    from ..exports import bundle, spec

    b = bundle.build(spec.find(spec_name), route, cache_dir / "exports")
    return b, b.data()


def train_step(runtimes_by_kind: dict, cache_dir: Path, calls: int, rounds: int, work: Path,
               java_version: str = TF_JAVA, own_jvm: bool = True) -> dict:
    """Per-call train step of each model in each runtime; the JPype / plain-Java ratio per model."""
    from ..runtimes import maven, plain_java
    from ..plan.interface import ZOO
    from ..plan.trajectory import RuntimeFailure

    jar = str(plain_java.jar(maven.api_version(java_version), cache_dir))
    out = {}
    for label, spec_name, route in MODELS:
        b, data = export(spec_name, route, cache_dir)
        model: dict = {"spec": spec_name, "route": route}
        for kind, runtime in runtimes_by_kind.items():
            if kind in ("python", "python-session"):
                r = runtime.bench(b.saved_model, data, calls, warmup=calls)  # as plain Java: as many untimed first
                model[kind] = summary(r["ns"], r["cpu_ns"])
            elif kind != "java":
                try:
                    model[kind] = runtime.bench_step(b.saved_model, data, calls)
                except RuntimeFailure as e:  # it cannot train this model (LiteRT: Flex ops): the row says why
                    model[kind] = {"cannot_train": str(e)}
        inputs, rows = work / label / "inputs", len(next(v for k, v in data.items() if k.startswith("train.")))
        plain_java.write_inputs(data, ZOO, range(0, rows), inputs)  # every row: call i trains row i % rows in both loops
        per_round = []
        for _ in range(rounds):
            r = runtimes_by_kind["java"].bench(b.saved_model, data, calls, warmup=calls,
                                               plain_java={"jar": jar, "inputs": str(inputs)})
            jpype = summary(r["ns"]) | {"unreleased_native_pointers": r["unreleased"]}
            plain = summary(r["plain_ns"])
            per_round.append({"jpype": jpype, "plain_java": plain,
                              "ratio": round(jpype["median_us"] / plain["median_us"], 3),
                              "paired_ratio": round(float(np.median(r["ns"] / r["plain_ns"])), 3)})
        model["java_jpype"] = min((e["jpype"] for e in per_round), key=lambda s: s["median_us"])
        model["plain_java"] = min((e["plain_java"] for e in per_round), key=lambda s: s["median_us"])
        model["jpype_over_plain_java"] = float(np.median([e["ratio"] for e in per_round]))
        model["rounds"] = per_round
        if own_jvm:  # the same loop in a JVM with no Python in the process: is the worker's JVM any slower?
            model["plain_java_own_jvm"] = _plain_java(b, data, calls, work / label / "own-jvm", java_version, cache_dir)
        out[label] = model
    return out


def _plain_java(b, data, calls: int, workdir: Path, version: str, cache_dir: Path) -> dict:
    from ..runtimes import plain_java
    from ..plan.interface import ZOO

    run = plain_java.run(b.saved_model, data, ZOO, range(0, b.manifest["steps"]), workdir, version, cache_dir,
                         threads=1, bench=calls)
    bench = run.bench
    return {"calls": bench["calls"], "median_us": round(bench["median_us"], 1), "mean_us": round(bench["mean_us"], 1),
            "min_us": round(bench["min_us"], 1)}


def transfer(java, megabytes: int = 64, repeats: int = 20, warmup: int = 20) -> dict:
    """numpy -> TF Java tensor -> numpy for a float32 array of `megabytes` MiB; checks every byte came back."""
    from ..runtimes import ipc

    array = np.random.default_rng(0).standard_normal(megabytes * 2**18).astype(np.float32)
    seconds = []
    # The first trips map the shared memory, grow the worker's heap, and run Java's copies before the
    # JIT compiles them: ~9 trips at 40 ms on the worker's side, 14 ms after (measured).
    for i in range(warmup + repeats):
        started = time.perf_counter()
        back = java.echo(array)
        took = time.perf_counter() - started
        if not np.array_equal(back, array):
            raise AssertionError("the array came back different")
        if i >= warmup:
            seconds.append(took)
    del back
    raw, target = np.frombuffer(array, np.uint8), np.zeros(array.nbytes, np.uint8)
    one, parallel = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(target, raw)
        one.append(time.perf_counter() - started)
        started = time.perf_counter()
        ipc.copy(target, raw)
        parallel.append(time.perf_counter() - started)
    median = float(np.median(seconds))
    return {"megabytes": megabytes, "round_trip_ms": round(median * 1e3, 1), "best_ms": round(min(seconds) * 1e3, 1),
            "gb_per_s": round(array.nbytes / median / 1e9, 2),
            "gb_per_s_both_ways": round(2 * array.nbytes / median / 1e9, 2),
            "memcpy_gb_per_s": round(array.nbytes / float(np.median(one)) / 1e9, 2),
            "copy_gb_per_s": round(array.nbytes / float(np.median(parallel)) / 1e9, 2)}


def soak(java, cache_dir: Path, calls: int, warmup: int, every: int = 100) -> dict:
    """`calls` train steps of the MLP on one TF Java session; RSS growth after the warm-up."""
    b, data = export("mlp_regression", "tf_keras", cache_dir)
    r = java.bench(b.saved_model, data, calls, warmup, every)
    return soak_verdict(r["rss"], warmup) | {"calls": calls, "warmup_calls": warmup,
                                             "unreleased_native_pointers": r["unreleased"],
                                             "step": summary(r["ns"], r["cpu_ns"])}


def soak_verdict(samples: np.ndarray, warmup: int) -> dict:
    """From [call index, RSS bytes] samples: growth from the end of the warm-up to the end, and the
    trend (least-squares slope over the samples after the warm-up, as growth over the whole run)."""
    samples = np.asarray(samples, np.float64)
    after = samples[samples[:, 0] >= warmup]
    start, end = after[0, 1], after[-1, 1]
    slope = np.polyfit(after[:, 0], after[:, 1], 1)[0] if len(after) > 2 else 0.0
    span = after[-1, 0] - after[0, 0]
    return {"rss_after_warmup_mb": round(start / 2**20, 1), "rss_end_mb": round(end / 2**20, 1),
            "rss_growth": round((end - start) / start, 4), "rss_trend": round(slope * span / start, 4)}


def parallel(jobs: tuple[int, int], cache_dir: Path, work: Path, specs: list[str] | None = None) -> dict:
    """The conformance run (the CI subset, or `specs`) at each -j, export cache warm: seconds, and
    whether the two reports agree apart from timings."""
    from ..reports import report
    from ..exports import spec as spec_mod

    for s in [spec_mod.find(n) for n in specs] if specs else spec_mod.all_specs():  # exports are not what is timed
        for route in s.ci_routes:
            export(s.name, route, cache_dir)
    chosen = [a for name in specs or () for a in ("--spec", name)]
    seconds, reports, timings = {}, {}, {}
    for j in jobs:
        out = work / f"j{j}"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "harness", "conformance", "-j", str(j), "--out", str(out),
                               "--cache-dir", str(cache_dir), *chosen], capture_output=True, text=True)
        seconds[j] = round(time.monotonic() - started, 1)
        if not (out / "conformance.json").exists():
            raise RuntimeError(f"conformance -j {j} wrote no report (exit {done.returncode}): {done.stderr[-2000:]}")
        written = json.loads((out / "conformance.json").read_text())
        reports[j], timings[j] = report.reproducible(written, out), written.get("timings")
    a, b = jobs
    return {"set": " ".join(chosen) or "the CI subset", "seconds": {f"-j {j}": s for j, s in seconds.items()},
            "parallel_speedup": round(seconds[a] / seconds[b], 2), "ratio": round(seconds[b] / seconds[a], 2),
            "identical_results": reports[a] == reports[b],
            "differing_fields": sorted(k for k in reports[a].keys() | reports[b].keys()
                                       if reports[a].get(k) != reports[b].get(k)),
            "reports": {f"-j {j}": str(work / f"j{j}" / "conformance.json") for j in jobs},
            "cpu_count": os.cpu_count(), "timings": timings[b]}  # where the -j 2 run's seconds went


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.testing.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000,
                        help="timed train calls per measurement, after as many untimed ones (default 2000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of JPype and plain-Java calls, interleaved call by call, per model (default 3)")
    parser.add_argument("--soak", type=int, default=10000, help="train calls of the soak (default 10000)")
    # Measured (MLP, TF Java 1.1.0, -Xmn64m): RSS steps up twice in the first ~4,000 calls (JIT and
    # native warm-up, +7%), then stays within 0.5% for the next 8,000.
    parser.add_argument("--soak-warmup", type=int, default=5000, help="untimed soak calls first (default 5000)")
    parser.add_argument("--megabytes", type=int, default=64, help="array size of the transfer figure (default 64)")
    parser.add_argument("--parallel", default="ci", metavar="SET",
                        help="'ci' (the CI subset, default), 'none', or spec names to run at -j 1 and -j 2, e.g. "
                             "'mlp_regression,cnn'")
    parser.add_argument("--java", default=TF_JAVA, metavar="VERSION", help=f"TF Java version (default {TF_JAVA})")
    parser.add_argument("--out", type=Path, default=resources.reports_dir(), help="where bench.json goes (default reports/ in a checkout)")
    parser.add_argument("--cache-dir", type=Path, default=resources.cache_dir())
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ..cli import quiet

    with quiet.tensorflow_to(args.out / "logs" / "bench.log"):  # TensorFlow's own lines, not the figures
        return _run(args, argv)


def _run(args, argv) -> int:
    from ..runs import runner
    from .. import runtimes

    runner.configure_tensorflow(1)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    from ..runtimes.java import Java
    from ..runtimes.python import Python, PythonSession

    names = {"python": f"{Python.kind}-{TF_PYTHON}", "python-session": f"{PythonSession.kind}-{TF_PYTHON}",
             "java": f"{Java.kind}-{args.java}"}  # the table's rows by these keys
    # Every other kind with a benchmark step (the C API, TFLite...): a row each, its version the first it trains at.
    names |= {name: name for name in (f"{k.kind}-{_bench_version(k)}" for k in runtimes.KINDS.values()
                                       if k.capabilities.benchmark_step and k not in (Python, PythonSession, Java))}
    result: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(["python -m harness.testing.bench", *(argv or sys.argv[1:])])}
    try:
        import platform

        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        result["machine"] = {"cpu_count": os.cpu_count(), "load_average_at_start": load, "platform": platform.platform()}
        ws = runtimes.WorkerSet(list(names.values()), args.cache_dir, work / "logs", threads=1)
        ws.start(_raise)
        by_kind = {kind: ws.runtimes[name] for kind, name in names.items()}
        try:
            _say("train step (per call, in each worker; plain Java: TrainExport --bench)")
            result["train_step"] = train_step(by_kind, args.cache_dir, args.calls, args.rounds,
                                              work / "plain", args.java)
            result["other_kinds"] = [k for k in names if k not in ("python", "python-session", "java")]
            _say(f"transfer ({args.megabytes} MiB float32, numpy -> TF Java tensor -> numpy)")
            result["transfer"] = transfer(by_kind["java"], args.megabytes)
            _say(f"soak ({args.soak} train calls, one TF Java session)")
            result["soak"] = soak(by_kind["java"], args.cache_dir, args.soak, args.soak_warmup)
        finally:
            ws.stop()
        if args.parallel != "none":
            _say("parallel (conformance -j 1, then -j 2)")
            specs = None if args.parallel == "ci" else args.parallel.split(",")
            result["parallel"] = parallel((1, 2), args.cache_dir, args.out / "bench-parallel", specs)  # kept: reports to compare
        result["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    atomic.write_json(args.out / "bench.json", result)
    print(table(result))
    print(f"written: {args.out / 'bench.json'}")
    return 0


def _bench_version(kind) -> str:
    """The version a kind's bench row runs: TF_PYTHON's, or the TFLite with the Flex delegate training needs,
    or the first of a kind's own versions (LiteRT's)."""
    from ..runs.versions import TFLITE_ON_DEVICE

    if not kind.versioned_by_tensorflow:
        return kind.own_versions()[0]
    return TFLITE_ON_DEVICE[0] if kind.capabilities.on_device else TF_PYTHON


def _raise(name: str, error: Exception):
    raise error


def _say(what: str) -> None:
    print(f"bench: {what} ...", file=sys.stderr, flush=True)


def table(result: dict) -> str:
    lines = ["train step, median per call (us)          mlp        cnn"]
    steps = result.get("train_step", {})
    rows = [("Python eager (tf.saved_model.load)", "python"), ("TF1 session loader", "python-session"),
            ("TF Java through the harness (JPype)", "java_jpype"), ("plain Java, call by call beside it", "plain_java"),
            ("plain Java in its own JVM", "plain_java_own_jvm")]
    rows += [(name, name) for name in result.get("other_kinds", ())]
    for label, key in rows:
        cells = [f"{steps[m][key]['median_us']:>10.1f}" if "median_us" in steps.get(m, {}).get(key, {})
                 else f"{'n/a' if key in steps.get(m, {}) else '-':>10}" for m in ("mlp", "cnn")]
        lines.append(f"  {label:40s}{''.join(cells)}")
        cannot = [f"{m}: {steps[m][key]['cannot_train']}" for m in ("mlp", "cnn") if "cannot_train" in steps.get(m, {}).get(key, {})]
        lines += [f"    n/a, {why}" for why in cannot]
    ratios = [f"{steps[m]['jpype_over_plain_java']:>10.2f}" if "jpype_over_plain_java" in steps.get(m, {}) else f"{'-':>10}"
              for m in ("mlp", "cnn")]
    lines.append(f"  {'jpype_over_plain_java (median of rounds)':40s}{''.join(ratios)}")
    if "transfer" in result:
        t = result["transfer"]
        lines.append(f"transfer {t['megabytes']} MiB: {t['round_trip_ms']} ms round trip, {t['gb_per_s']} GB/s "
                     f"({t['gb_per_s_both_ways']} GB/s both ways; one copy here: {t['copy_gb_per_s']} GB/s, "
                     f"on one core {t['memcpy_gb_per_s']} GB/s)")
    if "soak" in result:
        s = result["soak"]
        lines.append(f"soak {s['calls']} calls: RSS {s['rss_after_warmup_mb']} -> {s['rss_end_mb']} MB "
                     f"(growth {100 * s['rss_growth']:.2f}%, trend {100 * s['rss_trend']:.2f}%), "
                     f"{s['unreleased_native_pointers']} tensors left open")
    if "parallel" in result:
        p = result["parallel"]
        lines.append(f"parallel ({p['set']}): {p['seconds']} -> speedup {p['parallel_speedup']} (ratio {p['ratio']}), "
                     f"identical results: {p['identical_results']}"
                     + ("" if p["identical_results"] else f" (differ: {', '.join(p['differing_fields'])}; {p['reports']})"))
        if p.get("timings"):
            from ..runs.timing import table as stage_table

            lines += [f"where the -j {max(int(k.split()[-1]) for k in p['seconds'])} run's seconds went, stage x runtime:",
                      stage_table(p["timings"])]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
