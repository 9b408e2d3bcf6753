"""The benchmarks measure the right thing. `nox -s bench` times them (harness/bench.py); here they
only have to be correct: no timing is asserted, a slow machine passes."""

import numpy as np
import pytest

from harness import bench

from .conftest import CACHE
from .helpers import export_of

pytestmark = pytest.mark.java


def test_transfer_figure_round_trips_the_array(java):
    figure = bench.transfer(java, megabytes=4, repeats=2)  # raises if a byte came back different
    assert figure["megabytes"] == 4 and figure["gb_per_s"] > 0 and figure["memcpy_gb_per_s"] > 0


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


def test_a_leaked_tensor_is_counted(java, bundles, mlp_spec):
    """The tensors.closed accounting sees tensors left open (a planted fault), and only those."""
    export = export_of(bundles["tf_keras"], mlp_spec)
    from harness.data import batch

    for fault, calls in ((None, 3), ("java-leaks-input-tensors", 3)):
        session = java.open_session(export.saved_model, fault=fault)
        for step in range(calls):
            session.call("train", batch(export.data, "train", step))
        left = session.close()
        inputs = len(batch(export.data, "train", 0))
        assert left == 0 if fault is None else left >= calls * inputs, (fault, left)


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
