"""Component commands through the CLI (``<type> register|list|describe|update|...``):
validation, secrets masked, usage errors, help grammar."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from mlrig.client import SECRET_MASK, Client
from mlrig.models import Component, ComponentType, FlavorRecord
from mlrig.testing.clients import add_local_artifact_store
from mlrig.testing.stores import store_of

ALL_GROUPS = [t.cli_name for t in ComponentType]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json") and p.name != ".lock"}


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
