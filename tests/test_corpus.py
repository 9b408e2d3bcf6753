"""certify on the corpus of public styles (tests/corpus/: one module per style, each citing its source), with
no flags and no data: what it finds, what data it makes up, its verdict, what each checkpoint convention
leaves out; and the flips: a broken twin's convention leaves one more variable out, a runtime that drops
what it restores is NOT conformant.

What each case expects was derived from the public code it follows, not from a run of the harness.
"""

import json
from pathlib import Path

import pytest

from harness.certify import certificate, certify_data, discover
from harness.errors import HarnessError

from .corpus import collect
from .test_cli import harness

CASES = {case.name: case for case in collect()}
ROLES = ("train", "loss", "predict", "save", "restore", "get_weights", "set_weights")
# What the harness cannot do yet, one entry per cause: the roles it finds otherwise, why, and the issue. Strict:
# an entry whose roles are found as the case expects fails the test ("remove it").
LIMITS = {
    "akatroj_fl_wrapper": ({"get_weights", "set_weights"}, "the weights getter takes a dummy string input: the plan "
                           "calls get_weights with no inputs, so weights by value are not found (none: N/A)"),
    "akatroj_fmnist_class_ids": ({"get_weights", "set_weights"}, "the weights getter takes a dummy string input"),
    "flutter_litert_linear": ({"save", "restore"}, "the checkpoint path is a [1] string vector: the runtimes feed a "
                              "scalar path, so save/restore are not used (the saver still is)"),
}
# Data choices the graph does not yet tell, per input: what certify makes up instead (strict, as LIMITS).
DATA_LIMITS = {
    # NCE's labels reach the embedding gather through a concat with the sampled ids: their range is not followed
    # there, so they are made up in [0, 10), which the 12-row vocabulary holds
    "go_word2vec_train_graph": {"train_labels": "data"},
}
# Exports whose data cannot be made up (certify asks for --data, exit 2): the graph does not say the inputs' rank.
UNSYNTHESIZABLE = {"rust_regression_checkpoint": "its rank is unknown", "rust_regression_savedmodel": "its rank is unknown",
                   # its placeholder is a serialized tf.Example (string); training feeds the parsed Identity instead
                   "serving_mnist_classify": "its rank is unknown"}
# Verdicts that are not stable yet, one entry per cause (open in issue 26): certify must never call them conformant.
UNSTABLE = {
    # LSTM dropout (tf_keras, seeded per op) under RMSprop: two Python loads drew different masks on one run (no
    # verdict, exit 2) and equal ones on another, where java-1.1.0 (TF 2.18) then diverged from TF 2.21 norm-wise on
    # slots of ~1e-7 (scaled error 1.05 against the 1e-4 band): near-zero tensors need an absolute floor in the band
    "fedcampus_mcrnn_outputs": "random masks and near-zero slots across TF versions",
}
# Exports discovery still refuses, one entry per cause: the error it gives (strict, as LIMITS).
REFUSED: dict[str, str] = {}
SLOW = 90  # seconds: the bound per export of the zoo's size on 2 cores


def _built(tmp_path_factory, name: str, broken: bool = False) -> Path:
    out = tmp_path_factory.getbasetemp() / "corpus" / (name + (".broken" if broken else "")) / "saved_model"
    if not (out / "saved_model.pb").exists():
        CASES[name].build(out, broken)
    return out


def _hint(kind_value) -> str:
    if kind_value is None:
        return "data"
    kind, value, _ = kind_value
    return f"class-ids:{value}" if kind == "ids" else kind


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_roles_and_the_data_come_from_the_graph(tmp_path_factory, name):
    case = CASES[name]
    assert "/" in case.source and " " in case.source, case.source  # "owner/repo path"
    try:
        d = discover.discover(_built(tmp_path_factory, name))
    except HarnessError as e:
        assert name in REFUSED and REFUSED[name] in str(e), f"{e}; remove it from REFUSED" if name not in REFUSED else e
        return
    assert name not in REFUSED, f"{name} is now discovered: remove it from REFUSED"
    found = {role: getattr(d.interface, role) for role in ROLES}
    if d.train_op:  # trained by op: the signature the scratch copy gets stands for the op and the loss tensor
        found["train"], found["loss"] = f"op:{d.train_op[0]}", f"tensor:{d.train_op[1]}"
    wanted = {role: case.roles.get(role) for role in ROLES}
    differ = {role for role in ROLES if found[role] != wanted[role]}
    limited, why = LIMITS.get(name, (set(), ""))
    assert differ == limited, (f"found {found}, the source says {wanted}" + (f"; listed limit: {why}" if why else "")
                               + ("; remove it from LIMITS" if limited and not differ else ""))
    assert tuple(d.interface.tags) == tuple(sorted(case.tags))
    hints = d.hints.get(d.interface.train, {})
    assert {i: _hint(hints.get(i)) for i in case.data} == {**case.data, **DATA_LIMITS.get(name, {})}
    assert bool(d.train_random) == case.trains_randomly
    if name in UNSYNTHESIZABLE:
        with pytest.raises(HarnessError, match=UNSYNTHESIZABLE[name]):
            certify_data.synthesize(d, 8)
        return
    data = certify_data.synthesize(d, 8)
    for i, choice in case.data.items():
        if choice.startswith("class-ids:"):
            labels = data.data[f"train.{i}"]
            assert labels.min() >= 0 and labels.max() < int(choice.split(":")[1])


def _leaves_out(d) -> dict:
    """Convention -> the kinds of state it leaves out, from the graph alone (certificate.conventions)."""
    return {way: frozenset(found["leaves_out"]) for way, found in certificate.conventions(d, [], "").items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_what_each_convention_leaves_out_and_the_broken_twin_leaves_out_more(tmp_path_factory, name):
    case = CASES[name]
    limited = LIMITS.get(name, (set(),))[0]
    if name in REFUSED:
        with pytest.raises(HarnessError, match=REFUSED[name]):
            discover.discover(_built(tmp_path_factory, name))
        return
    good = _leaves_out(discover.discover(_built(tmp_path_factory, name)))
    bad = _leaves_out(discover.discover(_built(tmp_path_factory, name, broken=True)))
    for way, expected in case.leaves_out.items():
        if (way == "weights" and "get_weights" in limited) or (way == "signature" and "save" in limited):
            continue
        assert good[way] == expected, (way, good)
        assert bad[way] == expected | case.broken_leaves_out.get(way, frozenset()), (way, bad)


def certify(export: Path, out: Path, *flags):
    done = harness("certify", export, "--out", out, "--on-device", "", *flags)
    return done, json.loads((out / "certificate.json").read_text())


@pytest.mark.java
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_corpus_is_certified_with_no_flags_and_no_data(tmp_path_factory, tmp_path, name):
    case = CASES[name]
    if name in REFUSED or name in UNSYNTHESIZABLE:  # refused before any runtime starts: one line, exit 2
        done = harness("certify", _built(tmp_path_factory, name), "--out", tmp_path / "cert")
        assert done.returncode == 2 and (REFUSED.get(name) or UNSYNTHESIZABLE[name]) in done.stderr + done.stdout
        return
    done, cert = certify(_built(tmp_path_factory, name), tmp_path / "cert")
    if case.verdict == "conformant":
        assert done.returncode == 0 and cert["ok"], done.stdout[-5000:] + done.stderr[-2000:]
        assert "verdict: trainable and conformant in every runtime" in done.stdout
        assert " failed," not in done.stdout.split("verdict:")[0].splitlines()[-1] or " 0 failed," in done.stdout
    elif name in UNSTABLE:  # no verdict either way is settled yet: never conformant, and why is listed
        assert done.returncode in (1, 2) and not cert["ok"], done.stdout[-5000:]
    else:
        cause = case.verdict.split(": ", 1)[1]
        assert done.returncode in (1, 2) and not cert["ok"], done.stdout[-5000:]
        causes = {f.get("cause", {}).get("id") for f in cert["failing"]}
        assert cause in causes or cause in cert["verdict"], (cause, causes, cert["verdict"])
    for way, found in cert["resume"].items():  # a convention that leaves state out says so, and is no failure
        assert set(found["leaves_out"]) == set(case.leaves_out.get(way, found["leaves_out"])), (way, found)


# A runtime that drops what it restores is NOT conformant, whatever the export leaves out itself.
FLIPS = [("tfexamples_personalization", "java-restore-signature-ignored", "restore.signature"),
         ("flower_android_parameters", "java-saver-restore-ignored", "restore.saver")]


@pytest.mark.java
@pytest.mark.parametrize("name, fault, check", FLIPS)
def test_a_runtime_that_does_not_restore_what_it_should_is_not_conformant(tmp_path_factory, tmp_path, name, fault, check):
    done, cert = certify(_built(tmp_path_factory, name), tmp_path / "cert", "--plant-fault", fault)
    assert done.returncode == 1 and not cert["ok"], done.stdout[-4000:]
    # ids are <tf>/<runtime>/<export folder>.<check>: the planted runtime's restore fails, Python's does not
    failing = [f["id"] for f in cert["failing"]]
    assert failing and all("/java-1.1.0/" in i for i in failing) and any(f".{check}." in i for i in failing), failing
    assert "NOT conformant" in done.stdout
