"""The harness can tell wrong from right: faults planted in what TF Java saved are reported as diverged.

One realistic fault per model family: a weight off by one ULP, an optimizer slot or a BatchNorm
moving statistic not restored (left at its initial value), the iteration counter reset.
"""

import numpy as np
import pytest

from harness.exports import bundle, spec
from harness.plan import checkpoints
from harness.runs import expectations, runner
from harness.plan.compare import BIT_EXACT, DIVERGED

from harness.runs.versions import TF_JAVA

from .conftest import CACHE
from .helpers import export_of

pytestmark = pytest.mark.java


class Faulty:
    """A runtime that runs TF Java for real, then damages the checkpoint it wrote, as a buggy runtime would."""

    def __init__(self, inner, fault):
        self.inner, self.fault, self.name = inner, fault, inner.name

    def __getattr__(self, name):  # the rest of the runtime protocol: the inner runtime's
        return getattr(self.inner, name)

    def run(self, *args, **kwargs):
        trajectory = self.inner.run(*args, **kwargs)
        checkpoints.rewrite(trajectory.saver_checkpoint, self.fault)
        return trajectory


def one_ulp_up(value):
    flat = value.reshape(-1)
    flat[0] = np.nextafter(flat[0], np.inf, dtype=value.dtype)
    return value


def not_restored(initial):
    return lambda value: np.full_like(value, initial)


def fault_on(variable: str, change):
    """A checkpoint fault: `change` applied to the variable called `variable` (name from the object graph)."""
    def fault(values):
        names = checkpoints.variable_names_in(values)
        (key,) = [k for k in values if names.get(k, k) == variable]
        values[key] = change(values[key].copy())
    return fault


# (spec, route, variable, fault, the checks the fault must break besides checkpoint.saver)
FAULTS = [
    ("mlp_regression", "tf_keras", "spec_model/dense/kernel", one_ulp_up, []),
    ("mlp_regression", "tf_keras", "m/spec_model/dense/kernel", not_restored(0), ["resume.loss", "resume.variables"]),
    ("mlp_regression", "tf_keras", "iteration", not_restored(0), ["resume.loss", "resume.variables"]),
    ("mlp_regression_float64", "raw_module", "layer1/kernel", one_ulp_up, []),
    ("batchnorm", "tf_keras", "spec_model/batch_normalization/moving_mean", not_restored(0), ["resume.variables"]),
    ("embedding", "tf_keras", "spec_model/embedding/embeddings", one_ulp_up, []),
    ("cnn", "tf_keras", "v/spec_model/conv2d/kernel", not_restored(0), ["resume.loss", "resume.variables"]),
    ("multi_output", "tf_keras", "spec_model/dense_2/kernel", one_ulp_up, []),
    ("lstm", "tf_keras", "iteration", not_restored(0), ["resume.loss", "resume.variables"]),
    ("dropout", "raw_module", "v/layer2/kernel", not_restored(0), ["resume.loss", "resume.variables"]),
    ("tf1_graph", "tf1_graph", "beta1_power", not_restored(0.9), ["resume.loss", "resume.variables"]),
    ("mlp_regression_mixed_precision", "tf_keras", "good_steps", not_restored(0), ["resume.variables"]),
    ("distributed", "tf_keras", "m/spec_model_1/dense_2/kernel", not_restored(0), ["resume.loss", "resume.variables"]),
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, python):
    """(spec, route) -> (export, reference trajectory, tolerance function), computed once."""
    cache = {}

    def get(name: str, route: str):
        if (name, route) not in cache:
            s = spec.find(name)
            export = export_of(bundle.build(s, route, CACHE / "exports"), s)
            work = tmp_path_factory.mktemp(f"{name}-{route}")
            ref = runner.reference(export, python, work / "reference")
            listed = expectations.load(f"java-{TF_JAVA}")
            # as check_export does: the runtime's saver restores the reference keyed as the export's saver reads it
            saver = runner.saver_checkpoint_for(export, ref[0], work)
            cache[name, route] = (export, ref, saver,
                                  lambda check: listed.relative_tolerance(f"{export.name}.{check}", export.exporter))
        return cache[name, route]

    return get


@pytest.mark.parametrize("name, route", sorted({(f[0], f[1]) for f in FAULTS}))
def test_the_untouched_java_run_passes(name, route, java, python, reference, tmp_path):
    """Every check passes, or fails exactly as expectations/ lists it."""
    export, ref, saver, tolerance = reference(name, route)
    results = runner.check_runtime(java, export, ref, tmp_path, python, tolerance, saver_restore=saver)
    for r in results:
        r.exporter = export.exporter
    runner.classify(results, expectations.load(f"java-{TF_JAVA}").failures)
    expected = {f"{r.case}.{r.check}" for r in results if r.outcome == runner.XFAIL}
    # blocked is fine only behind an expected failure (restore.saver.variables behind tf1_graph's restore.saver.loss)
    # N/A only for weights by value, which the zoo's exports do not have
    ok = [r.outcome in (runner.PASS, runner.XFAIL) or
          (r.outcome == runner.BLOCKED and r.detail.removeprefix("blocked by ") in expected) or
          (r.outcome == runner.NOT_APPLICABLE and r.detail.startswith("export has no get_weights")) for r in results]
    assert all(ok), [(r.check, r.outcome, r.detail) for r, good in zip(results, ok) if not good]
    assert sum(r.outcome == runner.PASS for r in results) >= len(runner.PLAN_CHECKS)


@pytest.mark.parametrize("name, route, variable, change, breaks", FAULTS, ids=[f"{f[0]}-{f[2]}" for f in FAULTS])
def test_a_planted_fault_is_reported_as_diverged(name, route, variable, change, breaks, java, python, reference, tmp_path):
    export, ref, saver, tolerance = reference(name, route)
    results = {r.check: r for r in runner.check_runtime(Faulty(java, fault_on(variable, change)), export, ref, tmp_path,
                                                        python, tolerance, saver_restore=saver)}
    saver = results["checkpoint.saver"].comparison
    named = f"({variable})" in saver.first_divergence or saver.first_divergence.startswith((f"{variable}[", f"{variable}:"))
    assert saver.verdict == DIVERGED and named, saver.summary()  # a name-based (TF1) key is the name itself
    if change is one_ulp_up:
        assert saver.max_ulp == 1
    for check in breaks:
        assert results[check].comparison.verdict == DIVERGED, (check, results[check].detail)
    if tolerance("train.loss") == 0:
        assert results["train.loss"].comparison.verdict == BIT_EXACT
