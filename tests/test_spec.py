import pytest

from harness.exports import spec
from harness.errors import HarnessError


def test_every_spec_file_loads_and_is_named_after_its_file():
    for path in spec.SPECS_DIR.glob("*.toml"):
        base, *variants = spec.load(path)
        assert base.name == path.stem
        assert all(v.name.startswith(f"{path.stem}_") for v in variants)
    assert len({s.name for s in spec.all_specs()}) == len(spec.all_specs())


def test_optimizer_override_changes_the_digest(mlp_spec):
    other = mlp_spec.with_optimizer(learning_rate=0.5)
    assert other.optimizer["learning_rate"] == 0.5 and other.digest != mlp_spec.digest
    assert mlp_spec.optimizer["learning_rate"] != 0.5  # the original is untouched


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('units = 16', 'units = "16"'), "'units' must be int"),
    (lambda t: t.replace('type = "feature_scale"', 'type = "attention"'), "layers[0].type 'attention'"),
    (lambda t: t.replace('name = "adam"', 'name = "lamb"'), "optimizer.name 'lamb'"),
    (lambda t: t.replace('batch_size = 16', 'batch_size = 0'), "training.batch_size must be positive"),
    (lambda t: t.replace('[labels.y]', '[labels.z]\nshape = [1]\ndtype = "float32"\n[labels.y]'), "'loss' names one loss"),
    (lambda t: t.replace('name = "adam"', 'name = "sgd"'), "optimizer (sgd) has unknown keys ['beta_1', 'beta_2', 'epsilon']"),
    (lambda t: t.replace('ci_routes = ["keras3_archive"]', 'ci_routes = ["raw_module"]', 1), "[variants.amsgrad]: ci_routes"),
    (lambda t: t + "\n[broken", "not valid TOML"),
])
def test_bad_spec_names_the_file_and_the_problem(tmp_path, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(edit((spec.SPECS_DIR / "mlp_regression.toml").read_text()))
    with pytest.raises(HarnessError) as error:
        spec.load(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_unknown_spec_lists_the_known_ones():
    with pytest.raises(HarnessError, match="known: .*mlp_regression"):
        spec.find("nope")


def test_the_routes_a_spec_may_name_are_the_routes_that_exist():
    from harness.exports import routes

    assert spec.ROUTES == set(routes.ROUTES)
