"""Numeric comparison of two runs: largest absolute, relative and ULP error, and a verdict.

Default tolerance: 0 ULP, for every dtype (float16, float32, float64, integers). Both sides run
the same exported graph with TensorFlow's CPU kernels, on one machine, with the same fixed
thread counts (runner.configure_tensorflow); those kernels are deterministic under these
conditions, so a difference is normally a behaviour difference (a variable not restored, a slot
not updated, a step skipped), not rounding. Measured: nearly every check of the zoo is bit-exact,
TF Java 1.1.0 (TF 2.18 kernels) against TF 2.21 Python included.

Where two runtimes do round differently (another TF version's kernel, another graph optimizer),
expectations/tolerances.toml gives the case in that runtime its own norm-wise relative tolerance,
by name, with the reason (expectations.Tolerance): max|actual - expected| <= relative * max|expected|
for every tensor. Rounding differences scale with the tensor's magnitude, not each element's,
which is why the bound is norm-wise. The default is never widened.

Across TF versions (a runtime whose TensorFlow is not the exporter's) numbers may round
differently: there a tensor beyond its tolerance but within CROSS_VERSION_BAND of its dtype is
DRIFT (reported with its ulps, not a failure); beyond the band, or any NaN, shape, dtype or
missing variable, it is DIVERGED. Same-version checks get no band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIT_EXACT, WITHIN, DRIFT, DIVERGED = "bit-exact", "within-tolerance", "drift", "diverged"

# Norm-wise relative bound (max|d| / max|expected|, per tensor) of rounding drift between two TF builds.
# Measured cross-version differences it must hold (float32 unit roundoff u = 6e-8), CI subset trained
# 5+3 steps (the release checks of TF 2.22.0rc0 against 2.21.0 and 2.15.1; the version matrix):
#   float32: CNN 1.1e-5 (2.22.0rc0 vs 2.15.1), SGD-Nesterov MLP 6.4e-6, LSTM 4.7e-7, centered RMSprop
#     under the session loaders 1.3e-6. The band, 1e-4 (~1,700 u), is 9x the largest: rounding carried
#     by an optimizer over a few steps, no more. mixed_float16 exports of TF 2.15 trained by 2.16+ end
#     1.1e-2 apart (float32 weights): far beyond it, a behaviour of TF's float16 path, not rounding.
#   float64: 2.8e-14 (MLP, 2.22.0rc0 vs 2.18's Java), float64 tanh TF 2.18 vs 2.21 3.1e-14; the band,
#     1e-12, is ~30x it (~9,000 u of float64).
#   float16 (mixed-precision outputs): one float16 epsilon, 9.8e-4: a float32-level drift rounds to at
#     most one float16 step.
# Integers (iteration counters, ids) and bools get none: a different count is a behaviour.
class Band(dict):
    """dtype name -> norm-wise bound, with the name a report gives it."""

    def __init__(self, name: str, bounds: dict[str, float]):
        super().__init__(bounds)
        self.name = name


CROSS_VERSION_BAND = Band("cross-version band", {"float16": 9.8e-4, "bfloat16": 7.8e-3, "float32": 1e-4, "float64": 1e-12})


@dataclass(frozen=True)
class Comparison:
    verdict: str
    max_abs: float = 0.0
    max_rel: float = 0.0  # elementwise, over elements whose expected value is not 0
    max_scaled: float = 0.0  # norm-wise: max|d| / max|expected|, per tensor
    max_ulp: int = 0
    relative_tolerance: float = 0.0  # 0: bit-exact required
    compared: int = 0  # how many tensors (steps or variables) were compared
    first_divergence: str | None = None  # which step/variable first exceeds the tolerance (or the band), and how
    band: float = 0.0  # the widest band a drifted tensor was held to (0: no drift, or no band)
    band_name: str = CROSS_VERSION_BAND.name  # which band (Band.name): across TF versions, or a kind's own kernels

    @property
    def ok(self) -> bool:
        return self.verdict != DIVERGED

    def summary(self) -> str:
        tolerance = f"relative {self.relative_tolerance:g}" if self.relative_tolerance else "0 ulp"
        if self.band:
            tolerance += f"; {self.band_name} {self.band:g}"
        text = (f"{self.verdict}: max|d|={self.max_abs:.3g} rel={self.max_rel:.3g} scaled={self.max_scaled:.3g} "
                f"ulp={self.max_ulp} (tolerance {tolerance}, {self.compared} tensors)")
        return f"{text}; first: {self.first_divergence}" if self.first_divergence else text


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise distance in units in the last place; NaN vs NaN is 0, NaN vs number is huge."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind != "f":
        return np.abs(a.astype(np.int64) - b.astype(np.int64)) if a.dtype.kind in "iu" else (a != b).astype(np.int64)
    ints = {2: np.int16, 4: np.int32, 8: np.int64}[a.dtype.itemsize]

    def ordered(x):  # map float bits onto a line where adjacent floats differ by 1 (and -0 == +0)
        i = x.view(ints).astype(np.int64)
        return np.where(i < 0, np.int64(np.iinfo(ints).min) - i, i)

    # float64's line spans more than int64 holds (-inf to +inf is ~2**64 steps): subtract in uint64
    # (exact, modulo 2**64) and saturate at int64's max, the "too far to count" mark NaN uses too.
    oa, ob = ordered(a), ordered(b)
    high, low = np.maximum(oa, ob).astype(np.uint64), np.minimum(oa, ob).astype(np.uint64)
    with np.errstate(over="ignore"):
        span = high - low
    d = np.where(span > np.uint64(np.iinfo(np.int64).max), np.iinfo(np.int64).max, span.astype(np.int64))
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    d = np.where(nan_a & nan_b, 0, d)
    return np.where(nan_a ^ nan_b, np.iinfo(np.int64).max, d)


def compare(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray], relative: float = 0.0,
            labels: dict[str, str] | None = None, band: dict[str, float] | None = None) -> Comparison:
    """Compares named tensors (steps or variables) in the order of `expected`.

    `relative` is a case's own norm-wise tolerance (0: bit-exact required); `labels` gives a
    readable name for a key (a checkpoint key's variable name) in the report; `band` (dtype name ->
    norm-wise bound, CROSS_VERSION_BAND for a cross-version check) makes a tensor beyond `relative`
    but within its dtype's band DRIFT instead of DIVERGED.
    """
    labels = labels or {}
    missing = [k for k in expected if k not in actual]
    extra = [k for k in actual if k not in expected]
    if missing or extra:
        what = f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
        return Comparison(DIVERGED, relative_tolerance=relative, compared=len(expected),
                          first_divergence=f"{what} ({len(missing)} missing, {len(extra)} unexpected)")

    band = band or {}
    max_abs = max_rel = max_scaled = widest = 0.0
    max_ulp = 0
    first = None
    any_difference = drifted = False
    for name, want in expected.items():
        want, got = np.asarray(want), np.asarray(actual[name])
        if want.shape != got.shape or want.dtype != got.dtype:
            first = first or f"{name}: expected {want.dtype}{list(want.shape)}, got {got.dtype}{list(got.shape)}"
            max_ulp = np.iinfo(np.int64).max
            continue
        if want.size == 0:
            continue
        ulps = ulp_distance(want, got)
        worst = int(ulps.max())
        max_ulp = max(max_ulp, worst)
        if not worst:
            continue
        any_difference = True
        scaled = np.inf
        if want.dtype.kind in "fiu":
            with np.errstate(invalid="ignore"):  # a signaling NaN payload, quieted by the cast
                w, g = want.astype(np.float64), got.astype(np.float64)
            diff = np.abs(w - g)
            finite = np.isfinite(diff)
            if finite.all():
                max_abs = max(max_abs, float(diff.max()))
                magnitude = float(np.abs(w).max())
                scaled = float(diff.max()) / magnitude if magnitude else np.inf
                nonzero = w != 0  # relative error is undefined where the expected value is 0
                if nonzero.any():
                    max_rel = max(max_rel, float((diff[nonzero] / np.abs(w[nonzero])).max()))
        max_scaled = max(max_scaled, scaled)
        allowed = band.get(want.dtype.name, 0.0)
        if relative < scaled <= allowed:  # rounding drift between TF builds, within its dtype's band
            drifted, widest = True, max(widest, allowed)
            continue
        if scaled > relative and first is None:
            index = np.unravel_index(int(ulps.argmax()), ulps.shape) if ulps.ndim else ()
            at = f"[{','.join(map(str, index))}]" if index else ""
            label = f" ({labels[name]})" if name in labels else ""
            first = f"{name}{at}{label}: expected {want[index]!r}, got {got[index]!r} ({worst} ulp)"
    verdict = DIVERGED if first else DRIFT if drifted else WITHIN if any_difference else BIT_EXACT
    return Comparison(verdict, max_abs, max_rel, max_scaled, max_ulp, relative, len(expected), first,
                      widest, getattr(band, "name", CROSS_VERSION_BAND.name))  # widest: 0.0 unless drifted


def steps(values, first_step: int = 0) -> dict[str, np.ndarray]:
    """Per-step values (losses) as named tensors, so a divergence names its step."""
    return {f"step {first_step + i}": np.asarray(v) for i, v in enumerate(values)}
