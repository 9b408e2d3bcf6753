import numpy as np
import pytest
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


# The float line, bit pattern by bit pattern: signs, zeros, subnormals, infinities, NaN payloads.
# A distance that loses the sign (e.g. one computed on |x|) reports x against -x as equal.

FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def any_float(dtype, **kwargs):
    width = np.dtype(dtype).itemsize * 8
    return st.floats(width=width, allow_nan=False, allow_subnormal=True, **kwargs).map(dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_a_value_and_its_negation_are_never_equal(dtype, data):
    x = data.draw(any_float(dtype).filter(lambda v: v != 0), label="x")
    d = ulp_distance(np.array([x]), np.array([-x]))[0]
    assert d >= 2  # -x < -0 == +0 < x on the line: at least two steps apart
    result = compare({"w": np.array([x, 1], dtype)}, {"w": np.array([-x, 1], dtype)})
    assert result.verdict == DIVERGED and result.first_divergence.startswith("w[0]"), result.summary()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@given(data=st.data())
def test_distance_adds_up_along_the_float_line(dtype, data):
    """For a <= b <= c: d(a, c) == d(a, b) + d(b, c), across signs, zero, subnormals and infinities."""
    a, b, c = sorted(data.draw(st.lists(any_float(dtype), min_size=3, max_size=3), label="values"))
    d = lambda p, q: int(ulp_distance(np.array([p]), np.array([q]))[0])
    assert d(a, c) == min(d(a, b) + d(b, c), np.iinfo(np.int64).max)  # saturates: float64's -inf..inf exceeds int64
    assert (d(a, b) == 0) == (a == b)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_landmarks_of_the_float_line(dtype):
    info = np.finfo(dtype)
    tiny = np.array(info.smallest_subnormal, dtype)
    d = lambda p, q: int(ulp_distance(np.array([p], dtype), np.array([q], dtype))[0])
    assert d(0.0, -0.0) == 0  # IEEE equality: the sign of zero is not a distance
    assert d(0.0, tiny) == 1 and d(-0.0, -tiny) == 1 and d(tiny, -tiny) == 2
    assert d(info.smallest_normal, np.nextafter(info.smallest_normal, dtype(0))) == 1  # normal to subnormal
    assert d(info.max, np.inf) == 1 and d(-info.max, -np.inf) == 1
    bits = np.dtype(dtype).itemsize * 8
    span = 2 * (2 ** (bits - 1) - 2 ** info.nmant)  # -inf to +inf: no wrap-around, saturated where int64 ends
    assert d(-np.inf, np.inf) == min(span, np.iinfo(np.int64).max)
    assert d(-info.max, info.max) > d(-info.max, 0.0) > 0
    assert d(1.0, -1.0) == 2 * d(0.0, 1.0)


def test_nan_payloads_and_signs():
    quiet = np.array([0x7FC00000, 0xFFC00000, 0x7FC00001, 0x7F800001], np.uint32).view(np.float32)  # all NaN
    assert np.isnan(quiet).all()
    for nan in quiet:
        for other in quiet:
            assert ulp_distance(np.array([nan]), np.array([other]))[0] == 0  # NaN is NaN, whatever its payload
        for number in np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf], np.float32):
            assert ulp_distance(np.array([nan]), np.array([number]))[0] == np.iinfo(np.int64).max
            assert compare({"loss": np.array(number)}, {"loss": np.array(nan)}).verdict == DIVERGED
            assert compare({"loss": np.array(nan)}, {"loss": np.array(number)}).verdict == DIVERGED


def test_sign_flips_from_the_issue_diverge():
    assert compare({"w": np.array([1.0, 2.0])}, {"w": np.array([-1.0, 2.0])}).verdict == DIVERGED
    flipped = compare(steps([np.float32(0.5)]), steps([np.float32(-0.5)]))
    assert flipped.verdict == DIVERGED and flipped.first_divergence.startswith("step 0")
    assert compare(steps([np.float32(0.5)]), steps([np.float32(-0.5)]), relative=1e-3).verdict == DIVERGED
    ints = {"iteration": np.array([3, -3], np.int64)}
    assert compare(ints, {"iteration": np.array([3, 3], np.int64)}).verdict == DIVERGED


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + [np.int32, np.int64, np.bool_])
def test_identical_bits_are_bit_exact_and_one_step_is_not(dtype):
    values = np.array([0, 1, 1], dtype)
    assert compare({"t": values}, {"t": values.copy()}).verdict == BIT_EXACT
    moved = values.copy()
    moved[1] = np.nextafter(moved[1], dtype(2)) if np.dtype(dtype).kind == "f" else (not moved[1] if dtype is np.bool_ else 2)
    result = compare({"t": values}, {"t": moved})
    assert result.verdict == DIVERGED and result.max_ulp == 1 and result.first_divergence.startswith("t[1]")
