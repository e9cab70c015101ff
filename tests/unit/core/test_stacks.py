"""stack update / remove-component / rename / copy, through the CLI and the Client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.client import Client
from mlrig.config.repository import Repository
from mlrig.fsutil import FileLock
from mlrig.models import ComponentType
from mlrig.testing.clients import add_local_artifact_store, add_stack, make_client
from mlrig.testing.files import data_files
from mlrig.testing.stores import contents


@pytest.fixture
def dev(client: Client) -> Client:
    add_local_artifact_store(client)
    client.register_component("container_registry", "reg", "default", {"uri": "localhost:5000"})
    add_stack(client, container_registry="reg")
    client.set_stack("dev")
    return client


# ---------------------------------------------------------------------------- update
def test_update_replaces_the_given_slots_of_the_active_stack(cli, dev: Client) -> None:  # type: ignore[no-untyped-def]
    add_local_artifact_store(dev, "pond", "/data/pond")
    result = cli("stack", "update", "-a", "pond")
    assert result.exit_code == 0, result.stderr
    assert "Stack 'dev' successfully updated!" in result.stdout
    stack = dev.get_stack("dev")
    assert stack.components[stack_type("artifact_store")] == "pond"
    assert stack.components[stack_type("container_registry")] == "reg"


def stack_type(name: str):  # type: ignore[no-untyped-def]

    return ComponentType(name)


def test_update_named_stack_and_refusals(cli, dev: Client, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    add_stack(dev, "other")
    assert cli("stack", "update", "other", "--container-registry", "reg").exit_code == 0
    assert dev.get_stack("other").components[stack_type("container_registry")] == "reg"
    before = data_files(config_dir)
    for args, message in [
        (("stack", "update", "nope", "-a", "lake"), "Stack 'nope' cannot be updated as it "
                                                    "does not exist in profile '"),
        (("stack", "update", "dev", "-a", "missing"), "artifact store 'missing'"),
        (("stack", "update", "dev"), "Nothing to update"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, args
        assert message in result.stderr
    assert data_files(config_dir) == before


# ---------------------------------------------------------------------------- remove-component
def test_remove_component_removes_optional_slots_only(cli, dev: Client) -> None:  # type: ignore[no-untyped-def]
    result = cli("stack", "remove-component", "dev", "--container-registry")
    assert result.exit_code == 0, result.stderr
    assert "container registry" in result.stdout
    assert stack_type("container_registry") not in dev.get_stack("dev").components
    again = cli("stack", "remove-component", "-c")
    assert again.exit_code == 0
    assert "has no container registry" in again.stderr
    for flag in ("--orchestrator", "-a", "--metadata-store"):
        refused = cli("stack", "remove-component", "dev", flag)
        assert refused.exit_code == 2, flag
    assert cli("stack", "remove-component", "dev").exit_code == 2
    with pytest.raises(Exception, match="cannot be removed"):
        dev.remove_stack_components("dev", ["orchestrator"])


# ---------------------------------------------------------------------------- rename
def test_rename_moves_the_global_pointer_and_every_command_follows(cli, dev: Client,  # type: ignore[no-untyped-def]
                                                                   config_dir: Path) -> None:
    result = cli("stack", "rename", "dev", "prod")
    assert result.exit_code == 0, result.stderr
    assert "Stack 'dev' successfully renamed as 'prod'!" in result.stdout
    config = yaml.safe_load((config_dir / "config.yaml").read_text())
    assert config["profiles"]["default"]["active_stack"] == "prod"
    listed = cli("stack", "list", "-o", "json")
    assert listed.exit_code == 0
    import json

    stacks = {s["name"]: s for s in json.loads(listed.stdout)["stacks"]}
    assert "dev" not in stacks
    assert stacks["prod"]["active"] is True
    assert stacks["prod"]["components"]["artifact_store"] == "lake"
    assert "prod" in cli("stack", "describe").stdout
    assert cli("stack", "describe", "prod").exit_code == 0
    assert cli("stack", "get").stdout.strip() == "The active stack is: 'prod'"
    assert cli("stack", "current").stdout.strip() == "prod"
    assert cli("artifact-store", "get").stdout.strip() == "Active artifact store: 'lake'"
    assert cli("profile", "list", "-o", "json").exit_code == 0
    assert cli("status").exit_code == 0
    assert cli("stack", "describe", "dev").exit_code == 1
    assert cli("stack", "set", "default").exit_code == 0
    assert cli("stack", "set", "prod").exit_code == 0
    assert cli("stack", "set", "dev").exit_code == 1
    assert cli("stack", "delete", "dev", "-y").exit_code == 1


def test_rename_moves_the_repository_pointer(cli, dev: Client, config_dir: Path,  # type: ignore[no-untyped-def]
                                             tmp_path: Path, monkeypatch) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    monkeypatch.chdir(repo)
    assert cli("init").exit_code == 0
    assert cli("stack", "set", "default", "--global").exit_code == 0
    result = cli("-v", "stack", "rename", "dev", "prod")
    assert result.exit_code == 0, result.stderr
    repo_config = yaml.safe_load((repo / ".mlrig" / "config.yaml").read_text())
    assert repo_config["active_stack"] == "prod"
    config = yaml.safe_load((config_dir / "config.yaml").read_text())
    assert config["profiles"]["default"]["active_stack"] == "default"  # untouched
    assert cli("stack", "current").stdout.strip() == "prod"
    assert str(repo / ".mlrig" / "config.yaml") in result.stderr


def test_rename_warns_about_the_environment(cli, dev: Client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLRIG_ACTIVE_STACK", "dev")
    result = cli("stack", "rename", "dev", "prod")
    assert result.exit_code == 0, result.stderr
    assert "MLRIG_ACTIVE_STACK" in result.stderr and "'dev'" in result.stderr


def test_rename_refusals(cli, dev: Client, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    before = data_files(config_dir)
    for args, message in [
        (("stack", "rename", "dev", "default"), "Stack 'default' already exists."),
        (("stack", "rename", "nope", "x"), "Stack 'nope' cannot be renamed as it does not"),
        (("stack", "rename", "dev", "a/b"), "Invalid stack name"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, args
        assert message in result.stderr
    assert data_files(config_dir) == before
    assert cli("stack", "rename", "dev", "dev").exit_code == 0
    assert not (config_dir / "pending").exists() or not any((config_dir / "pending").iterdir())


# ---------------------------------------------------------------------------- copy
def test_copy_within_a_profile_shares_the_components(cli, dev: Client) -> None:  # type: ignore[no-untyped-def]
    before = {(c.type, c.name): c.id for c in dev.list_components("artifact_store")}
    result = cli("stack", "copy", "dev", "dev2")
    assert result.exit_code == 0, result.stderr
    assert "Stack 'dev' successfully copied to 'dev2'!" in result.stdout
    assert dev.get_stack("dev2").components == dev.get_stack("dev").components
    assert {(c.type, c.name): c.id for c in dev.list_components("artifact_store")} == before


def test_copy_to_another_profile_and_back_compares_equal(cli, dev: Client) -> None:  # type: ignore[no-untyped-def]
    assert cli("profile", "create", "other").exit_code == 0
    other = make_client(profile="other")
    # 'other' has its own default metadata store (its own paths): the copy uses it
    result = cli("stack", "copy", "dev", "dev", "--to", "other")
    assert result.exit_code == 0, result.stderr
    copied = other.get_stack("dev")
    original = dev.get_stack("dev")
    assert copied.components == original.components
    for type_, name in original.components.items():
        mine = dev.get_component(type_, name)
        theirs = other.get_component(type_, copied.components[type_])
        if type_ is stack_type("metadata_store"):
            assert theirs.config != mine.config
            continue
        assert (theirs.flavor, theirs.config) == (mine.flavor, mine.config)
    back = cli("stack", "copy", "dev", "dev-back", "--from", "other", "--to", "default")
    assert back.exit_code == 0, back.stderr
    assert dev.get_stack("dev-back").components == original.components  # same components


def test_copy_conflict_is_refused_and_leaves_the_target_untouched(cli, dev: Client,  # type: ignore[no-untyped-def]
                                                                  config_dir: Path) -> None:
    assert cli("profile", "create", "other").exit_code == 0
    other = make_client(profile="other")
    add_local_artifact_store(other, "lake", "/somewhere/else")
    before = contents(other)
    result = cli("stack", "copy", "dev", "dev", "--to", "other")
    assert result.exit_code == 1
    assert "artifact store 'lake'" in result.stderr
    assert "--rename-conflicts" in result.stderr
    assert contents(other) == before
    dry = cli("stack", "copy", "dev", "dev", "--to", "other", "--dry-run", "-o", "json")
    assert dry.exit_code == 1
    import json

    actions = {(a["kind"], a["type"], a["source_name"]): a["action"]
               for a in json.loads(dry.stdout)["plan"]["actions"]}
    assert actions[("component", "artifact_store", "lake")] == "conflict"
    assert actions[("component", "orchestrator", "default")] == "reuse"
    assert actions[("stack", None, "dev")] == "create"
    assert contents(other) == before
    ok = cli("stack", "copy", "dev", "dev", "--to", "other", "--rename-conflicts")
    assert ok.exit_code == 0, ok.stderr
    stack = other.get_stack("dev")
    assert stack.components[stack_type("artifact_store")] == "lake-2"
    assert other.get_component("artifact_store", "lake-2").config == {"path": "/data/lake"}
    assert other.get_component("artifact_store", "lake").config == {"path": "/somewhere/else"}
    # copying again reuses the renamed copy instead of making lake-3
    again = cli("stack", "copy", "dev", "dev3", "--to", "other", "--rename-conflicts")
    assert again.exit_code == 0, again.stderr
    assert other.get_stack("dev3").components == stack.components


def test_copy_refusals(cli, dev: Client, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    before = data_files(config_dir)
    for args, message in [
        (("stack", "copy", "nope", "x"),
         "Stack 'nope' cannot be copied as it does not exist in profile '"),
        (("stack", "copy", "dev", "default"), "a stack with the name 'default' already exists"),
        (("stack", "copy", "dev", "x", "--to", "ghost"), "Unable to find target profile"),
        (("stack", "copy", "dev", "x", "--from", "ghost"), "Unable to find source profile"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, args
        assert message in result.stderr
    assert data_files(config_dir) == before


def write_after_release(monkeypatch: pytest.MonkeyPatch, lock_path: Path,
                        concurrent: Any) -> None:
    """Run ``concurrent`` (another process' write) just after the first release of the
    lock at ``lock_path``: the moment another process could get in."""
    original = FileLock._release
    armed = {"on": True}

    def release(self: FileLock) -> None:
        original(self)
        if armed["on"] and self.path == lock_path:
            armed["on"] = False
            concurrent()

    monkeypatch.setattr(FileLock, "_release", release)


def test_stack_rename_never_overwrites_a_concurrent_stack_set(  # type: ignore[no-untyped-def]
        repo: Repository, monkeypatch) -> None:
    client = make_client()
    add_local_artifact_store(client)
    add_stack(client)
    add_stack(client, "prod")
    client.set_stack("dev")
    assert repo.load().active_stack == "dev"
    write_after_release(monkeypatch, repo.lock.path,
                        lambda: Repository(repo.root).update(stack="prod", set_stack=True))
    client.rename_stack("dev", "main")
    assert repo.load().active_stack == "prod"  # the later `stack set` is kept
