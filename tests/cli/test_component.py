"""Profile, stack and component commands through the CLI (in-process)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
import yaml

from mlrig.client import Client
from mlrig.models import ComponentType
from mlrig.testing.clients import add_local_artifact_store

ALL_GROUPS = [t.cli_name for t in ComponentType]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json") and p.name != ".lock"}


@pytest.fixture
def ready(cli, config_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    assert cli("profile", "list").exit_code == 0
    return config_dir


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


# ----------------------------------------------------------------------------- components
@pytest.mark.parametrize("group", ALL_GROUPS)
def test_every_component_group_exists(cli, ready: Path, group: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(group, "--help")
    assert result.exit_code == 0
    for sub in ("register", "list", "describe", "get", "delete", "flavor"):
        assert sub in result.stdout
    assert cli(group, "flavor", "list").exit_code == 0
    assert cli(group, "list", "-o", "json").exit_code == 0


def test_component_register_validates(cli, ready: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(ready)
    cases = [
        (("metadata-store", "register", "db", "-f", "mysql", "--host=h"), 1,
         "Field required"),
        (("metadata-store", "register", "db", "-f", "mysql", "--host=h", "--database=d",
          "--username=u", "--port=abc"), 1, "port"),
        (("artifact-store", "register", "x", "-f", "nope", "--path=/x"), 1,
         "There is no flavor 'nope'"),
        (("artifact-store", "register", "x", "--path=/x"), 1, "--flavor"),
        (("artifact-store", "register", "x", "-f", "local", "path=/x"), 2, "--key=value"),
        (("artifact-store", "register", "x", "-f", "local", "--path"), 2, "--key=value"),
        (("artifact-store", "register", "default", "-f", "local", "--path=/x"), 1,
         "already exists"),
        (("artifact-store", "register", "a/b", "-f", "local", "--path=/x"), 1,
         "Invalid artifact store name"),
        (("artifact-store", "register", "x", "-f", "local", f"--path=@{tmp_path}/nofile"), 1,
         "does not exist"),
    ]
    for args, code, message in cases:
        result = cli(*args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) <= 3  # banner lines + one error line
    assert snapshot(ready) == before


def test_component_register_list_describe_get_delete(cli, ready: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret_file = tmp_path / "pw.txt"
    secret_file.write_text("hunter2\n")
    result = cli("metadata-store", "register", "db", "-f", "mysql", "--host=db.local",
                 "--port=3307", "--database=meta", "--username=ml", f"--password=@{secret_file}")
    assert result.exit_code == 0, result.output
    assert "Successfully registered metadata store 'db'." in result.stdout
    assert "Registered stack component with type 'metadata_store' and name 'db'." in \
        result.stderr
    listed = cli("metadata-store", "list")
    assert "db.local" in listed.stdout and "hunter2" not in listed.stdout
    assert "********" in listed.stdout
    shown = cli("metadata-store", "describe", "db", "--show-secrets", "-o", "json")
    data = json.loads(shown.stdout)["metadata_store"]
    assert data["config"] == {"host": "db.local", "port": 3307, "database": "meta",
                              "username": "ml", "password": "hunter2"}
    masked = json.loads(cli("metadata-store", "describe", "db", "-o", "json").stdout)
    assert masked["metadata_store"]["config"]["password"] == "********"
    table = cli("metadata-store", "describe", "db").stdout
    assert "METADATA_STORE Component Configuration" in table and "PASSWORD" in table
    assert cli("metadata-store", "get").stdout == "Active metadata store: 'default'\n"
    assert "No step operator set for active stack" in cli("step-operator", "get").stderr
    # in use -> refused, naming the stack
    assert cli("stack", "register", "s2", "-o", "default", "-a", "default",
               "-m", "db").exit_code == 0
    refused = cli("metadata-store", "delete", "db")
    assert refused.exit_code == 1 and "'s2'" in refused.stderr
    assert cli("stack", "delete", "s2", "-y").exit_code == 0
    deleted = cli("metadata-store", "delete", "db")
    assert deleted.exit_code == 0 and "Deleted metadata store: db" in deleted.stdout
    assert cli("metadata-store", "describe", "db").exit_code == 1


def test_at_at_escapes_a_literal_at(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("container-registry", "register", "r", "-f", "default",
               "--uri=@@registry").exit_code == 0
    data = json.loads(cli("container-registry", "describe", "r", "-o", "json").stdout)
    assert data["container_registry"]["config"]["uri"] == "@registry"


def test_flavor_list_columns(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("artifact-store", "flavor", "list")
    assert "FLAVOR" in result.stdout and "SOURCE" in result.stdout and "ORIGIN" in result.stdout
    data = json.loads(cli("artifact-store", "flavor", "list", "-o", "json").stdout)
    assert {"flavor": "local", "source": "mlrig.flavors.builtin.LocalArtifactStore",
            "origin": "built-in"} in data["flavors"]


def test_debug_shows_traceback_only_when_asked(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    plain = cli("stack", "describe", "nope")
    assert plain.exit_code == 1 and "Traceback" not in plain.output
    debug = cli("--debug", "stack", "describe", "nope")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr


def test_usage_errors_exit_2_with_one_line(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    for args in (("stack", "lisst"), ("profile", "create"), ("--nope",),
                 ("stack", "list", "-o", "xml")):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("Error: ")


A = ComponentType.ARTIFACT_STORE


# ---------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("args", [
    ("update", "lake", "-path=/x"),
    ("update", "lake", "-path"),
    ("update", "lake", "-p=hunter2"),
    ("remove-attribute", "lake", "-path"),
    ("remove-attribute", "lake", "-p"),
    ("register", "other", "-f", "local", "-path"),
])
def test_single_dash_attributes_are_one_line_usage_errors(  # type: ignore[no-untyped-def]
        cli, client: Client, args: tuple[str, ...]) -> None:
    add_local_artifact_store(client)
    result = cli("artifact-store", *args)
    assert result.exit_code == 2, result.output
    assert "Usage:" not in result.output and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Unexpected argument '-p")
    assert "hunter2" not in result.stderr and "/x" not in result.stderr
    assert client.get_component(A, "lake").config == {"path": "/data/lake"}


def test_short_options_and_help_still_work(cli, client: Client) -> None:  # type: ignore[no-untyped-def]
    assert cli("artifact-store", "register", "l2", "-flocal", "--path=/l2").exit_code == 0
    assert cli("artifact-store", "register", "l3", "-f", "local", "--path=/l3").exit_code == 0
    helped = cli("artifact-store", "update", "l2", "-h")
    assert helped.exit_code == 0 and "Usage:" in helped.stdout
    assert cli("artifact-store", "update", "l2", "--path=/new").exit_code == 0
    assert client.get_component(A, "l2").config == {"path": "/new"}


# ---------------------------------------------------------------------------- grammar
def test_component_help_uses_an_before_vowels() -> None:
    from mlrig.cli.app import cli

    ctx = click.Context(cli, info_name="mlrig")
    texts = []
    for type_ in ComponentType:
        group = cli.get_command(ctx, type_.cli_name)
        assert isinstance(group, click.Group)
        texts.extend(command.help or "" for command in group.commands.values())
    wrong = sorted({m for text in texts for m in re.findall(r"\b[Aa] [aeiou]\w+", text)})
    assert wrong == []
    update = cli.get_command(ctx, "artifact-store").commands["update"]  # type: ignore[union-attr]
    assert "of an artifact store" in (update.help or "")
