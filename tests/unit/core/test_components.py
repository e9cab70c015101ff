"""<type> update / remove-attribute / rename / copy / explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.models import ComponentType
from mlrig.testing.clients import add_local_artifact_store, add_stack, make_client
from mlrig.testing.files import data_files
from mlrig.testing.stores import contents

A = ComponentType.ARTIFACT_STORE


@pytest.fixture
def dev(client: Client) -> Client:
    add_local_artifact_store(client)
    client.register_component("metadata_store", "mysql", "mysql",
                              {"host": "db", "database": "meta", "username": "u",
                               "password": "hunter2", "port": "3307"})
    add_stack(client)
    return client


def test_update_merges_and_validates(cli, dev: Client, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("metadata-store", "update", "mysql", "--host=db2", "--port=3310")
    assert result.exit_code == 0, result.stderr
    assert "Successfully updated metadata store 'mysql'." in result.stdout
    config = dev.get_component("metadata_store", "mysql").config
    assert config["host"] == "db2" and config["port"] == 3310
    assert config["password"] == "hunter2" and config["database"] == "meta"
    before = data_files(config_dir)
    for args, message in [
        (("metadata-store", "update", "mysql", "--port=99999"), "port"),
        (("metadata-store", "update", "mysql", "--color=red"), "'color' is not an attribute"),
        (("metadata-store", "update", "mysql", "--name=other"), "Cannot update mandatory "
                                                                "property 'name'"),
        (("metadata-store", "update", "ghost", "--host=x"), "No metadata store with the name "
                                                            "'ghost'"),
        (("metadata-store", "update", "mysql"), "Nothing to update"),
    ]:
        refused = cli(*args)
        assert refused.exit_code in (1, 2), args
        assert message in refused.stderr, (args, refused.stderr)
    assert data_files(config_dir) == before


def test_remove_attribute_only_optional_ones(cli, dev: Client, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("metadata-store", "remove-attribute", "mysql", "password", "--port")
    assert result.exit_code == 0, result.stderr
    config = dev.get_component("metadata_store", "mysql").config
    assert "password" not in config
    assert config["port"] == 3306  # back to the schema's default
    before = data_files(config_dir)
    for args, message in [
        (("metadata-store", "remove-attribute", "mysql", "host"), "required attribute 'host'"),
        (("metadata-store", "remove-attribute", "mysql", "color"), "'color' is not an "
                                                                  "attribute"),
        (("metadata-store", "remove-attribute", "ghost", "port"), "No metadata store"),
    ]:
        refused = cli(*args)
        assert refused.exit_code == 1, args
        assert message in refused.stderr
    assert cli("metadata-store", "remove-attribute", "mysql").exit_code == 2
    assert data_files(config_dir) == before


def test_rename_rewrites_the_stacks_that_use_it(cli, dev: Client) -> None:  # type: ignore[no-untyped-def]
    add_stack(dev, "dev2")
    component_id = dev.get_component(A, "lake").id
    result = cli("artifact-store", "rename", "lake", "pond")
    assert result.exit_code == 0, result.stderr
    assert "Successfully renamed artifact store 'lake' to 'pond'." in result.stdout
    assert dev.get_stack("dev").components[A] == "pond"
    assert dev.get_stack("dev2").components[A] == "pond"
    assert dev.get_component(A, "pond").id == component_id
    listed = json.loads(cli("artifact-store", "list", "-o", "json").stdout)
    assert sorted(c["name"] for c in listed["artifact_stores"]) == ["default", "pond"]
    assert cli("artifact-store", "describe", "pond").exit_code == 0
    assert cli("artifact-store", "describe", "lake").exit_code == 1
    assert cli("stack", "set", "dev").exit_code == 0
    assert cli("artifact-store", "get").stdout.strip() == "Active artifact store: 'pond'"
    assert cli("artifact-store", "delete", "pond").exit_code == 1  # still used
    for args, message in [
        (("artifact-store", "rename", "pond", "default"), "already exists"),
        (("artifact-store", "rename", "ghost", "x"), "No artifact store with the name"),
        (("artifact-store", "rename", "pond", "../x"), "Invalid artifact store name"),
    ]:
        refused = cli(*args)
        assert refused.exit_code == 1, args
        assert message in refused.stderr


def test_copy_gets_a_new_id_and_can_go_to_another_profile(cli, dev: Client) -> None:  # type: ignore[no-untyped-def]
    result = cli("artifact-store", "copy", "lake", "lake-copy")
    assert result.exit_code == 0, result.stderr
    original, copy = dev.get_component(A, "lake"), dev.get_component(A, "lake-copy")
    assert copy.config == original.config and copy.id != original.id
    assert cli("profile", "create", "other").exit_code == 0
    assert cli("artifact-store", "copy", "lake", "lake", "--to", "other").exit_code == 0
    other = make_client(profile="other")
    assert other.get_component(A, "lake").config == original.config
    back = cli("artifact-store", "copy", "lake", "from-other", "--from", "other")
    assert back.exit_code == 0, back.stderr
    before = contents(other)
    for args, message in [
        (("artifact-store", "copy", "lake", "lake", "--to", "other"), "already exists in "
                                                                      "profile 'other'"),
        (("artifact-store", "copy", "ghost", "x"), "No artifact store with the name 'ghost'"),
        (("artifact-store", "copy", "lake", "x", "--to", "ghost"), "Unable to find target"),
    ]:
        refused = cli(*args)
        assert refused.exit_code == 1, args
        assert message in refused.stderr
    assert contents(other) == before


def test_explain_lists_flavors_and_attributes(cli, client: Client) -> None:  # type: ignore[no-untyped-def]
    result = cli("metadata-store", "explain")
    assert result.exit_code == 0, result.stderr
    assert "metadata store records" in result.stdout
    assert "mysql" in result.stdout and "sqlite" in result.stdout
    data = json.loads(cli("alerter", "explain", "-o", "json").stdout)["explanation"]
    slack = next(f for f in data["flavors"] if f["flavor"] == "slack")
    assert slack["attributes"]["slack_token"] == {"required": True, "secret": True,
                                                  "description": ""}
    assert data["mandatory"] is False
