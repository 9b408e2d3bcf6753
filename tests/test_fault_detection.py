"""The harness can tell wrong from right: faults planted in what TF Java saved are reported as diverged."""

import numpy as np
import pytest

from tensorflow.core.protobuf import trackable_object_graph_pb2

from harness import checkpoints, runner
from harness.compare import DIVERGED

from .helpers import export_of, rewrite_checkpoint

pytestmark = pytest.mark.java


class Faulty:
    """A runtime that runs TF Java for real, then damages the checkpoint it wrote, as a buggy runtime would."""

    def __init__(self, inner, fault):
        self.inner, self.fault, self.name = inner, fault, inner.name

    def run(self, *args, **kwargs):
        trajectory = self.inner.run(*args, **kwargs)
        rewrite_checkpoint(trajectory.saver_checkpoint, self.fault)
        return trajectory


def key(values, name):
    """The checkpoint key of the variable called `name` (read from the checkpoint's object graph)."""
    graph = trackable_object_graph_pb2.TrackableObjectGraph.FromString(values[checkpoints.OBJECT_GRAPH_KEY])
    found = [t.checkpoint_key for node in graph.nodes for t in node.attributes if t.full_name.split(":")[0] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def one_ulp_up(values):
    flat = values[key(values, "dense/kernel")].reshape(-1)
    flat[0] = np.nextafter(flat[0], np.float32(np.inf))


def adam_m_slot_not_restored(values):  # an unrestored slot keeps its initial value: zeros
    k = key(values, "m/dense/kernel")
    values[k] = np.zeros_like(values[k])


def iteration_counter_reset(values):
    k = key(values, "iteration")
    values[k] = np.zeros_like(values[k])


@pytest.fixture(scope="module")
def reference(bundles, mlp_spec, tmp_path_factory):
    export = export_of(bundles["tf_keras"], mlp_spec)
    return export, runner.reference(export, tmp_path_factory.mktemp("reference"))


def run_with(fault, java, reference, tmp_path):
    export, ref = reference
    results = runner.check_runtime(Faulty(java, fault), export, ref, tmp_path)
    return {r.check: r for r in results}


def test_the_untouched_java_run_is_bit_exact(java, reference, tmp_path):
    results = run_with(lambda values: None, java, reference, tmp_path)
    for check in ("train.loss", "predict", "checkpoint.saver", "checkpoint.signature", "resume.loss", "resume.variables"):
        assert results[check].comparison.verdict == "bit-exact", results[check].detail


def test_one_ulp_in_a_weight_is_diverged(java, reference, tmp_path):
    results = run_with(one_ulp_up, java, reference, tmp_path)
    saver = results["checkpoint.saver"]
    assert saver.comparison.verdict == DIVERGED and saver.comparison.max_ulp == 1
    assert "(dense/kernel)" in saver.comparison.first_divergence
    assert results["train.loss"].comparison.verdict == "bit-exact"  # the fault is in the checkpoint only


@pytest.mark.parametrize("fault, slot", [(adam_m_slot_not_restored, "(m/dense/kernel)"), (iteration_counter_reset, "(iteration)")])
def test_lost_optimizer_state_is_diverged_and_breaks_resume(fault, slot, java, reference, tmp_path):
    results = run_with(fault, java, reference, tmp_path)
    assert results["checkpoint.saver"].comparison.verdict == DIVERGED
    assert slot in results["checkpoint.saver"].comparison.first_divergence
    assert results["resume.loss"].comparison.verdict == DIVERGED
    assert results["resume.variables"].comparison.verdict == DIVERGED
