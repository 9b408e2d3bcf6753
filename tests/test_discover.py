"""Certify's reading of a foreign export: discovery of its signatures, the op scan, and its data.

The exports are built here (tests/foreign_exports.py) the ways users write them, plus the zoo's
own through harness.exports.bundle; each is built once per test session, only when a test needs it.
"""

import re
import shutil

import numpy as np
import pytest

from harness.exports import bundle, spec
from harness.certify import certify_data, discover, scan
from harness.errors import HarnessError
from harness.plan.interface import Interface

from . import foreign_exports
from .helpers import fingerprint

DISCOVERED = ["fit_step", "tf1_ref_graph", "tf1_momentum", "tf1_train_and_serve", "v1_checkpoint_module", "weights_by_value",
              "combined_loss", "metrics_and_extra_inputs", "checkpoint_module", "multi_label", "text_no_predict", "hang_forever",
              *foreign_exports.DENIED]
ZOO = [("mlp_regression", "tf_keras"), ("mlp_regression", "keras3_archive"), ("mlp_regression", "raw_module"),
       ("tf1_graph", "tf1_graph")]


@pytest.fixture(scope="session")
def foreign(tmp_path_factory):
    """name -> (saved_model path, Expected), each export built on first use."""
    root, built = tmp_path_factory.mktemp("foreign"), {}

    def get(name):
        if name not in built:
            built[name] = foreign_exports.build(name, root)
        return built[name]

    return get


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """(spec, route) -> Bundle, exported on first use into this session's own directory."""
    root, built = tmp_path_factory.mktemp("zoo"), {}

    def get(spec_name, route):
        if (spec_name, route) not in built:
            built[spec_name, route] = bundle.build(spec.find(spec_name), route, root)
        return built[spec_name, route]

    return get


def note(d: discover.Discovery, role: str) -> str:
    (line,) = [n for n in d.notes if n.startswith(role + ":")]
    return line


# -- discovery --

@pytest.mark.parametrize("name", DISCOVERED)
def test_foreign_exports_are_discovered(foreign, name):
    path, expected = foreign(name)
    d = discover.discover(path)
    assert d.interface == expected.interface
    assert set(d.train_updates) == expected.updated
    assert d.saver_def == expected.saver_def
    train_note = note(d, "train")
    assert f"'{expected.interface.train}'" in train_note and f"updates {len(expected.updated)} variable" in train_note
    for op in expected.update_ops:
        assert op in train_note
    for signature, inputs in expected.inputs.items():
        assert {s.name: (s.dtype, s.shape) for s in d.inputs[signature]} == inputs
    for role in ("predict", "save", "restore"):
        assert note(d, role).startswith(f"{role}: none" if getattr(expected.interface, role) is None
                                        else f"{role}: signature '{getattr(expected.interface, role)}'")


@pytest.mark.parametrize("spec_name,route", ZOO)
def test_the_zoos_exports_are_discovered_as_the_default_interface(zoo, spec_name, route):
    b = zoo(spec_name, route)
    d = discover.discover(b.saved_model)
    assert d.interface == Interface()
    assert d.train_updates and d.saver_def
    assert [s.name for s in d.train_inputs] == sorted(k[len("train."):] for k in b.data() if k.startswith("train."))


def test_an_alias_of_the_train_signature_is_not_a_second_candidate(zoo):
    # keras.export.ExportArchive serves its first endpoint (train) as serving_default too
    d = discover.discover(zoo("mlp_regression", "keras3_archive").saved_model)
    assert "serving_default" in d.inputs
    assert "'serving_default' is the same function" in note(d, "train")


def test_tf1_discovery_names_the_variables_the_zoo_exporter_saved(zoo):
    b = zoo("tf1_graph", "tf1_graph")
    assert set(discover.discover(b.saved_model).train_updates) == set(b.manifest["save_signature_variables"])


def test_updates_inside_a_while_loop_body_are_found(foreign):
    path, expected = foreign("hang_forever")
    _, meta = discover.read_meta_graph(path)
    (train_fn,) = [f for f in meta.graph_def.library.function if f.signature.name.startswith("__inference_train_until")]
    ops = {n.op for n in train_fn.node_def}
    assert "While" in ops and not {op for op in ops if discover.is_update_op(op)}  # the premise: updates only in the body
    assert set(discover.discover(path).train_updates) == expected.updated


def test_of_several_candidates_the_evidence_ranks_one_and_names_the_others(foreign):
    path, _ = foreign("two_trainers")
    d = discover.discover(path)  # never refused while the evidence ranks them
    # fit_momentum's step writes w and its momentum slot, fit_sgd's only w: the fuller optimizer step trains
    assert d.interface.train == "fit_momentum"
    assert ("also train?: signature 'fit_sgd' (updates 1 variable via AssignSubVariableOp): ranked below "
            "'fit_momentum' by the evidence; --train fit_sgd certifies it instead") in d.notes
    # predict and embed both compute from x and w; the name is the last tie-break
    assert d.interface.predict == "predict"
    assert any(n.startswith("also predict?: signature 'embed'") for n in d.notes)
    # loss = data + l2: of its two scalar float outputs, l2 is computed into loss, so loss is what the step minimizes
    assert note(d, "loss").startswith("loss: output 'loss' (of the scalar float outputs of 'fit_momentum', the one "
                                      "the others (l2) are computed into")
    d = discover.discover(path, {"train": "fit_sgd", "loss": "loss", "predict": "embed", "save": None})
    assert d.interface == Interface(train="fit_sgd", predict="embed", save=None, restore=None, metrics=("l2",))
    assert note(d, "train").startswith("train: signature 'fit_sgd' (--train;")
    assert note(d, "loss") == "loss: output 'loss' of 'fit_sgd' (--loss)"
    assert "unused: signature 'fit_momentum' (updates 2 variables via ResourceApplyMomentum)" in d.notes


def test_overrides_win_and_are_checked(foreign):
    path, expected = foreign("fit_step")
    pb = path / "saved_model.pb"
    d = discover.discover(path, {"predict": "", "restore": ""})
    assert d.interface == Interface(**{**expected.interface.to_dict(), "predict": None, "restore": None,
                                       "restore_path": Interface.restore_path})
    assert d.predict_inputs == ()
    with pytest.raises(HarnessError) as e:
        discover.discover(path, {"train": "fit"})
    assert str(e.value) == (f"{pb}: --train 'fit': no such signature "
                            f"(signatures: export_weights, fit_step, import_weights, serving_default)")
    with pytest.raises(HarnessError, match=r"--loss 'loss': signature 'fit_step' has no such output \(outputs: mse\)"):
        discover.discover(path, {"loss": "loss"})
    with pytest.raises(HarnessError, match=r"--save 'serving_default' takes features: float32\[None, 5\]; "
                                           r"a save signature takes one scalar string"):
        discover.discover(path, {"save": "serving_default"})
    with pytest.raises(HarnessError, match=r"--train 'export_weights' is a save signature"):
        discover.discover(path, {"train": "export_weights"})
    with pytest.raises(HarnessError, match=r"unknown override\(s\) \['optimizer'\]"):
        discover.discover(path, {"optimizer": "adam"})


def test_an_export_that_trains_nothing_is_refused(tmp_path, foreign):
    path, _ = foreign("fit_step")
    with pytest.raises(HarnessError) as e:  # predict as the only candidate: nothing updates variables
        discover.discover(path, {"train": "serving_default", "loss": "nope"})
    assert "--loss 'nope'" in str(e.value)
    d = discover.discover(path, {"train": "serving_default"})  # the user insists: said, not refused
    assert "no variable update was found in it" in note(d, "train")


def test_a_train_op_that_no_signature_runs_is_trained_by_op(foreign, tmp_path):
    """No signature trains, but the graph's collection holds a train op: it is trained as Java code does
    (feed the placeholders it depends on, fetch the loss its gradients come from, target the op), through a
    signature added to certify's scratch copy only."""
    path, _ = foreign("tf1_train_op_in_collection")
    before = (path / "saved_model.pb").read_bytes()
    d = discover.discover(path)
    op, loss, fed = d.train_op
    assert (loss, fed) == ("Mean:0", ("x", "y")) and op.startswith("GradientDescent")
    assert d.interface.train == discover.TRAIN_SIGNATURE and d.interface.loss == "loss"
    assert d.interface.predict == "serving_default"  # evaluate computes from x, y too; the name breaks the tie
    assert note(d, "train op").startswith(f"train op: {op!r} (no signature trains")
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    discover.write_train_signature(copy, d.interface.tags, d.train_op)
    assert (path / "saved_model.pb").read_bytes() == before  # the export itself is only read
    assert discover.discover(copy).interface.train == discover.TRAIN_SIGNATURE  # the copy trains by signature
    assert discover.discover(copy).train_op is None


def test_bad_export_directories(tmp_path, foreign):
    with pytest.raises(HarnessError, match=f"^{tmp_path / 'nope'}: export directory does not exist$"):
        discover.discover(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HarnessError, match=f"^{tmp_path / 'empty' / 'saved_model.pb'}: missing"):
        discover.discover(tmp_path / "empty")
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "saved_model.pb").write_bytes(b"\xff" * 64)
    with pytest.raises(HarnessError, match=f"^{tmp_path / 'garbage' / 'saved_model.pb'}: not a SavedModel protobuf"):
        scan.scan(tmp_path / "garbage")
    path, _ = foreign("tf1_train_tag_only")
    with pytest.raises(HarnessError, match=rf"^{path / 'saved_model.pb'}: --tags serve: no meta graph has that tag set; "
                                           r"it has tag sets \[\['train'\]\]$"):
        discover.discover(path, tags=("serve",))


def test_of_several_scalar_losses_the_one_the_others_are_computed_into_is_the_loss(foreign):
    path, _ = foreign("combined_loss")  # total = cls_loss + 0.5 * reg_loss: no output is called "loss"
    d = discover.discover(path)
    assert d.interface.loss == "total"
    assert note(d, "loss").startswith("loss: output 'total' (of the scalar float outputs of 'step', the one the others "
                                      "(cls_loss, reg_loss) are computed into")


def test_a_metrics_dict_names_its_loss(foreign):
    path, _ = foreign("metrics_and_extra_inputs")  # loss, accuracy, mae: none computed from the others
    assert note(discover.discover(path), "loss") == ("loss: output 'loss' (by its name: none of 'train''s scalar float "
                                                     "outputs accuracy, loss, mae is computed from the others)")


def test_a_weight_setter_is_not_the_training_signature(foreign):
    path, _ = foreign("weights_by_value")  # set_weights(w, b) assigns variables too, from its inputs as given
    d = discover.discover(path)
    assert d.interface.train == "train"
    # ... it takes back what get_weights (no inputs) returns: weights by value, as federated clients exchange them
    assert (d.interface.get_weights, d.interface.set_weights) == ("get_weights", "set_weights")
    assert note(d, "weights") == ("weights: 'get_weights' returns b, w as read from variables, 'set_weights' writes "
                                  "them back as given (weights by value; by what they do)")
    assert not [n for n in d.notes if n.startswith("unused:")]
    assert discover.discover(path, {"train": "set_weights", "loss": "b"}).interface.train == "set_weights"  # --train wins
    # Not paired (--get-weights ''): the setter is said to be no trainer, and no weights are checked.
    d = discover.discover(path, {"get_weights": ""})
    assert (d.interface.get_weights, d.interface.set_weights) == (None, None)
    assert note(d, "weights") == "weights: none (--get-weights or --set-weights '')"
    assert ("unused: signature 'set_weights' writes 2 variable(s) from its inputs as given (a setter, not an optimizer "
            "step)") in d.notes
    assert "unused: signature 'get_weights' (takes no inputs)" in d.notes
    with pytest.raises(HarnessError, match=r"no weights by value in the signatures named \('get_weights' returns b: "
                                           r"float32\[1\], w: float32\[4, 1\], 'infer' takes x: float32\[None, 4\]\)"):
        discover.discover(path, {"set_weights": "infer"})
    # Without a setter that takes them back, a signature with no inputs is no getter.
    assert note(discover.discover(foreign("fit_step")[0]), "weights").startswith("weights: none (no signature")


def test_the_meta_graph_holding_the_training_signature_is_used_whatever_its_tags(foreign):
    path, _ = foreign("tf1_train_tag_only")  # tagged TRAINING only: no serve
    d = discover.discover(path)
    assert d.interface.tags == ("train",) and d.interface.train == "train"
    assert note(d, "tags") == "tags: meta graph ['train'] (the only one)"
    path, _ = foreign("tf1_train_and_serve")  # Estimator-style: training in one meta graph, inference in another
    d = discover.discover(path)
    assert d.interface.tags == ("train",) and d.interface.train == "train"
    assert note(d, "tags").startswith("tags: meta graph ['train'] (holds the training signature")
    with pytest.raises(HarnessError, match="no signature updates variables"):
        discover.discover(path, tags=("serve",))  # --tags wins: the inference graph trains nothing


def test_reading_never_writes_into_the_export(tmp_path, foreign):
    path, _ = foreign("checkpoint_module")
    copy = tmp_path / "export"
    shutil.copytree(path, copy)
    before = fingerprint(copy)
    d = discover.discover(copy)
    scan.check(copy)
    certify_data.synthesize(d, 3)
    assert fingerprint(copy) == before


# -- the scan --

@pytest.mark.parametrize("name", sorted(foreign_exports.DENIED))
def test_the_scan_refuses_ops_with_effects_outside_the_model(foreign, name):
    path, expected = foreign(name)
    op = expected.denied_op
    with pytest.raises(HarnessError) as e:
        scan.check(path)
    message = str(e.value)
    assert message.startswith(f"{path / 'saved_model.pb'}: refusing to run this export: op '{op}' ({scan.DENIED[op]}) "
                              f"in function '__inference_train_")
    assert message.endswith(f", run by signature 'train'. If that is intended, pass --allow-op {op}")
    report = scan.check(path, allow={op})
    assert [f.op for f in report.allowed] == [op] and not report.refused
    (where,) = [w for w, ops in report.ops.items() if op in ops]
    assert report.allowed[0].where == where and report.allowed[0].signatures == ("train",)


def test_the_scan_names_the_signatures_that_reach_a_denied_op_in_a_tf1_graph(foreign):
    path, expected = foreign("tf1_prints")
    assert discover.discover(path).interface == expected.interface
    with pytest.raises(HarnessError) as e:
        scan.check(path)
    assert str(e.value) == (f"{path / 'saved_model.pb'}: refusing to run this export: op 'PrintV2' ({scan.DENIED['PrintV2']}) "
                            f"in graph, run by signature 'train'. If that is intended, pass --allow-op PrintV2")


@pytest.mark.parametrize("name", ["checkpoint_module", "tf1_ref_graph", "fit_step"])
def test_the_checkpoint_machinery_is_allowed(foreign, name):
    report = scan.check(foreign(name)[0])
    assert {"SaveV2", "RestoreV2"} <= report.all_ops()
    assert not report.allowed


def test_the_zoo_passes_the_scan(zoo):
    for spec_name, route in (("mlp_regression", "tf_keras"), ("tf1_graph", "tf1_graph")):
        report = scan.check(zoo(spec_name, route).saved_model)
        assert "graph" in report.ops and {"SaveV2", "RestoreV2"} <= report.all_ops()


def test_the_scan_lists_the_ops_of_every_function(foreign):
    path, _ = foreign("checkpoint_module")
    _, meta = discover.read_meta_graph(path)
    report = scan.scan(path)
    assert set(report.ops) == {"graph"} | {f"function {f.signature.name!r}" for f in meta.graph_def.library.function}
    for f in meta.graph_def.library.function:
        assert sum(report.ops[f"function {f.signature.name!r}"].values()) == len(f.node_def)


def test_an_unregistered_op_is_refused(tmp_path, foreign):
    path, _ = foreign("fit_step")
    copy = tmp_path / "custom"
    shutil.copytree(path, copy)
    pb, proto = discover.read_saved_model(copy)
    function = next(f for f in proto.meta_graphs[0].graph_def.library.function if f.signature.name.startswith("__inference_fit"))
    next(n for n in function.node_def if n.op == "Square").op = "MyCompanySquare"
    pb.write_bytes(proto.SerializeToString())
    with pytest.raises(HarnessError, match=r"op 'MyCompanySquare' \(not registered in this TensorFlow"):
        scan.check(copy)
    assert not scan.check(copy, allow={"MyCompanySquare"}).refused


def test_allowing_an_op_that_is_not_refused_is_a_mistake(foreign):
    path, _ = foreign("prints")
    with pytest.raises(HarnessError, match=r"--allow-op PrintV3: not an op the scan refuses.*refused there: PrintV2"):
        scan.scan(path, allow={"PrintV3"})


def test_the_denylist():
    from tensorflow.python.framework import op_def_registry

    assert {"ReadFile", "WriteFile", "PrintV2", "PyFunc", "PyFuncStateless", "EagerPyFunc", "MatchingFiles"} <= set(scan.DENIED)
    assert not [op for op in scan.DENIED if op_def_registry.get(op) is None]  # no typos: every name is a real op
    assert not scan.CHECKPOINT_OPS & set(scan.DENIED)


# -- the data --

def test_the_zoos_data_file_is_read_as_it_is(zoo):
    b = zoo("mlp_regression", "tf_keras")
    s = spec.find("mlp_regression")
    data = certify_data.from_npz(b.data_path, discover.discover(b.saved_model), steps=s.steps)
    expected = b.data()
    assert data.steps == s.steps + s.resume_steps
    assert sorted(data.data) == sorted(expected)
    for key, array in expected.items():
        assert data.data[key].dtype == array.dtype and np.array_equal(data.data[key], array), key


def _fit_step_arrays(steps, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((steps, batch, 5)).astype("float32"), rng.standard_normal((steps, batch, 1)).astype("float32"))


def test_arrays_keyed_by_input_name_stacked_per_step(tmp_path, foreign):
    d = discover.discover(foreign("fit_step")[0])
    features, target = _fit_step_arrays(6)
    np.savez(tmp_path / "data.npz", features=features, target=target)
    data = certify_data.from_npz(tmp_path / "data.npz", d, steps=10)
    assert data.steps == len(features)  # what the data has, not what was asked for
    assert np.array_equal(data.data["train.features"], features) and np.array_equal(data.data["train.target"], target)
    assert np.array_equal(data.data["predict.features"], features[0])
    assert "data: predict.features is the first training batch of 'features'" in data.notes


def test_one_batch_is_reused_at_every_step(tmp_path, foreign):
    d = discover.discover(foreign("fit_step")[0])
    features, target = _fit_step_arrays(3)
    np.savez(tmp_path / "single.npz", features=features[0], target=target[0])
    data = certify_data.from_npz(tmp_path / "single.npz", d, steps=5)
    assert data.steps == 5 and data.data["train.features"].shape == (5, *features[0].shape)
    assert all(np.array_equal(step, features[0]) for step in data.data["train.features"])
    np.savez(tmp_path / "mixed.npz", features=features, target=target[1], **{"predict.features": features[2]})
    data = certify_data.from_npz(tmp_path / "mixed.npz", d, steps=5)
    assert data.steps == len(features)
    assert all(np.array_equal(step, target[1]) for step in data.data["train.target"])
    assert np.array_equal(data.data["predict.features"], features[2])


def test_several_labels_of_several_dtypes(tmp_path, foreign):
    d = discover.discover(foreign("multi_label")[0])
    synthesized = certify_data.synthesize(d, 4, int_range=(0, foreign_exports.MULTI_LABEL_CLASSES))
    by_name = {s.name: s for s in d.train_inputs}
    for name, s in by_name.items():
        array = synthesized.data[f"train.{name}"]
        assert array.dtype == s.dtype and array.shape == (4, certify_data.DEFAULT_BATCH, *s.shape[1:]), name
    category = synthesized.data["train.category"]
    assert category.min() >= 0 and category.max() < foreign_exports.MULTI_LABEL_CLASSES
    assert synthesized.data["train.valid"].any() and not synthesized.data["train.valid"].all()
    # the same arrays from a file, keyed by input name, one batch per step
    np.savez(tmp_path / "labels.npz", **{k[len("train."):]: v for k, v in synthesized.data.items() if k.startswith("train.")})
    read = certify_data.from_npz(tmp_path / "labels.npz", d, steps=2)
    assert read.steps == 4 and all(np.array_equal(read.data[k], v) for k, v in synthesized.data.items())
    # an int64 category where the signature takes int32: named, not cast
    wrong = {k[len("train."):]: v for k, v in synthesized.data.items() if k.startswith("train.")}
    wrong["category"] = wrong["category"].astype("int64")
    np.savez(tmp_path / "wrong.npz", **wrong)
    with pytest.raises(HarnessError) as e:
        certify_data.from_npz(tmp_path / "wrong.npz", d, steps=2)
    assert str(e.value).startswith(f"{tmp_path / 'wrong.npz'}: 'category' is int64[4, 8], but signature 'step' in ")
    assert "expects 'category' as one batch per step: [steps] + int32[None] (None: any) (cast it with astype" in str(e.value)


def test_synthesized_data_is_deterministic(foreign):
    d = discover.discover(foreign("multi_label")[0])
    one, two = certify_data.synthesize(d, 3, seed=7), certify_data.synthesize(d, 3, seed=7)
    other = certify_data.synthesize(d, 3, seed=8)
    assert sorted(one.data) == sorted(two.data)
    assert all(np.array_equal(one.data[k], two.data[k]) for k in one.data)
    assert not np.array_equal(one.data["train.pixels"], other.data["train.pixels"])
    assert np.array_equal(one.data["predict.pixels"], one.data["train.pixels"][0])
    assert certify_data.synthesize(d, 2, batch=3).data["train.pixels"].shape == (2, 3, 6)


def test_what_cannot_be_synthesized_is_named(foreign):
    path, _ = foreign("text_no_predict")
    with pytest.raises(HarnessError) as e:
        certify_data.synthesize(discover.discover(path), 3)
    assert str(e.value) == (f"{path / 'saved_model.pb'}: cannot synthesize data for signature 'train': "
                            f"train input 'tokens' (string[None]): strings cannot be made up. Pass the data (--data)")
    with pytest.raises(HarnessError, match=r"train input 'category' \(int32\[None\]\): \[0, 4294967296\) does not fit int32"):
        certify_data.synthesize(discover.discover(foreign("multi_label")[0]), 3, int_range=(0, 2**32))


def test_string_inputs_from_a_file(tmp_path, foreign):
    d = discover.discover(foreign("text_no_predict")[0])
    np.savez(tmp_path / "text.npz", tokens=np.array(["a", "bb", "ccc"]), label=np.ones(3, "float32"))
    data = certify_data.from_npz(tmp_path / "text.npz", d, steps=2)
    assert data.steps == 2 and data.data["train.tokens"].shape == (2, 3)
    assert not [k for k in data.data if k.startswith("predict.")]  # the export has no inference signature


@pytest.mark.parametrize("arrays,message", [
    (lambda f, t: {"features": f.astype("float64"), "target": t},
     r"'features' is float64\[6, 4, 5\], but signature 'fit_step' in .* expects 'features' as one batch per step: "
     r"\[steps\] \+ float32\[None, 5\]"),
    (lambda f, t: {"features": f[..., :4], "target": t}, r"'features' is float32\[6, 4, 4\], but"),
    (lambda f, t: {"features": f[None], "target": t},
     r"'features' is float32\[1, 6, 4, 5\], but .* expects 'features' as float32\[None, 5\] \(one batch, used at every step\) "
     r"or \[steps\] \+ float32\[None, 5\]"),
    (lambda f, t: {"features": f}, r"signature 'fit_step' in .* takes 'target', which the data does not give \(keys: features\)"),
    (lambda f, t: {"features": f, "target": t, "labels": t}, r"key 'labels' is no input of the signatures used"),
    (lambda f, t: {"features": f, "target": t[:5]}, r"the per-step arrays hold different numbers of steps \('features': 6, 'target': 5\)"),
    (lambda f, t: {"features": f, "train.features": f, "target": t}, r"keys 'features' and 'train.features' both give"),
    (lambda f, t: {"features": f, "target": t, "predict.inputs": f[0]}, r"'predict.inputs': signature 'serving_default' .*has no input 'inputs'"),
    (lambda f, t: {"train.features": f[0], "target": t}, r"'train.features' is float32\[4, 5\], but"),
])
def test_data_that_does_not_match_names_file_key_and_both_shapes(tmp_path, foreign, arrays, message):
    d = discover.discover(foreign("fit_step")[0])
    path = tmp_path / "data.npz"
    np.savez(path, **arrays(*_fit_step_arrays(6)))
    with pytest.raises(HarnessError, match=f"^{re.escape(str(path))}: {message}"):
        certify_data.from_npz(path, d, steps=3)


def test_a_predict_input_that_is_no_training_input_must_be_given(tmp_path, foreign):
    d = discover.discover(foreign("fit_step")[0], {"predict": "export_weights"})  # its input: 'prefix'
    path = tmp_path / "data.npz"
    np.savez(path, **dict(zip(("features", "target"), _fit_step_arrays(2))))
    with pytest.raises(HarnessError, match=f"^{re.escape(str(path))}: signature 'export_weights' takes 'prefix', "
                                           f"which is no training input: give it as 'predict.prefix'$"):
        certify_data.from_npz(path, d, steps=2)
    np.savez(path, **dict(zip(("features", "target"), _fit_step_arrays(2))), **{"predict.prefix": np.array("x")})
    assert certify_data.from_npz(path, d, steps=2).data["predict.prefix"] == np.array("x")


def test_roles_come_from_what_each_signature_computes_not_from_names(foreign):
    """An on-device RL agent's signatures (tests/foreign_exports.rl_agent), named to mislead: only the one whose
    writes come from data and the variables' own values trains; setters, copies and re-initializers do not;
    inference reads what train trains (not the frozen encoder's nor the target network's variables)."""
    path, expected = foreign("rl_agent")
    d = discover.discover(path)
    assert d.interface == expected.interface
    assert set(d.train_updates) == expected.updated
    unused = {n.split("'")[1]: n for n in d.notes if n.startswith("unused: signature")}
    assert "writes 1 variable(s) by re-initialize, no optimizer step" in unused["train_reinit"]
    assert "writes 1 variable(s) by copy, no optimizer step" in unused["train_target_sync"]
    assert "from its inputs as given" in unused["train_from_vector"]
    assert "reads none of the variables train writes" in unused["predict_target"]
    assert "reads none of the variables train writes" in unused["predict_features"]


def test_integer_ids_get_the_range_the_graph_fixes_and_scalars_are_hyper_parameters(foreign):
    d = discover.discover(foreign("combined_loss")[0])  # label: sparse cross-entropy over x @ w_cls's 3 logits
    assert d.hints["step"]["label"][:2] == ("ids", 3)
    data = certify_data.synthesize(d, 4)
    assert data.data["train.label"].min() >= 0 and data.data["train.label"].max() == 2
    assert "data: 'label' uniform in [0, 3) (the class ids of a sparse cross-entropy over 3 logits)" in data.notes
    assert certify_data.synthesize(d, 4, int_range=(0, 10)).data["train.label"].max() > 2  # the flag wins
    d = discover.discover(foreign("metrics_and_extra_inputs")[0])  # learning_rate, keep_prob: scalar floats
    data = certify_data.synthesize(d, 3)
    for name in ("learning_rate", "keep_prob"):
        assert d.hints["train"][name][0] == "hyper"
        assert (data.data[f"train.{name}"] == np.float32(certify_data.HYPER_VALUE)).all()
