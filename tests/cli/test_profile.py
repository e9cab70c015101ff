"""Profile commands through the CLI: create, attach, get, describe, list, delete, explain,
``current``, a damaged config.yaml, store URLs that cannot be reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlrig.testing.files import data_files


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json") and p.name != ".lock"}


def test_profile_get_has_output_formats(cli) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(cli("profile", "get", "-o", "json").stdout) == {
        "format_version": 1, "active_profile": "default"}
    assert "active_profile: default" in cli("profile", "get", "-o", "yaml").stdout


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


def test_explain_is_a_first_command_too(cli, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert not (config_dir / "config.yaml").exists()
    assert cli("profile", "explain").exit_code == 0
    assert (config_dir / "config.yaml").exists()


# ----------------------------------------------------------------------------- profiles
def test_profile_create_duplicate_and_invalid(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("profile", "create", "p1").exit_code == 0
    before = snapshot(ready)
    for args, message in [
        (("profile", "create", "p1"), "Profile 'p1' already exists."),
        (("profile", "create", "a/b"), "Invalid profile name"),
        (("profile", "create", ""), "must not be empty"),
        (("profile", "create", "x", "-t", "nosql"), "Invalid store type 'nosql'"),
        (("profile", "create", "x", "-u", "http://host/x"), "Invalid URL for store type"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, args
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()[-1:]) == 1
        assert "Traceback" not in result.output
    assert snapshot(ready) == before


def test_profile_attach_to_existing_local_store(cli, ready: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shared = tmp_path / "shared-store"
    assert cli("profile", "create", "team", "--url", str(shared)).exit_code == 0
    assert cli("--profile", "team", "stack", "register", "prod", "-o", "default",
               "-m", "default", "-a", "default").exit_code == 0
    attached = cli("profile", "create", "team2", "-u", shared.as_uri())
    assert attached.exit_code == 0
    assert "Attached to the existing store" in attached.stderr
    assert "Registered stack with name 'default'" not in attached.stderr
    stacks = json.loads(cli("--profile", "team2", "stack", "list", "-o", "json").stdout)
    assert sorted(s["name"] for s in stacks["stacks"]) == ["default", "prod"]


def test_profile_get_describe_delete(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("profile", "get").stdout == "Active profile is: default\n"
    assert cli("profile", "create", "gone").exit_code == 0
    described = cli("profile", "describe", "gone")
    assert "'gone' Profile Configuration" in described.stdout
    assert "STORE_TYPE" in described.stdout and "ACTIVE_STACK" in described.stdout
    data = json.loads(cli("profile", "describe", "-o", "json").stdout)["profile"]
    assert data["name"] == "default" and data["active"] is True
    assert (ready / "profiles" / "gone").is_dir()
    assert cli("profile", "delete", "gone", "-y").stdout == "Deleted profile 'gone'.\n"
    assert not (ready / "profiles" / "gone").exists()
    assert cli("profile", "delete", "gone", "-y").exit_code == 1
    refused = cli("profile", "delete", "default", "-y")
    assert refused.exit_code == 1 and "globally active" in refused.stderr


def test_profile_list_formats(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(cli("profile", "list", "-o", "json").stdout)
    assert data["format_version"] == 1
    [entry] = data["profiles"]
    assert set(entry) == {"name", "active", "store_type", "url", "active_stack"}
    assert yaml.safe_load(cli("profile", "list", "-o", "yaml").stdout) == data


def test_profile_explain(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("profile", "explain")
    assert result.exit_code == 0 and "MLRIG_ACTIVE_PROFILE" in result.stdout


def test_profile_delete_asks(mlrig_exe, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "create", "gone").exit_code == 0
    before = data_files(config_dir)
    closed = mlrig_exe("profile", "delete", "gone")  # stdin: nothing to read
    assert closed.exit_code == 1
    errors = [line for line in closed.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "--yes" in errors[0], closed.stderr
    assert "Traceback" not in closed.stderr
    no = mlrig_exe("profile", "delete", "gone", input="n\n")
    assert no.exit_code == 1 and "Profile deletion canceled." in no.stderr
    assert data_files(config_dir) == before
    yes = mlrig_exe("profile", "delete", "gone", input="y\n")
    assert yes.exit_code == 0 and "Deleted profile 'gone'." in yes.stdout
    assert "with every stack and component in it" in yes.stderr
    assert mlrig_exe("profile", "create", "gone2").exit_code == 0
    assert mlrig_exe("profile", "delete", "gone2", "-y").exit_code == 0
    assert not (config_dir / "profiles" / "gone2").exists()


def test_connection_refused_is_punctuated(mlrig_exe) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as sock:  # a port on loopback where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = mlrig_exe("profile", "create", "pg", "-t", "sql", "--url",
                       f"postgresql+psycopg://u:pw@127.0.0.1:{port}/db")
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert "refused. " in line.lower() or "refused)." in line.lower(), line
    assert "pw" not in line.replace("pw@", "")  # and the password is masked
    assert ":***@" in line


def test_rest_to_a_closed_port_is_one_line_and_changes_nothing(mlrig_exe, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "list").exit_code == 0
    before = data_files(config_dir)
    refused = mlrig_exe("profile", "create", "team", "-t", "rest", "--url", "http://127.0.0.1:9",
                        "--token-env", "TEAM_TOKEN", env={"TEAM_TOKEN": "mlrig_x"})
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    (line,) = [x for x in refused.stderr.splitlines() if x.startswith("Error:")]
    assert "http://127.0.0.1:9" in line
    assert data_files(config_dir) == before
