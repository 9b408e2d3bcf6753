"""The export cache prunes what a new build supersedes, never an entry a process holds."""

import json
import subprocess
import sys
import threading

import pytest

from harness.exports import bundle, cache

from .conftest import ROOT


def entry(exports, name, **fields):
    manifest = {"format": 1, "spec": "mlp", "spec_digest": "d1", "route": "tf_keras", "tensorflow": "2.21.0",
                "keras": "3.0", "tf_keras": "2.21.0", "exporter_source": "new"} | fields
    root = exports / f"{manifest['spec']}.{manifest['route']}.{name}"
    (root / "saved_model").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_superseded_entries_go_and_the_rest_stays(tmp_path):
    new = entry(tmp_path, "n")
    older_code = entry(tmp_path, "a", exporter_source="old")
    older_keras = entry(tmp_path, "b", keras="2.9")
    edited_and_older = entry(tmp_path, "c", spec_digest="d0", exporter_source="old")
    same_name_other_content = entry(tmp_path, "d", spec_digest="d2")  # e.g. a generated model: live
    other_tf = entry(tmp_path, "e", tensorflow="2.15.1", exporter_source="old")
    other_route = entry(tmp_path, "f", route="raw_module", exporter_source="old")
    other_spec = entry(tmp_path, "g", spec="cnn", exporter_source="old")
    assert sorted(cache.prune(new)) == sorted(p.name for p in (older_code, older_keras, edited_and_older))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (new, same_name_other_content, other_tf, other_route, other_spec))


def test_an_entry_held_by_a_process_stays_until_that_process_ends(tmp_path):
    new = entry(tmp_path, "n")
    old = entry(tmp_path, "a", exporter_source="old")
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from harness.exports import cache; "
                               f"assert cache.claim({str(old)!r}); print('held', flush=True); sys.stdin.read()"],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cache.prune(new) == [] and old.exists()
    finally:
        holder.kill()  # a killed process's locks go with it
        holder.wait()
    assert cache.prune(new) == [old.name] and not old.exists()


def test_a_pruned_entry_cannot_be_claimed(tmp_path):
    new = entry(tmp_path, "n")
    old = entry(tmp_path, "a", exporter_source="old")
    assert cache.prune(new) == [old.name]
    assert not cache.claim(old)
    assert cache.claim(new)
    assert cache.prune(entry(tmp_path, "m", exporter_source="newer")) == []  # this process holds `new`


def test_leftovers_of_a_pruner_that_died_are_deleted(tmp_path):
    new = entry(tmp_path, "n")
    trash = tmp_path / ".trash.mlp.tf_keras.a.12345"
    (trash / "saved_model").mkdir(parents=True)
    cache.prune(new)
    assert not trash.exists()


def test_a_build_prunes_the_export_it_supersedes(tmp_path, mlp_spec, bundles):
    """A real build: the cached export of the same spec, route and TF by an older exporter goes."""
    current = bundles["tf_keras"].manifest
    stale = entry(tmp_path, "0123456789abcdef", **{k: current[k] for k in ("spec", "spec_digest", "route", "tensorflow",
                                                                         "keras", "tf_keras", "format")},
                  exporter_source="an older exporter")
    kept = entry(tmp_path, "fedcba9876543210", **{k: current[k] for k in ("spec", "route", "tensorflow", "keras",
                                                                        "tf_keras", "format", "exporter_source")},
                 spec_digest="another learning rate")
    built = bundle.build(mlp_spec, "tf_keras", tmp_path)
    assert built.root.exists() and not stale.exists() and kept.exists()


def test_a_damaged_entry_is_rebuilt_with_a_note(tmp_path, mlp_spec, capsys):
    """A truncated variables file: the next build notices it (the digests of the build), says so, builds anew."""
    built = bundle.build(mlp_spec, "raw_module", tmp_path)
    variables = next((built.saved_model / "variables").glob("variables.data-*"))
    assert built.manifest["files"][variables.relative_to(built.root).as_posix()] == cache.digests(built.root)[
        variables.relative_to(built.root).as_posix()]
    intact = variables.read_bytes()
    capsys.readouterr()
    assert bundle.build(mlp_spec, "raw_module", tmp_path).root == built.root
    assert capsys.readouterr().err == ""  # intact: reused, silently
    cache._intact.discard(built.root)  # as a later process would: it has not checked the entry yet
    variables.write_bytes(intact[: len(intact) // 2])
    again = bundle.build(mlp_spec, "raw_module", tmp_path)
    note = capsys.readouterr().err.strip().splitlines()
    assert len(note) == 1 and str(built.root) in note[0] and variables.name in note[0] and "changed" in note[0], note
    assert again.root == built.root and variables.read_bytes() == intact
    assert cache.damage(again.root) is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the damaged copy is gone


@pytest.mark.java
def test_a_run_on_a_damaged_cache_entry_passes(tmp_path, mlp_spec):
    """The whole command: a corrupted cached export is rebuilt, not reported as the user's bad input (exit 2)."""
    cache_dir = tmp_path / "cache"  # classpaths are resolved from ~/.m2 into it
    built = bundle.build(mlp_spec, "raw_module", cache_dir / "exports")
    variables = next((built.saved_model / "variables").glob("variables.data-*"))
    variables.write_bytes(variables.read_bytes()[:100])
    done = subprocess.run([sys.executable, "-m", "harness", "conformance", "--spec", "mlp_regression", "--route",
                           "raw_module", "--java", "1.1.0", "--cache-dir", cache_dir, "--out", tmp_path / "out"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    notes = [l for l in done.stderr.splitlines() if l.startswith("note: rebuilding")]
    assert len(notes) == 1 and str(built.root) in notes[0], done.stderr[-3000:]


def test_an_installed_package_links_its_import_root_from_many_threads_at_once(tmp_path, monkeypatch):
    # certify starts its workers from several threads; each asks for the import root of an installed wheel.
    from harness import resources

    monkeypatch.setattr(resources, "CHECKOUT", None)
    monkeypatch.setenv(resources.ENV_CACHE, str(tmp_path))
    errors = []
    for _ in range(20):
        for old in tmp_path.glob("python/*/harness"):
            old.unlink()  # each round links afresh, as on a first run
        start = threading.Barrier(16)

        def ask():
            start.wait()
            try:
                root = resources.import_root()
                assert (root / "harness").resolve() == resources.PACKAGE.resolve()
            except Exception as e:  # collected: the assertion below names it
                errors.append(repr(e))

        threads = [threading.Thread(target=ask) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert [p.name for p in (tmp_path / "python").iterdir()] and not list(tmp_path.glob("python/*/.harness.*"))
