import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harness.plan.compare import BIT_EXACT, CROSS_VERSION_BAND, DIVERGED, DRIFT, WITHIN, compare, steps, ulp_distance

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


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the widest spans subtract without overflow warnings
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


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a signaling NaN is compared without a warning
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
    assert flipped.verdict == DIVERGED
    half = int(np.float32(0.5).view(np.int32))  # 0.5 is this many steps above +0; -0.5 as many below -0
    assert flipped.first_divergence == f"step 0: expected {np.float32(0.5)!r}, got {np.float32(-0.5)!r} ({2 * half} ulp)"
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


def test_summaries_say_verdict_errors_and_tolerance():
    same = compare({"a": np.ones(2, np.float32)}, {"a": np.ones(2, np.float32)})
    assert same.summary() == "bit-exact: max|d|=0 rel=0 scaled=0 ulp=0 (tolerance 0 ulp, 1 tensors)"
    near = compare({"a": np.array([2.0, 4.0])}, {"a": np.array([2.0, 5.0])}, relative=0.5)
    assert near.summary() == "within-tolerance: max|d|=1 rel=0.25 scaled=0.25 ulp=1125899906842624 (tolerance relative 0.5, 1 tensors)"
    far = compare({"a": np.array([2.0, 4.0])}, {"a": np.array([2.0, 5.0])}, relative=0.1)
    assert far.summary().endswith("(tolerance relative 0.1, 1 tensors); first: a[1]: expected np.float64(4.0), got np.float64(5.0) (1125899906842624 ulp)")


def test_errors_are_exact():
    result = compare({"a": np.array([1.0, 2.0, 4.0]), "b": np.array([0.0, -8.0])},
                     {"a": np.array([1.0, 3.0, 4.0]), "b": np.array([0.0, -6.0])}, relative=0.25)
    assert (result.max_abs, result.max_rel, result.max_scaled) == (2.0, 0.5, 0.25)  # a: 1/4 scaled, 1/2 rel; b: 2/8
    assert result.verdict == WITHIN  # a scaled error equal to the tolerance is within it
    assert compare({"a": np.array([4.0])}, {"a": np.array([5.0])}, relative=0.25).verdict == WITHIN
    assert compare({"a": np.array([4.0])}, {"a": np.array([5.0])}, relative=0.2499).verdict == DIVERGED


def test_a_tensor_of_zeros_has_no_scale():
    result = compare({"z": np.zeros(2)}, {"z": np.array([0.0, 1e-30])}, relative=1e-3)
    assert result.verdict == DIVERGED and result.max_scaled == np.inf and result.max_rel == 0.0
    assert result.max_abs == 1e-30


def test_integers_and_booleans_count_steps_exactly():
    assert ulp_distance(np.array([3, -2], np.int32), np.array([5, 2], np.int32)).tolist() == [2, 4]
    assert ulp_distance(np.array([2**40], np.int64), np.array([-(2**40)], np.int64)).tolist() == [2**41]
    assert ulp_distance(np.array([True, False]), np.array([True, True])).tolist() == [0, 1]
    result = compare({"i": np.array([3, 7], np.int64)}, {"i": np.array([3, 4], np.int64)}, relative=0.5)
    assert (result.max_ulp, result.max_abs, result.max_scaled, result.verdict) == (3, 3.0, 3 / 7, WITHIN)
    flags = compare({"f": np.array([True, False])}, {"f": np.array([True, True])}, relative=0.5)
    assert flags.verdict == DIVERGED and flags.max_scaled == np.inf  # booleans have no scale: any difference diverges


def test_missing_and_unexpected_names_are_listed():
    a = {k: np.zeros(1) for k in "abcde"}
    result = compare(a, {}, relative=1e-6)
    assert (result.verdict, result.relative_tolerance, result.compared) == (DIVERGED, 1e-6, 5)
    assert result.first_divergence == "missing ['a', 'b', 'c'] (5 missing, 0 unexpected)"
    assert compare({}, a).first_divergence == "unexpected ['a', 'b', 'c'] (0 missing, 5 unexpected)"
    assert compare({"a": a["a"]}, {"a": a["a"], "x": a["a"]}).first_divergence == "unexpected ['x'] (0 missing, 1 unexpected)"


def test_every_tensor_is_looked_at_after_a_shape_mismatch_or_an_empty_one():
    expected = {"s": np.zeros(2), "e": np.zeros(0), "w": np.array([1.0, 2.0])}
    actual = {"s": np.zeros(3), "e": np.zeros(0), "w": np.array([1.0, 2.5])}
    result = compare(expected, actual, relative=1.0)
    assert result.verdict == DIVERGED and result.max_ulp == np.iinfo(np.int64).max and result.max_abs == 0.5
    assert result.first_divergence == "s: expected float64[2], got float64[3]"
    assert compare({"e": np.zeros(0), "w": np.ones(1)}, {"e": np.zeros(0), "w": np.zeros(1)}).verdict == DIVERGED


def test_divergences_name_the_element_and_the_variable():
    labels = {"k": "dense/kernel"}
    result = compare({"k": np.zeros((2, 3))}, {"k": np.eye(2, 3)[::-1].copy()}, labels=labels)
    assert result.first_divergence == "k[0,1] (dense/kernel): expected np.float64(0.0), got np.float64(1.0) (4607182418800017408 ulp)"
    scalar = compare({"k": np.array(1.0)}, {"k": np.array(2.0)})
    assert scalar.first_divergence == "k: expected np.float64(1.0), got np.float64(2.0) (4503599627370496 ulp)"


def test_distances_are_integer_counts_for_every_dtype():
    for a, b in [(np.array([1.0], np.float32), np.array([2.0], np.float32)), (np.array([2**60 + 1]), np.array([2**60])),
                 (np.array([True]), np.array([False]))]:
        d = ulp_distance(a, b)
        assert d.dtype == np.int64, a.dtype
    assert ulp_distance(np.array([2**60 + 1]), np.array([2**60])).tolist() == [1]  # exact beyond float64's 53 bits
    assert ulp_distance(np.array([2**60]), np.array([2**60 + 1])).tolist() == [1]


def test_strings_compare_by_equality():
    same = compare({"s": np.array([b"a", b"b"])}, {"s": np.array([b"a", b"b"])})
    assert same.verdict == BIT_EXACT
    other = compare({"s": np.array([b"a", b"b"])}, {"s": np.array([b"a", b"c"])})
    assert other.verdict == DIVERGED and other.max_ulp == 1 and other.first_divergence.startswith("s[1]: expected")


def test_relative_error_skips_expected_zeros():
    result = compare({"a": np.array([0.0, 1.0])}, {"a": np.array([0.5, 1.0])}, relative=0.9)
    assert result.max_rel == 0.0 and result.max_abs == 0.5 and result.max_scaled == 0.5 and result.verdict == WITHIN


# -- the cross-version band: drift is not breakage --------------------------------------------------

def _scaled_by(x: np.ndarray, relative: float) -> np.ndarray:
    """x with its largest element moved by `relative` of max|x| (norm-wise error exactly that)."""
    y = x.copy()
    y[np.argmax(np.abs(x))] += relative * np.abs(x).max()
    return y


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_within_its_dtypes_band_a_difference_is_drift_and_beyond_it_diverged(dtype):
    bound = CROSS_VERSION_BAND[dtype]
    want = {"w": np.linspace(-2, 3, 11).astype(dtype)}
    inside = {"w": _scaled_by(want["w"], bound * 0.75)}  # float16: one ulp of 3.0 (6.5e-4 of it)
    outside = {"w": _scaled_by(want["w"], bound * 4)}
    drifted = compare(want, inside, band=CROSS_VERSION_BAND)
    assert drifted.verdict == DRIFT and drifted.ok and drifted.max_ulp > 0 and drifted.band == bound
    assert f"cross-version band {bound:g}" in drifted.summary()
    assert compare(want, inside).verdict == DIVERGED  # the same difference between two runs of one TF: a failure
    beyond = compare(want, outside, band=CROSS_VERSION_BAND)
    assert beyond.verdict == DIVERGED and not beyond.ok and beyond.first_divergence.startswith("w[")


def test_behaviour_changes_are_never_drift():
    band = CROSS_VERSION_BAND
    want = {"w": np.array([1.0, 2.0], np.float32), "step": np.array(5, np.int64)}
    for got, why in (({"w": np.array([1.0, np.nan], np.float32), "step": want["step"]}, "NaN"),
                     ({"w": np.array([1.0, 2.0, 0.0], np.float32), "step": want["step"]}, "a shape"),
                     ({"w": want["w"].astype(np.float64), "step": want["step"]}, "a dtype"),
                     ({"w": want["w"]}, "a missing variable"),
                     ({"w": want["w"], "step": np.array(6, np.int64)}, "an iteration counter off by one")):
        assert compare(want, got, band=band).verdict == DIVERGED, why


def test_a_tolerance_is_judged_before_the_band():
    want = {"w": np.linspace(1, 2, 5).astype(np.float32)}
    got = {"w": _scaled_by(want["w"], 1e-6)}
    assert compare(want, got, relative=1e-5, band=CROSS_VERSION_BAND).verdict == WITHIN
    mixed = {"w": want["w"], "v": want["w"] * 2}
    assert compare(mixed, {"w": got["w"], "v": _scaled_by(mixed["v"], 5e-5)}, relative=1e-5,
                   band=CROSS_VERSION_BAND).verdict == DRIFT  # the worse of the two tensors decides


def test_a_named_band_names_itself_in_the_verdict_and_an_unnamed_one_is_the_cross_version_band():
    """A kind with kernels of its own (TFLite) is held to its band: the detail says which band, after the tolerance."""
    from harness.plan.compare import Band

    kernels = Band("TFLite kernels band", {"float32": 1e-4})
    assert dict(kernels) == {"float32": 1e-4} and kernels.name == "TFLite kernels band"
    want = {"w": np.linspace(-2, 3, 11).astype(np.float32)}
    inside = {"w": _scaled_by(want["w"], 5e-5)}
    drifted = compare(want, inside, band=kernels)
    assert (drifted.verdict, drifted.band, drifted.band_name) == (DRIFT, 1e-4, "TFLite kernels band")
    assert "(tolerance 0 ulp; TFLite kernels band 0.0001, 1 tensors)" in drifted.summary()
    widened = compare(want, inside, 1e-5, band=kernels)
    assert "(tolerance relative 1e-05; TFLite kernels band 0.0001, 1 tensors)" in widened.summary()
    plain = compare(want, inside, band={"float32": 1e-4})  # a band without a name: the cross-version one
    assert plain.band_name == CROSS_VERSION_BAND.name == "cross-version band"
    assert compare(want, want, band=kernels).band_name == "TFLite kernels band" and compare(want, want).band == 0.0


def test_the_band_and_the_tolerance_are_inclusive_bounds_and_every_tensor_is_judged():
    """One ulp of 1.0 in float32 is a norm-wise error of exactly 2**-23: at the tolerance it is within it (not
    drift); at the band's bound it is drift (not diverged); a drifted tensor does not end the comparison."""
    one_ulp = 2.0 ** -23
    want = {"w": np.array([1.0], np.float32)}
    got = {"w": np.nextafter(want["w"], np.float32(2))}
    at_tolerance = compare(want, got, relative=one_ulp, band={"float32": 1e-3})
    assert (at_tolerance.verdict, at_tolerance.max_scaled) == (WITHIN, one_ulp)
    assert compare(want, got, band={"float32": one_ulp}).verdict == DRIFT
    both = {"a": want["w"], "b": want["w"] * 2}
    judged = compare(both, {"a": got["w"], "b": both["b"] * 3}, band={"float32": one_ulp})
    assert judged.verdict == DIVERGED and judged.first_divergence.startswith("b[0]: expected")
