"""profile rename / copy / export / import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.client import Client
from mlrig.config.repository import Repository
from mlrig.core.session import Session
from mlrig.testing.clients import add_local_artifact_store, add_stack, make_client
from mlrig.testing.files import data_files
from mlrig.testing.stores import contents


@pytest.fixture
def dev(client: Client, cli) -> Client:  # type: ignore[no-untyped-def]
    add_local_artifact_store(client)
    client.register_component("alerter", "slack", "slack", {"slack_token": "xoxb-1"})
    add_stack(client, alerter="slack")
    client.set_stack("dev")
    return client


def profiles(cli) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    result = cli("profile", "list", "-o", "json")
    assert result.exit_code == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)["profiles"]}


# ---------------------------------------------------------------------------- rename
def test_rename_moves_config_active_profile_and_the_store_directory(  # type: ignore[no-untyped-def]
        cli, dev: Client, config_dir: Path) -> None:
    before = contents(dev)
    result = cli("profile", "rename", "default", "main")
    assert result.exit_code == 0, result.stderr
    assert "Profile 'default' successfully renamed to 'main'." in result.stdout
    assert not (config_dir / "profiles" / "default").exists()
    assert (config_dir / "profiles" / "main" / "store.yaml").is_file()
    config = yaml.safe_load((config_dir / "config.yaml").read_text())
    assert config["active_profile"] == "main"
    assert config["profiles"]["main"]["store_url"] == (config_dir / "profiles" / "main").as_uri()
    assert "default" not in config["profiles"]
    listed = profiles(cli)
    assert listed["main"]["active"] is True and listed["main"]["active_stack"] == "dev"
    assert contents(make_client()) == before
    assert cli("stack", "list").exit_code == 0
    assert cli("stack", "describe", "dev").exit_code == 0
    assert cli("profile", "describe", "main").exit_code == 0
    assert cli("profile", "describe", "default").exit_code == 1
    assert cli("profile", "set", "default").exit_code == 1
    assert cli("profile", "set", "main").exit_code == 0
    assert cli("--profile", "main", "alerter", "describe", "slack").exit_code == 0
    assert cli("profile", "current").stdout.strip() == "main"
    assert cli("status").exit_code == 0
    assert not any((config_dir / "pending").glob("*.yaml"))


def test_rename_moves_the_repository_pointer_and_warns_about_the_environment(  # type: ignore[no-untyped-def]
        cli, dev: Client, tmp_path: Path, monkeypatch) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    monkeypatch.chdir(repo)
    assert cli("init").exit_code == 0
    monkeypatch.setenv("MLRIG_ACTIVE_PROFILE", "default")
    result = cli("-v", "profile", "rename", "default", "main")
    assert result.exit_code == 0, result.stderr
    assert "MLRIG_ACTIVE_PROFILE still names the profile 'default'" in result.stderr
    assert yaml.safe_load((repo / ".mlrig" / "config.yaml").read_text())["active_profile"] == "main"
    monkeypatch.delenv("MLRIG_ACTIVE_PROFILE")
    assert cli("profile", "current").stdout.strip() == "main"
    assert cli("stack", "current").stdout.strip() == "dev"


def test_rename_keeps_a_store_at_a_custom_url_where_it_is(cli, client: Client,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    store = tmp_path / "elsewhere"
    assert cli("profile", "create", "team", "--url", str(store)).exit_code == 0
    assert cli("profile", "rename", "team", "crew").exit_code == 0
    assert (store / "store.yaml").is_file()
    assert profiles(cli)["crew"]["url"] == store.resolve().as_uri()
    assert cli("--profile", "crew", "stack", "list").exit_code == 0


def test_rename_refusals(cli, dev: Client, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("profile", "create", "other").exit_code == 0
    (config_dir / "profiles" / "stray").mkdir()
    before = data_files(config_dir)
    for args, message in [
        (("profile", "rename", "default", "other"), "Profile 'other' already exists."),
        (("profile", "rename", "ghost", "x"), "Profile 'ghost' does not exist."),
        (("profile", "rename", "default", "a/b"), "Invalid profile name"),
        (("profile", "rename", "default", "stray"), "already exists"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, args
        assert message in result.stderr, (args, result.stderr)
    assert data_files(config_dir) == before


# ---------------------------------------------------------------------------- copy
def test_copy_is_a_deep_copy(cli, dev: Client, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("profile", "copy", "default", "twin")
    assert result.exit_code == 0, result.stderr
    assert "Profile 'default' successfully copied to 'twin'." in result.stdout
    assert contents(make_client(), "twin") == contents(make_client(), "default")
    assert profiles(cli)["twin"]["active_stack"] == "dev"
    assert (config_dir / "profiles" / "twin" / "store.yaml").is_file()
    assert not list((config_dir / "profiles").glob(".*incoming*"))
    # the copy is independent
    assert cli("--profile", "twin", "artifact-store", "update", "lake", "--path=/x").exit_code == 0
    assert make_client().get_component("artifact_store", "lake").config == {"path": "/data/lake"}


def test_copy_to_a_custom_url_and_refusals(cli, dev: Client, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           config_dir: Path) -> None:
    target = tmp_path / "custom"
    assert cli("profile", "copy", "default", "c1", "--url", str(target)).exit_code == 0
    assert (target / "store.yaml").is_file()
    assert contents(make_client(), "c1") == contents(make_client(), "default")
    before = data_files(config_dir)
    for args, message in [
        (("profile", "copy", "default", "c1"), "Profile 'c1' already exists."),
        (("profile", "copy", "ghost", "c2"), "Profile 'ghost' does not exist."),
        (("profile", "copy", "default", "c2", "--url", str(target)), "already exists and is "
                                                                     "not empty"),
        (("profile", "copy", "default", "c2", "-t", "nosql"), "Invalid store type"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, args
        assert message in result.stderr, (args, result.stderr)
    assert data_files(config_dir) == before


# ---------------------------------------------------------------------------- export / import
def test_export_import_round_trip_compares_equal(cli, dev: Client, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                 config_dir: Path) -> None:
    bundle = tmp_path / "default.yaml"
    result = cli("profile", "export", "default", str(bundle), "--include-secrets")
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load(bundle.read_text())
    assert doc["format_version"] == 1 and doc["kind"] == "mlrig-profile"
    assert doc["profile"] == {"name": "default", "active_stack": "dev"}
    assert oct(bundle.stat().st_mode & 0o777) == oct(0o600)
    clash = cli("profile", "import", str(bundle))
    assert clash.exit_code == 1 and "Profile 'default' already exists." in clash.stderr
    before = data_files(config_dir)
    dry = cli("profile", "import", str(bundle), "--rename", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "Would create profile 'default-2'" in dry.stderr
    assert data_files(config_dir) == before
    imported = cli("profile", "import", str(bundle), "--rename")
    assert imported.exit_code == 0, imported.stderr
    assert "Profile 'default-2' successfully imported" in imported.stdout
    assert contents(make_client(), "default-2") == contents(make_client(), "default")
    assert profiles(cli)["default-2"]["active_stack"] == "dev"
    named = cli("profile", "import", str(bundle), "shared")
    assert named.exit_code == 0, named.stderr
    assert contents(make_client(), "shared") == contents(make_client(), "default")


def test_import_without_secrets_needs_the_required_ones(cli, dev: Client,  # type: ignore[no-untyped-def]
                                                        tmp_path: Path, config_dir: Path) -> None:
    bundle = tmp_path / "p.yaml"
    assert cli("profile", "export", "default", str(bundle)).exit_code == 0
    assert "xoxb-1" not in bundle.read_text()
    assert oct(bundle.stat().st_mode & 0o777) == oct(0o644)
    before = data_files(config_dir)
    refused = cli("profile", "import", str(bundle), "p2")
    assert refused.exit_code == 1
    assert "slack_token" in refused.stderr and "--secret alerter/slack/slack_token" in \
        refused.stderr
    assert data_files(config_dir) == before
    ok = cli("profile", "import", str(bundle), "p2", "--secret", "alerter/slack/slack_token=new")
    assert ok.exit_code == 0, ok.stderr
    assert make_client(profile="p2").get_component("alerter", "slack").config["slack_token"] == \
        "new"


def test_import_refuses_a_stack_bundle_and_bad_files(cli, dev: Client,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    stack_file = tmp_path / "dev.yaml"
    assert cli("stack", "export", "dev", str(stack_file)).exit_code == 0
    result = cli("profile", "import", str(stack_file), "x")
    assert result.exit_code == 1 and "mlrig stack import" in result.stderr
    newer = tmp_path / "newer.yaml"
    newer.write_text("format_version: 99\nkind: mlrig-profile\n")
    result = cli("profile", "import", str(newer), "x")
    assert result.exit_code == 1 and "newer than this mlrig supports" in result.stderr
    assert cli("profile", "import", str(tmp_path / "missing.yaml"), "x").exit_code == 1


def test_copy_and_rename_with_a_sqlite_store(cli, dev: Client, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("profile", "copy", "default", "sq", "--store-type", "sql")
    assert result.exit_code == 0, result.stderr
    assert contents(make_client(), "sq") == contents(make_client(), "default")
    assert (config_dir / "profiles" / "sq" / "mlrig.db").is_file()
    renamed = cli("profile", "rename", "sq", "sq2")
    assert renamed.exit_code == 0, renamed.stderr
    assert (config_dir / "profiles" / "sq2" / "mlrig.db").is_file()
    assert not (config_dir / "profiles" / "sq").exists()
    assert contents(make_client(), "sq2") == contents(make_client(), "default")


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
