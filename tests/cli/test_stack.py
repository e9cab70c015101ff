"""Stack commands through the CLI: register, delete, export, missing names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json") and p.name != ".lock"}


# ----------------------------------------------------------------------------- stacks
def test_stack_register_needs_mandatory_components(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(ready)
    missing_option = cli("stack", "register", "s", "-o", "default", "-a", "default")
    assert missing_option.exit_code == 2
    assert "--metadata-store" in missing_option.stderr
    ghost = cli("stack", "register", "s", "-o", "ghost", "-a", "default", "-m", "default")
    assert ghost.exit_code == 1 and "'ghost'" in ghost.stderr
    dup = cli("stack", "register", "default", "-o", "default", "-a", "default", "-m", "default")
    assert dup.exit_code == 1 and "already exists" in dup.stderr
    assert snapshot(ready) == before


def test_stack_register_with_optional_components_and_set(cli, ready: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "200")
    assert cli("container-registry", "register", "reg", "-f", "default",
               "--uri=localhost:5000").exit_code == 0
    assert cli("alerter", "register", "slack", "-f", "slack",
               "--slack_token=xoxb-1").exit_code == 0
    result = cli("stack", "register", "full", "-o", "default", "-a", "default", "-m",
                 "default", "-c", "reg", "-al", "slack", "--set")
    assert result.exit_code == 0, result.output
    assert "Stack 'full' successfully registered!" in result.stdout
    assert "Active stack set to: 'full'" in result.stdout
    described = cli("stack", "describe")
    assert "CONTAINER_REGISTRY" in described.stdout and "ALERTER" in described.stdout
    assert "'full' stack (ACTIVE)" in described.stdout
    listed = cli("stack", "list").stdout
    assert "ALERTER" in listed and "CONTAINER_REGISTRY" in listed
    data = json.loads(cli("stack", "describe", "full", "-o", "json").stdout)["stack"]
    assert data["components"]["container_registry"] == "reg"
    assert data["active"] is True
    assert cli("stack", "get").stdout == "The active stack is: 'full'\n"
    assert json.loads(cli("stack", "get", "-o", "json").stdout)["active_stack"] == "full"


def test_stack_delete_confirmation(cli, ready: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert cli("stack", "register", "tmp", "-o", "default", "-a", "default",
               "-m", "default").exit_code == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    declined = cli("stack", "delete", "tmp")
    assert declined.exit_code == 1
    assert "Stack deletion canceled." in declined.stderr
    assert "tmp" in cli("stack", "list").stdout
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("y\n"))
    accepted = cli("stack", "delete", "tmp")
    assert accepted.exit_code == 0 and "Deleted stack 'tmp'." in accepted.stdout
    assert "tmp" not in cli("stack", "list").stdout
    refused = cli("stack", "delete", "default", "-y")
    assert refused.exit_code == 1 and "cannot be deleted" in refused.stderr


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


# ---------------------------------------------------------------- missing names
def test_stack_list_with_a_missing_active_stack_warns(mlrig_exe) -> None:  # type: ignore[no-untyped-def]
    result = mlrig_exe("stack", "list", env={"MLRIG_ACTIVE_STACK": "ghost"})
    assert result.exit_code == 0, result.stderr
    assert "default" in result.stdout
    warning = [x for x in result.stderr.splitlines() if x.startswith("Warning:")]
    assert len(warning) == 1
    assert "'ghost'" in warning[0] and "MLRIG_ACTIVE_STACK" in warning[0]
    assert "profile 'default'" in warning[0]
    as_json = mlrig_exe("stack", "list", "-o", "json", env={"MLRIG_ACTIVE_STACK": "ghost"})
    assert not any(s["active"] for s in json.loads(as_json.stdout)["stacks"])


@pytest.mark.parametrize("args", [
    ("stack", "describe", "nope"),
    ("stack", "delete", "nope", "-y"),
    ("stack", "update", "nope", "-a", "default"),
    ("stack", "rename", "nope", "x"),
    ("stack", "export", "nope"),
    ("artifact-store", "describe", "nope"),
    ("artifact-store", "delete", "nope"),
    ("artifact-store", "update", "nope", "--path=/x"),
    ("stack", "register", "x", "-o", "default", "-m", "default", "-a", "nope"),
])
def test_not_found_names_the_profile(mlrig_exe, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "create", "other").exit_code == 0
    result = mlrig_exe("--profile", "other", *args)
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert "profile 'other'" in line, line
