"""Regressions for defects found in acceptance review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrig.client import SECRET_MASK, Client
from mlrig.models import Component, ComponentType, FlavorRecord
from mlrig.testing.stores import store_of


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json") and p.name != ".lock"}


def test_unknown_flavor_masks_every_value(cli, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    client = Client(on_event=lambda *_: None)
    with store_of(client).write() as txn:
        txn.create_flavor(FlavorRecord(ComponentType.ARTIFACT_STORE, "gone",
                                       "not_installed_pkg.Gone"))
        txn.create_component(Component(ComponentType.ARTIFACT_STORE, "x", "gone",
                                       {"bucket": "b", "token": "T0P-SECRET"}))
    listed = cli("artifact-store", "list", "-o", "json")
    assert listed.exit_code == 0
    [entry] = [c for c in json.loads(listed.stdout)["artifact_stores"] if c["name"] == "x"]
    assert entry["config"] == {"bucket": SECRET_MASK, "token": SECRET_MASK}
    assert "cannot be loaded" in listed.stderr
    described = cli("artifact-store", "describe", "x")
    assert "T0P-SECRET" not in described.output
    shown = cli("artifact-store", "describe", "x", "--show-secrets", "-o", "json")
    assert json.loads(shown.stdout)["artifact_store"]["config"]["token"] == "T0P-SECRET"


def test_profile_get_has_output_formats(cli) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(cli("profile", "get", "-o", "json").stdout) == {
        "format_version": 1, "active_profile": "default"}
    assert "active_profile: default" in cli("profile", "get", "-o", "yaml").stdout


def test_register_with_set_that_cannot_be_set_changes_nothing(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, tmp_path: Path, monkeypatch) -> None:
    assert cli("profile", "create", "p2").exit_code == 0
    repo = tmp_path / "repo"
    repo.mkdir()
    assert cli("init", "--path", str(repo)).exit_code == 0
    monkeypatch.chdir(repo)
    monkeypatch.setenv("MLRIG_ACTIVE_PROFILE", "p2")
    before = snapshot(config_dir)
    result = cli("stack", "register", "sx", "-o", "default", "-a", "default", "-m", "default",
                 "--set")
    assert result.exit_code == 1
    assert "successfully registered" not in result.stdout
    assert snapshot(config_dir) == before


@pytest.mark.parametrize(("old", "new"), [
    ("store_type: local", "store_type: [x]"),
    ("active_profile: default", "active_profile: [a, b]"),
    ("active_stack: default", "active_stack: {a: 1}"),
    ("  default:\n", "  a/b:\n"),
    ("store_url: file://", "store_url: 7\n    x: file://"),
])
def test_wrongly_typed_config_is_reported_not_rewritten(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, old: str, new: str) -> None:
    assert cli("profile", "list").exit_code == 0
    path = config_dir / "config.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    damaged = path.read_bytes()
    for args in (("profile", "list"), ("profile", "create", "p2"), ("stack", "list")):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert str(path) in result.stderr
        assert path.read_bytes() == damaged


def test_current_fails_for_a_missing_name(mlrig_exe, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert cli("profile", "list").exit_code == 0
    for args, env in ((("profile", "current"), {"MLRIG_ACTIVE_PROFILE": "nope"}),
                      (("stack", "current"), {"MLRIG_ACTIVE_STACK": "nope"})):
        result = mlrig_exe(*args, env=env)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert "'nope'" in result.stderr and "environment" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_bundle_reader_refuses_devices_and_export_needs_existing_dir(  # type: ignore[no-untyped-def]
        cli, tmp_path: Path) -> None:
    assert cli("profile", "list").exit_code == 0
    result = cli("profile", "import", "/dev/zero", "x")
    assert result.exit_code == 1 and "not a regular file" in result.stderr
    target = tmp_path / "missing" / "dir" / "x.yaml"
    result = cli("stack", "export", "default", str(target))
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()
    long_name = tmp_path / ("y" * 5000)
    result = cli("stack", "export", "default", str(long_name))
    assert result.exit_code == 1
    assert "unexpected" not in result.stderr and "Cannot export" in result.stderr


def test_deleting_the_active_stack_is_refused_before_the_prompt(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    assert cli("profile", "list").exit_code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    result = cli("stack", "delete", "default")
    assert result.exit_code == 1
    assert "Are you sure" not in result.output
    assert "cannot be deleted" in result.stderr


def test_explain_is_a_first_command_too(cli, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert not (config_dir / "config.yaml").exists()
    assert cli("profile", "explain").exit_code == 0
    assert (config_dir / "config.yaml").exists()
