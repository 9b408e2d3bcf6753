"""The benchmarks measure the right thing. `nox -s bench` times them (harness/testing/bench.py); here they
only have to be correct: no timing is asserted, a slow machine passes."""

import numpy as np
import pytest

from harness import runtimes
from harness.runs.versions import TF_PYTHON, TFLITE_ON_DEVICE
from harness.testing import bench

from .conftest import CACHE
from .helpers import export_of

pytestmark = pytest.mark.java


def test_transfer_figure_round_trips_the_array(java):
    figure = bench.transfer(java, megabytes=4, repeats=2)  # raises if a byte came back different
    assert figure["megabytes"] == 4 and figure["gb_per_s"] > 0 and figure["memcpy_gb_per_s"] > 0 and figure["copy_gb_per_s"] > 0


@pytest.mark.parametrize("runtime", ["java", "python"])
def test_bench_times_the_plans_own_train_step(runtime, request, bundles, mlp_spec, tmp_path):
    """The timed loop trains as the plan does: same losses, bit for bit, and no tensor left open."""
    rt = request.getfixturevalue(runtime)
    export = export_of(bundles["tf_keras"], mlp_spec)
    plan = rt.run(export.saved_model, export.data, range(0, export.steps), tmp_path)
    calls = 3 * export.steps
    timed = rt.bench(export.saved_model, export.data, calls, warmup=0)
    assert plan.failure is None
    assert [l.tobytes() for l in timed["losses"][:export.steps]] == [l.tobytes() for l in plan.losses]
    assert timed["ns"].shape == (calls,) and (timed["ns"] > 0).all()
    assert timed["unreleased"] in (0, None)


def test_a_leaked_tensor_is_counted(java, bundles, mlp_spec, tmp_path):
    """The tensors.closed accounting sees tensors left open (a planted fault), and only those."""
    export = export_of(bundles["tf_keras"], mlp_spec)
    from harness.exports.data import batch

    from harness.testing import faults
    from harness import runtimes

    leaking = runtimes.single(java.name, CACHE, tmp_path, kinds=faults.planted_kinds("java-leaks-input-tensors"))
    try:
        for runtime, calls in ((java, 3), (leaking, 3)):
            session = runtime.open_session(export.saved_model)
            for step in range(calls):
                session.call("train", batch(export.data, "train", step))
            left = session.close()
            inputs = len(batch(export.data, "train", 0))
            assert left == 0 if runtime is java else left >= calls * inputs, (runtime.name, left)
    finally:
        leaking.stop()


def test_soak_short_memory_stays_flat(java):
    """A short soak: tensors closed, and the worker's RSS does not grow after the warm-up."""
    figure = bench.soak(java, CACHE, calls=3000, warmup=5000)  # warm-up: see bench.main's --soak-warmup
    assert figure["unreleased_native_pointers"] == 0
    assert figure["rss_growth"] < 0.05 and figure["rss_trend"] < 0.05, figure


def test_soak_verdict_sees_growth():
    calls = np.arange(0, 10001, 100)
    flat = np.stack([calls, np.full(calls.shape, 500e6)], axis=1)
    leaking = np.stack([calls, 500e6 + 10e3 * calls], axis=1)  # 10 kB a call: +20% over the run
    assert bench.soak_verdict(flat, 1000)["rss_growth"] == 0 and bench.soak_verdict(flat, 1000)["rss_trend"] == 0
    verdict = bench.soak_verdict(leaking, 1000)
    assert verdict["rss_growth"] > 0.05 and verdict["rss_trend"] > 0.05


def test_bench_interleaves_the_plain_java_loop_call_by_call(java, bundles, mlp_spec, tmp_path):
    """The plain-Java figure is TrainExport's own bench step, run in the worker's JVM beside each harness
    call: it trains its own session on the same data, so its losses are the plan's, bit for bit."""
    from harness.runtimes import maven, plain_java
    from harness.plan.interface import ZOO
    from harness.runs.versions import TF_JAVA

    export = export_of(bundles["tf_keras"], mlp_spec)
    plan = java.run(export.saved_model, export.data, range(0, export.steps), tmp_path / "plan")
    plain_java.write_inputs(export.data, ZOO, range(0, export.steps), tmp_path / "inputs")
    jar = plain_java.jar(maven.api_version(TF_JAVA), CACHE)
    calls = 2 * export.steps
    timed = java.bench(export.saved_model, export.data, calls, warmup=1,
                       plain_java={"jar": str(jar), "inputs": str(tmp_path / "inputs")})
    assert timed["plain_ns"].shape == timed["ns"].shape == (calls,) and (timed["plain_ns"] > 0).all()
    assert timed["plain_losses"][:export.steps] == [l.tobytes() for l in plan.losses]
    assert timed["unreleased"] == 0 and timed["cpu_ns"] is None  # CPU time would count both loops


def test_the_prepared_train_step_gives_the_generic_calls_losses(java, bundles, mlp_spec, tmp_path):
    """The plan trains through JavaSession.trainer (a header per row, made once); a live session called
    input by input (JavaSession.call with batch()) must see the same losses, bit for bit."""
    from harness.exports.data import batch

    export = export_of(bundles["tf_keras"], mlp_spec)
    plan = java.run(export.saved_model, export.data, range(1, export.steps), tmp_path)  # not from row 0
    session = java.open_session(export.saved_model)
    try:
        generic = [session.call("train", batch(export.data, "train", step))["loss"] for step in range(1, export.steps)]
    finally:
        session.close()
    assert plan.failure is None and len(plan.losses) == export.steps - 1
    assert [l.tobytes() for l in generic] == [l.tobytes() for l in plan.losses]


def test_outputs_larger_than_the_reply_area_and_the_calls_after_them(java, bundles, mlp_spec):
    """Outputs over the worker's first 64 KiB data area make Java hold them until the area grows
    (Calls.fetch); a call on another layout afterwards must read the new area, not views of the old."""
    export = export_of(bundles["tf_keras"], mlp_spec)
    x = export.data["predict.x"]
    big = np.tile(x, (20000 // len(x) + 1, 1))  # 20,000 x 1 float32 predictions: over 64 KiB
    first, second = x[:4], x[4:8]

    session = java.open_session(export.saved_model)
    try:
        session.call("predict", {"x": first})
        large = session.call("predict", {"x": big})
        after = session.call("predict", {"x": second})
        again = session.call("predict", {"x": big})
    finally:
        session.close()
    fresh = java.open_session(export.saved_model)
    try:
        expected = fresh.call("predict", {"x": second})
    finally:
        fresh.close()
    assert {k: v.tobytes() for k, v in after.items()} == {k: v.tobytes() for k, v in expected.items()}
    assert {k: v.tobytes() for k, v in large.items()} == {k: v.tobytes() for k, v in again.items()}
    assert all(v.shape[0] == len(big) for v in large.values())


@pytest.mark.parametrize("name", [f"c-{TF_PYTHON}", f"tflite-{TFLITE_ON_DEVICE[0]}"])
def test_every_other_kind_with_a_benchmark_step_times_it(name, bundles, tmp_path):
    """bench.py's rows beyond Python and Java: each kind's Runtime.bench_step, on the MLP."""
    runtime = runtimes.single(name, CACHE, tmp_path / "logs")
    assert runtime.capabilities.benchmark_step
    export = bundles["tf_keras"]
    try:
        step = runtime.bench_step(export.saved_model, export.data(), 6)
    finally:
        runtime.stop()
    assert step["calls"] == 6 and 0 < step["min_us"] <= step["median_us"] and step["mean_us"] > 0, step


def test_the_bench_table_says_where_the_parallel_runs_seconds_went():
    from harness.testing import bench

    rows = [{"exporter": "2.21.0", "case": "mlp_regression.tf_keras", "runtime": runtime, "stage": stage, "seconds": s}
            for runtime, stage, s in (("java-1.1.0", "restore.saver.load", 3.0), ("python-2.21.0", "reference", 1.0))]
    result = {"parallel": {"set": "the CI subset", "seconds": {"-j 1": 90.0, "-j 2": 60.0}, "parallel_speedup": 1.5,
                           "ratio": 0.67, "identical_results": True, "differing_fields": [], "reports": {},
                           "timings": {"cases": rows, "fixed": {"worker starts": 20.0, "imports": 9.0, "exports": 1.0}}}}
    text = bench.table(result)
    assert "where the -j 2 run's seconds went" in text
    assert next(l for l in text.splitlines() if l.startswith("restore.saver ")).endswith("75.0%"), text
    assert "worker starts 20.0 s wall" in text
