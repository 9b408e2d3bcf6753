"""Property: in Python, train k steps, save (re-export, or the save signature), load, train m more
steps == train k+m steps without interruption: losses, predictions and every checkpointed
variable (weights, Adam m and v, iteration counter, learning rate), bit for bit."""

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harness.exports import bundle
from harness.plan import checkpoints, compare
from harness.runtimes.python_runtime import EagerSession
from harness.plan.trajectory import execute

from .conftest import CACHE

ROUTES = ("tf_keras", "keras3_archive", "keras3_module")


def generated_data(spec, seed: int) -> dict[str, np.ndarray]:
    """Fresh batches of the spec's shapes, independent of the data shipped with the export."""
    rng = np.random.default_rng(seed)
    (x,), (y,) = spec.inputs, spec.labels
    steps = spec.steps + spec.resume_steps
    return {
        f"train.{x.name}": rng.standard_normal((steps, spec.batch_size, *x.shape)).astype(x.dtype),
        f"train.{y.name}": rng.standard_normal((steps, spec.batch_size, *y.shape)).astype(y.dtype),
        f"predict.{x.name}": rng.standard_normal((spec.predict_size, *x.shape)).astype(x.dtype),
    }


@given(
    route=st.sampled_from(ROUTES),
    k=st.integers(1, 4),
    m=st.integers(1, 3),
    learning_rate=st.sampled_from([1e-3, 1e-2, 0.1]),
    data_seed=st.none() | st.integers(0, 2**16),
    how=st.sampled_from(["re-export", "save signature"]),
)
def test_save_load_resume_equals_uninterrupted_training(mlp_spec, tmp_path_factory, route, k, m, learning_rate, data_seed, how):
    spec = mlp_spec.with_optimizer(learning_rate=learning_rate)
    b = bundle.build(spec, route, CACHE / "exports")  # content-keyed: one export per (route, learning rate)
    data = b.data() if data_seed is None else generated_data(spec, data_seed)
    work = tmp_path_factory.mktemp("roundtrip")

    straight = execute(EagerSession(b.saved_model), data, range(0, k + m), work / "straight")
    first = execute(EagerSession(b.saved_model), data, range(0, k), work / "first")
    assert straight.failure is None and first.failure is None, (straight.failure, first.failure)
    if how == "re-export":
        resumed_session = EagerSession(Path(first.saver_checkpoint).parent.parent)
    else:
        resumed_session = EagerSession(b.saved_model)
        resumed_session.call("restore", {"checkpoint_path": np.array(first.signature_checkpoint.encode())})
    second = execute(resumed_session, data, range(k, k + m), work / "second")
    assert second.failure is None, second.failure

    losses = compare.compare(compare.steps(straight.losses), compare.steps(first.losses + second.losses))
    predictions = compare.compare(straight.predictions, second.predictions)
    saved = checkpoints.read(straight.saver_checkpoint)
    variables = compare.compare(saved, checkpoints.read(second.saver_checkpoint),
                                labels=checkpoints.variable_names(straight.saver_checkpoint))
    by_name = compare.compare(checkpoints.read(straight.signature_checkpoint), checkpoints.read(second.signature_checkpoint))
    for what, result in [("losses", losses), ("predictions", predictions), ("variables", variables), ("save signature", by_name)]:
        assert result.verdict == compare.BIT_EXACT, f"{what}: {result.summary()}"

    # "Every variable" must include the optimizer's state, or the property would prove little.
    # Slot names: tf_keras "m/dense/kernel", "v/dense/kernel"; Keras 3 "adam/dense_kernel_momentum", "..._velocity".
    names = checkpoints.read(straight.signature_checkpoint)
    weights = len(b.manifest["save_signature_variables"]) // 3  # weights + m + v (+ iteration, learning rate)
    assert sum(n.startswith("m/") or n.endswith("_momentum") for n in names) == weights
    assert sum(n.startswith("v/") or n.endswith("_velocity") for n in names) == weights
    (iteration,) = [n for n in names if n.split("/")[-1] == "iteration"]
    assert int(names[iteration]) == k + m
