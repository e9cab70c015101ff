"""Regressions of the lifecycle acceptance review: shared stores on profile rename/delete,
reuse of components by id only, single-dash typos in update/remove-attribute, lost updates of
repository pointers, help grammar and the flavor import message."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from mlrig.client import Client
from mlrig.config.repository import Repository, RepositoryConfig
from mlrig.core.session import Session
from mlrig.exceptions import AlreadyExistsError, InputError
from mlrig.fsutil import FileLock
from mlrig.models import ComponentType
from mlrig.testing.stores import change_global_config
from tests.lifecycle.conftest import contents, dev_stack, lake, make_client

A = ComponentType.ARTIFACT_STORE
M = ComponentType.METADATA_STORE


def stores_of(config_dir: Path) -> dict[str, str]:
    config = yaml.safe_load((config_dir / "config.yaml").read_text())
    return {name: p["store_url"] for name, p in config["profiles"].items()}


# ---------------------------------------------------------------------------- 1: shared stores
def test_profile_delete_keeps_a_store_another_profile_is_attached_to(  # type: ignore[no-untyped-def]
        cli, client: Client, config_dir: Path) -> None:
    lake(client)
    dev_stack(client)
    assert cli("profile", "create", "other").exit_code == 0
    assert cli("profile", "set", "other").exit_code == 0
    own = config_dir / "profiles" / "default"
    assert cli("profile", "create", "twin", "-u", str(own)).exit_code == 0
    before = contents(make_client(), "twin")

    result = cli("profile", "delete", "default", "-y")
    assert result.exit_code == 0, result.stderr
    assert "Deleted profile 'default'." in result.stdout
    assert f"Kept the store at '{own.resolve()}' with its data: profile 'twin' uses it too." \
        in result.stderr
    assert (own / "store.yaml").is_file()
    assert "default" not in stores_of(config_dir)
    assert contents(make_client(), "twin") == before
    assert cli("--profile", "twin", "stack", "describe", "dev").exit_code == 0
    assert not any((config_dir / "pending").glob("*.yaml"))
    # the last profile using it is an attached one: the store is at a URL it chose, kept
    assert cli("profile", "delete", "twin", "-y").exit_code == 0
    assert (own / "store.yaml").is_file()


def test_profile_delete_still_removes_a_store_nobody_else_uses(  # type: ignore[no-untyped-def]
        cli, client: Client, config_dir: Path) -> None:
    assert cli("profile", "create", "solo").exit_code == 0
    assert (config_dir / "profiles" / "solo").is_dir()
    result = cli("profile", "delete", "solo", "-y")
    assert result.exit_code == 0 and "Kept" not in result.stderr
    assert not (config_dir / "profiles" / "solo").exists()


def test_profile_rename_leaves_a_shared_store_where_it_is(  # type: ignore[no-untyped-def]
        cli, client: Client, config_dir: Path) -> None:
    lake(client)
    dev_stack(client)
    own = (config_dir / "profiles" / "default").resolve()
    assert cli("profile", "create", "p10", "-u", str(own)).exit_code == 0
    assert cli("profile", "create", "other").exit_code == 0
    assert cli("profile", "set", "other").exit_code == 0
    before = contents(make_client(), "p10")

    result = cli("profile", "rename", "default", "d2")
    assert result.exit_code == 0, result.stderr
    assert (f"Left the store at '{own}' (the profile keeps its URL): profile 'p10' uses it "
            "too.") in result.stderr
    assert "Moved" not in result.stderr
    assert (own / "store.yaml").is_file()
    assert not (config_dir / "profiles" / "d2").exists()
    urls = stores_of(config_dir)
    assert urls["d2"] == urls["p10"] == own.as_uri()
    for name in ("d2", "p10"):
        assert contents(make_client(), name) == before
        assert cli("--profile", name, "stack", "describe", "dev").exit_code == 0
    assert not any((config_dir / "pending").glob("*.yaml"))


def test_profile_rename_and_delete_respect_a_shared_sqlite_store(  # type: ignore[no-untyped-def]
        cli, client: Client, config_dir: Path) -> None:
    assert cli("profile", "create", "s1", "-t", "sql").exit_code == 0
    db = (config_dir / "profiles" / "s1" / "mlrig.db").resolve()
    assert db.is_file()
    assert cli("profile", "create", "s2", "-t", "sql", "--url", f"sqlite:///{db}").exit_code == 0
    renamed = cli("profile", "rename", "s1", "s3")
    assert renamed.exit_code == 0, renamed.stderr
    assert "profile 's2' uses it too" in renamed.stderr
    assert db.is_file() and not (config_dir / "profiles" / "s3").exists()
    assert cli("profile", "create", "s4", "-t", "sql", "--url", f"sqlite:///{db}").exit_code == 0
    # s3 keeps its URL (in s1's directory, not its own): deleting it never removes the store
    assert cli("profile", "delete", "s3", "-y").exit_code == 0
    assert db.is_file()
    assert cli("--profile", "s2", "stack", "list").exit_code == 0
    assert cli("--profile", "s4", "stack", "list").exit_code == 0
    # a SQLite store in its own profile's directory, with another profile attached
    assert cli("profile", "create", "q1", "-t", "sql").exit_code == 0
    q1_db = (config_dir / "profiles" / "q1" / "mlrig.db").resolve()
    assert cli("profile", "create", "q2", "-t", "sql", "--url", f"sqlite:///{q1_db}"
               ).exit_code == 0
    deleted = cli("profile", "delete", "q1", "-y")
    assert deleted.exit_code == 0 and "profile 'q2' uses it too" in deleted.stderr
    assert q1_db.is_file()
    assert cli("--profile", "q2", "stack", "describe", "default").exit_code == 0


def test_interrupted_delete_keeps_a_store_attached_to_since(client: Client,
                                                            config_dir: Path) -> None:
    from mlrig.core.intents import DELETE_PROFILE, resolve
    from mlrig.events import lines

    client.create_profile("gone")
    gone_dir = config_dir / "profiles" / "gone"
    # the deletion committed (config.yaml no longer has it), then the process died; before
    # the next command another profile attached to the store
    client.create_profile("attached", url=str(gone_dir))
    change_global_config(client, lambda config: config.profiles.pop("gone"))
    record = {"op": DELETE_PROFILE, "name": "gone", "url": gone_dir.resolve().as_uri(),
              "dir": str(gone_dir.resolve())}
    events: list[tuple[str, str]] = []
    resolve(config_dir, record, lines(lambda level, message: events.append((level, message))))
    assert (gone_dir / "store.yaml").is_file()
    assert any("kept" in message for _, message in events)


# ---------------------------------------------------------------------------- 2: reuse by id
@pytest.fixture
def copied(client: Client) -> Client:
    """Stack s1 (artifact store a1, mysql metadata store m1) copied to the profile p2."""
    client.register_component(A, "a1", "local", {"path": "/tmp/a1"})
    client.register_component(M, "m1", "mysql", {"host": "h", "database": "d",
                                                 "username": "u", "password": "pw"})
    client.register_stack("s1", {"orchestrator": "default", "metadata_store": "m1",
                                 "artifact_store": "a1"})
    client.create_profile("p2")
    client.copy_stack("s1", "s1", to_profile="p2")
    return client


def in_p2() -> Client:
    return make_client(profile="p2")


def test_stack_copy_does_not_reuse_a_same_id_component_configured_differently(
        copied: Client) -> None:
    in_p2().update_component(A, "a1", {"path": "/other"})
    before = contents(copied, "p2")
    plan = copied.copy_stack("s1", "s10", to_profile="p2", dry_run=True)
    actions = {(a.kind, a.type, a.source_name): a for a in plan.actions}
    assert actions[("component", A, "a1")].action == "conflict"
    assert actions[("component", M, "m1")].action == "reuse"  # unchanged: still the same
    with pytest.raises(AlreadyExistsError, match="artifact store 'a1': the target has a "
                       "component of that name that is configured differently"):
        copied.copy_stack("s1", "s10", to_profile="p2")
    assert contents(copied, "p2") == before

    copied.copy_stack("s1", "s10", to_profile="p2", rename_conflicts=True)
    target = in_p2()
    assert target.get_stack("s10").components[A] == "a1-2"
    assert target.get_component(A, "a1-2").config == {"path": "/tmp/a1"}
    assert target.get_component(A, "a1").config == {"path": "/other"}
    assert target.get_component(A, "a1-2").id != copied.get_component(A, "a1").id


def test_stack_import_does_not_reuse_a_same_id_component_configured_differently(
        copied: Client, tmp_path: Path) -> None:
    bundle = copied.export_stack("s1", tmp_path / "s1.yaml")
    target = in_p2()
    target.update_component(A, "a1", {"path": "/other"})
    _, plan = target.plan_stack_import(bundle, "s11")
    assert {a.source_name: a.action for a in plan.actions
            if a.kind == "component"}["a1"] == "conflict"
    with pytest.raises(AlreadyExistsError, match="configured differently"):
        target.import_stack(bundle, "s11")
    assert "s11" not in {s.name for s in target.list_stacks()}
    target.import_stack(bundle, "s11", rename_conflicts=True)
    assert target.get_stack("s11").components[A] == "a1-2"


def test_a_given_secret_is_compared_with_the_component_it_would_reuse(
        copied: Client, tmp_path: Path) -> None:
    bundle = copied.export_stack("s1", tmp_path / "s1.yaml")  # the password is left out
    target = in_p2()
    # left out and not given: not compared, the target's component is reused
    _, plan = target.plan_stack_import(bundle, "s11")
    assert {a.source_name: a.action for a in plan.actions
            if a.kind == "component"}["m1"] == "reuse"
    # given and different: never dropped silently
    different = {(M, "m1"): {"password": "zz"}}
    with pytest.raises(AlreadyExistsError, match="metadata store 'm1': the target has a "
                       "component of that name whose value of 'password' differs from the "
                       "one given with --secret"):
        target.import_stack(bundle, "s11", secrets=different)
    assert "s11" not in {s.name for s in target.list_stacks()}
    # given and equal: reused
    target.import_stack(bundle, "s12", secrets={(M, "m1"): {"password": "pw"}})
    assert target.get_stack("s12").components[M] == "m1"
    # given, different, renaming asked for: a new component with the given value
    target.import_stack(bundle, "s13", secrets=different, rename_conflicts=True)
    assert target.get_stack("s13").components[M] == "m1-2"
    assert target.get_component(M, "m1-2").config["password"] == "zz"
    assert target.get_component(M, "m1").config["password"] == "pw"


def test_a_same_id_component_under_another_name_is_reused_only_when_identical(
        copied: Client) -> None:
    target = in_p2()
    target.rename_component(A, "a1", "renamed")
    plan = copied.copy_stack("s1", "s20", to_profile="p2")
    assert in_p2().get_stack("s20").components[A] == "renamed"
    assert any(a.action == "reuse" and a.name == "renamed" for a in plan.actions)

    target.update_component(A, "renamed", {"path": "/changed"})
    plan = copied.copy_stack("s1", "s21", to_profile="p2")
    created = in_p2().get_component(A, "a1")
    assert in_p2().get_stack("s21").components[A] == "a1"
    assert created.config == {"path": "/tmp/a1"}
    assert created.id != in_p2().get_component(A, "renamed").id  # a component of its own
    assert any(a.action == "create" and a.name == "a1" and "new id" in a.detail
               for a in plan.actions)


# ---------------------------------------------------------------------------- 3: usage errors
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
    lake(client)
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


# ---------------------------------------------------------------------------- 4: pointer races
@pytest.fixture
def repo(cli, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repository:  # type: ignore[no-untyped-def]
    root = tmp_path / "project"
    root.mkdir()
    assert cli("init", "--path", str(root)).exit_code == 0
    monkeypatch.chdir(root)
    return Repository(root)


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
    lake(client)
    dev_stack(client)
    dev_stack(client, "prod")
    client.set_stack("dev")
    assert repo.load().active_stack == "dev"
    write_after_release(monkeypatch, repo.lock.path,
                        lambda: Repository(repo.root).update(stack="prod", set_stack=True))
    client.rename_stack("dev", "main")
    assert repo.load().active_stack == "prod"  # the later `stack set` is kept


def test_profile_rename_never_overwrites_a_concurrent_profile_set(  # type: ignore[no-untyped-def]
        repo: Repository, monkeypatch) -> None:
    client = make_client()
    client.create_profile("other")
    assert repo.load().active_profile == "default"
    original = Session.update_config

    def update_config(self: Session, change: Any) -> Any:
        # another process runs `profile set other` in the repository meanwhile
        Repository(repo.root).update(profile="other", set_profile=True)
        return original(self, change)

    monkeypatch.setattr(Session, "update_config", update_config)
    result = client.rename_profile("default", "main")
    assert repo.load().active_profile == "other"
    assert str(repo.path) not in result.updated


def test_profile_rename_moves_the_repository_pointer_when_it_names_the_old_profile(  # type: ignore[no-untyped-def]
        repo: Repository) -> None:
    result = make_client().rename_profile("default", "main")
    assert repo.load().active_profile == "main"
    assert str(repo.path) in result.updated


def test_repository_update_if_is_a_compare_and_set(tmp_path: Path) -> None:
    repository = Repository(tmp_path)
    assert not repository.update_if(lambda c: True, profile="x", set_profile=True)
    assert not repository.exists()  # never creates the file
    repository.save(RepositoryConfig("a", "s"))
    assert not repository.update_if(lambda c: c.active_stack == "t", stack="u", set_stack=True)
    assert repository.load() == RepositoryConfig("a", "s")
    assert repository.update_if(lambda c: c.active_stack == "s", stack="u", set_stack=True)
    assert repository.load() == RepositoryConfig("a", "u")


# ---------------------------------------------------------------------------- 5: grammar
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


# ---------------------------------------------------------------------------- 6: messages
def test_a_flavor_import_error_is_a_sentence_before_its_hint(  # type: ignore[no-untyped-def]
        cli, client: Client, tmp_path: Path, monkeypatch) -> None:
    from mlrig import flavors

    with pytest.raises(InputError) as raised:
        flavors.load_flavor_class("mlrig_no_such_module_xyz.Flavor")
    assert raised.value.message.endswith("No module named 'mlrig_no_such_module_xyz'.")

    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "gone_flavor_mod.py").write_text(
        "from pydantic import BaseModel\n"
        "from mlrig.flavors.base import Flavor\n"
        "from mlrig.models import ComponentType\n\n"
        "class Config(BaseModel):\n    host: str\n\n"
        "class GoneOrchestrator(Flavor):\n"
        "    TYPE = ComponentType.ORCHESTRATOR\n    FLAVOR = 'gone'\n    CONFIG = Config\n")
    monkeypatch.syspath_prepend(str(module_dir))
    client.register_flavor("orchestrator", "gone_flavor_mod.GoneOrchestrator")
    client.register_component("orchestrator", "o1", "gone", {"host": "h"})
    client.register_stack("s1", {"orchestrator": "o1", "metadata_store": "default",
                                 "artifact_store": "default"})
    sys.path.remove(str(module_dir))
    sys.modules.pop("gone_flavor_mod", None)
    importlib.invalidate_caches()

    result = cli("stack", "export", "s1", "-")
    assert result.exit_code == 1
    assert ("No module named 'gone_flavor_mod'. Make its flavor importable, or export with "
            "--include-secrets.") in result.stderr
