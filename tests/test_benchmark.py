"""Benchmarks (run with `nox -s bench`; in `nox -s tests` each runs once, as a test)."""

import numpy as np
import pytest

from .helpers import export_of

pytestmark = pytest.mark.java


@pytest.mark.parametrize("megabytes", [1, 16])
def test_transfer_to_tf_java_and_back(benchmark, java, megabytes):
    array = np.random.default_rng(0).standard_normal(megabytes * 2**18).astype(np.float32)
    back = benchmark(java.echo, array)
    assert np.array_equal(back, array)


def test_one_java_case(benchmark, java, bundles, mlp_spec, tmp_path):
    export = export_of(bundles["tf_keras"], mlp_spec)
    trajectory = benchmark(java.run, export.saved_model, export.data, range(0, export.steps), tmp_path)
    assert trajectory.failure is None and len(trajectory.losses) == export.steps
