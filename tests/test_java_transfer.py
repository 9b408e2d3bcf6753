"""Tensors cross between numpy and TF Java as buffers, every dtype the harness feeds, bit for bit."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

pytestmark = pytest.mark.java

DTYPES = [np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_]


@given(st.sampled_from(DTYPES).flatmap(lambda d: arrays(d, array_shapes(min_dims=0, max_dims=4, max_side=5))))
def test_round_trip_through_a_tf_java_tensor_is_exact(java, array):
    back = java.echo(array)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes() == array.tobytes()  # bitwise: NaN payloads and signed zeros included


def test_non_contiguous_arrays_are_copied_in_logical_order(java):
    array = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    assert np.array_equal(java.echo(array), array)


def test_unsupported_dtype_is_a_clear_error(java):
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="no TF Java type for numpy dtype complex64"):
        java.echo(np.zeros(2, np.complex64))
