import pytest

from harness import spec
from harness.errors import HarnessError


def test_every_spec_in_specs_loads():
    loaded = spec.all_specs()
    assert [s.name for s in loaded] == sorted(p.stem for p in spec.SPECS_DIR.glob("*.toml"))


def test_optimizer_override_changes_the_digest(mlp_spec):
    other = mlp_spec.with_optimizer(learning_rate=0.5)
    assert other.optimizer["learning_rate"] == 0.5 and other.digest != mlp_spec.digest
    assert mlp_spec.optimizer["learning_rate"] != 0.5  # the original is untouched


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('units = 16', 'units = "16"'), "'units' must be int"),
    (lambda t: t.replace('type = "feature_scale"', 'type = "attention"'), "layers[0].type 'attention'"),
    (lambda t: t.replace('name = "adam"', 'name = "lamb"'), "optimizer.name 'lamb'"),
    (lambda t: t.replace('batch_size = 16', 'batch_size = 0'), "training.batch_size must be positive"),
    (lambda t: t.replace('[labels.y]', '[labels.y]\nextra = 1\n[labels.z]'), "exactly one tensor"),
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
