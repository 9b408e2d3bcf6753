import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harness.compare import BIT_EXACT, DIVERGED, WITHIN, compare, steps, ulp_distance

floats32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@given(floats32)
def test_next_float_is_one_ulp_away(x):
    x = np.float32(x)
    up = np.nextafter(x, np.float32(np.inf))
    assert ulp_distance(np.array([x]), np.array([up]))[0] == 1


@given(arrays(np.float64, 5, elements=st.floats(allow_nan=False)), arrays(np.float64, 5, elements=st.floats(allow_nan=False)))
def test_ulp_distance_is_symmetric_and_zero_only_for_equal(a, b):
    d = ulp_distance(a, b)
    assert (d == ulp_distance(b, a)).all()
    assert ((d == 0) == (a == b)).all()


def test_signed_zeros_are_equal_and_nan_is_far():
    assert ulp_distance(np.array([0.0], np.float32), np.array([-0.0], np.float32))[0] == 0
    assert ulp_distance(np.array([np.nan]), np.array([np.nan]))[0] == 0
    assert ulp_distance(np.array([np.nan]), np.array([1.0]))[0] == np.iinfo(np.int64).max


def test_verdicts_name_where_it_diverged():
    a = {"w": np.array([1.0, 2.0], np.float32), "b": np.array([0.5], np.float32)}
    assert compare(a, {k: v.copy() for k, v in a.items()}).verdict == BIT_EXACT
    nudged = {"w": np.array([1.0, np.nextafter(np.float32(2), np.float32(3))], np.float32), "b": a["b"]}
    result = compare(a, nudged)
    assert result.verdict == DIVERGED and result.max_ulp == 1
    assert result.first_divergence.startswith("w[1]")
    assert compare(a, nudged, relative=1e-6).verdict == WITHIN  # 1 ulp of 2.0 is 1.2e-7 of max|w|
    assert compare(a, nudged, relative=1e-8).verdict == DIVERGED


def test_missing_variables_and_changed_dtypes_diverge():
    a = {"w": np.zeros(2, np.float32), "iteration": np.array(3, np.int64)}
    assert "missing ['iteration']" in compare(a, {"w": a["w"]}).first_divergence
    assert compare(a, {"w": a["w"], "iteration": np.array(3, np.int32)}).verdict == DIVERGED
    assert compare(a, {"w": a["w"], "iteration": np.array(4, np.int64)}).first_divergence.startswith("iteration")


def test_steps_name_their_step():
    result = compare(steps(np.array([1.0, 2.0], np.float32), first_step=5), steps(np.array([1.0, 2.5], np.float32), first_step=5))
    assert result.first_divergence.startswith("step 6")
