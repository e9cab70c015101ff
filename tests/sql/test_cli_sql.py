"""SQL profiles through the real ``mlrig`` executable: the spec walkthrough on SQLite, clear
one-line failures that change nothing, masked passwords, shared databases, migrate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from mlrig.client import Client
from mlrig.core.transfer import contents_of
from mlrig.models import Component, ComponentType, Contents, FlavorRecord
from mlrig.stores import open_store
from mlrig.testing.clients import quiet
from mlrig.testing.runs import Run, heavy, modules_imported_by, run_mlrig_in
from mlrig.testing.sql import password_of, with_password
from mlrig.testing.stores import store_of
from mlrig.testing.tables import PROFILE_HEADER, STACK_HEADER, parse_table

BANNER = "Running without an active repository root."


def ok(config_dir: Path, *args: str, **env: str) -> Run:
    result = run_mlrig_in(config_dir, *args, **env)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def profiles_table(stdout: str) -> list[list[str]]:
    rows = parse_table(stdout)
    assert rows[0] == PROFILE_HEADER
    return [[r[0], r[1], r[2], r[4]] for r in rows[1:]]


# ---------------------------------------------------------------- the spec, on SQL


def test_spec_walkthrough_with_sql_as_default_store_type(config_dir: Path) -> None:
    env = {"MLRIG_DEFAULT_STORE_TYPE": "sql", "COLUMNS": "80"}
    first = ok(config_dir, "profile", "list", **env)
    assert first.stderr.splitlines()[:3] == [
        "Creating default profile...", "Initializing profile `default`...",
        "Initializing store..."]
    assert "Registered stack with name 'default'." in first.stderr
    assert profiles_table(first.stdout) == [["👉", "default", "sql", "default"]]
    assert "│ sqlite:////" in first.stdout

    created = ok(config_dir, "profile", "create", "zenml", **env)
    assert created.stdout.splitlines() == ["Profile 'zenml' successfully created."]
    assert created.stderr.splitlines()[-5:] == [
        "Initializing store...",
        "Registered stack component with type 'orchestrator' and name 'default'.",
        "Registered stack component with type 'metadata_store' and name 'default'.",
        "Registered stack component with type 'artifact_store' and name 'default'.",
        "Registered stack with name 'default'."]
    assert (config_dir / "profiles" / "zenml" / "mlrig.db").is_file()

    assert ok(config_dir, "profile", "set", "zenml", **env).stdout.splitlines() == [
        "Active profile changed to: 'zenml'"]
    registered = ok(config_dir, "stack", "register", "custom", "-m", "default", "-a",
                    "default", "-o", "default", **env)
    assert registered.stdout.splitlines() == ["Stack 'custom' successfully registered!"]
    assert registered.stderr.splitlines() == [
        BANNER, "Running with active profile: 'zenml' (global)",
        "Registered stack with name 'custom'."]
    assert ok(config_dir, "stack", "set", "custom", **env).stdout.splitlines() == [
        "Active stack set to: 'custom'"]
    stacks = ok(config_dir, "stack", "list", **env)
    assert parse_table(stacks.stdout) == [
        STACK_HEADER,
        ["👉", "custom", "default", "default", "default"],
        ["", "default", "default", "default", "default"],
    ]
    listed = ok(config_dir, "profile", "list", **env)
    assert profiles_table(listed.stdout) == [["", "default", "sql", "default"],
                                             ["👉", "zenml", "sql", "custom"]]
    assert ok(config_dir, "profile", "set", "default", **env).stdout.splitlines() == [
        "Active profile changed to: 'default'"]
    stacks = ok(config_dir, "stack", "list", **env)
    assert stacks.stderr.splitlines() == [BANNER,
                                          "Running with active profile: 'default' (global)"]
    assert parse_table(stacks.stdout) == [
        STACK_HEADER, ["👉", "default", "default", "default", "default"]]


# ---------------------------------------------------------------- failures change nothing


def _failure(config_dir: Path, *args: str, **env: str) -> str:
    ok(config_dir, "profile", "list")  # the default profile exists
    before = (config_dir / "config.yaml").read_bytes()
    entries = sorted(p.name for p in (config_dir / "profiles").iterdir())
    result = run_mlrig_in(config_dir, *args, **env)
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # one line, the last
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert (config_dir / "config.yaml").read_bytes() == before
    assert sorted(p.name for p in (config_dir / "profiles").iterdir()) == entries
    return errors[0]


def test_wrong_password(config_dir: Path, pg_url: str) -> None:
    url = with_password(pg_url, "wrong-secret")
    line = _failure(config_dir, "profile", "create", "team", "-t", "sql", "--url", url)
    assert "password authentication failed" in line and "wrong-secret" not in line
    assert f"{sa.engine.make_url(pg_url).username}:***@" in line


def test_unreachable_server(config_dir: Path, pg_url: str) -> None:
    url = with_password(pg_url, "s3cret-pw").replace(
        f":{sa.engine.make_url(pg_url).port}/", ":1/")
    line = _failure(config_dir, "profile", "create", "team", "-t", "sql", "--url", url)
    assert line.startswith("Error: Cannot connect to the SQL store at postgresql+psycopg://")
    assert "Connection refused" in line and "s3cret-pw" not in line


def test_missing_database(config_dir: Path, pg_url: str) -> None:
    url = sa.engine.make_url(pg_url).set(database="mlrig_missing_db") \
        .render_as_string(hide_password=False)
    line = _failure(config_dir, "profile", "create", "team", "-t", "sql", "--url", url)
    assert 'database "mlrig_missing_db" does not exist' in line


@pytest.mark.parametrize(("url", "expected"), [
    ("bogus", "Error: Invalid URL for store type 'sql': bogus"),
    ("oracle://u:pw@h/db", "the database 'oracle' is not supported"),
    ("postgresql://u:pw@h", "name the database"),
    ("postgresql+asyncpg://u:pw@h/db", "is for asyncio"),
    ("sqlite://", "a profile needs a SQLite file"),
    ("postgresql+pg8000://u:topsecret@127.0.0.1:1/db", "driver 'pg8000' is not available"),
])
def test_bad_urls_and_missing_drivers(config_dir: Path, url: str, expected: str) -> None:
    line = _failure(config_dir, "profile", "create", "team", "-t", "sql", "--url", url)
    assert expected in line
    assert "topsecret" not in line and ":pw@" not in line


def test_password_options_are_checked(config_dir: Path, tmp_path: Path) -> None:
    line = _failure(config_dir, "profile", "create", "team", "-t", "sql", "--url",
                    "postgresql://u:pw@h/db", "--password-env", "PW")
    assert "already contains a password" in line
    line = _failure(config_dir, "profile", "create", "team", "--password-env", "PW")
    assert "apply to SQL stores only" in line


# ---------------------------------------------------------------- credentials


def test_passwords_are_never_printed(config_dir: Path, pg_url: str) -> None:
    password = password_of(pg_url)
    created = ok(config_dir, "profile", "create", "team", "-t", "sql", "--url", pg_url)
    outputs = [ok(config_dir, *args) for args in (
        ("profile", "list"), ("profile", "list", "-o", "json"), ("profile", "list", "-o", "yaml"),
        ("profile", "describe", "team"), ("profile", "describe", "team", "-o", "json"),
        ("--profile", "team", "stack", "list"), ("status",))]
    for result in [created, *outputs]:
        assert f":{password}@" not in result.stdout + result.stderr
    data = json.loads(outputs[1].stdout)["profiles"]
    assert next(p for p in data if p["name"] == "team")["url"] == with_password(
        pg_url, None).replace("@", ":***@", 1)
    assert ":***@" in outputs[3].stdout  # describe shows the masked URL


def test_password_from_env_or_file_keeps_it_out_of_config(config_dir: Path, pg_url: str,
                                                          tmp_path: Path) -> None:
    password = password_of(pg_url)
    assert password
    bare = with_password(pg_url, None)
    ok(config_dir, "profile", "create", "by-env", "-t", "sql", "--url", bare,
       "--password-env", "TEAM_DB_PASSWORD", TEAM_DB_PASSWORD=password)
    secret = tmp_path / "db-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    ok(config_dir, "profile", "create", "by-file", "-t", "sql", "--url", bare,
       "--password-file", str(secret))
    config = (config_dir / "config.yaml").read_text()
    assert f":{password}@" not in config
    assert "password_env: TEAM_DB_PASSWORD" in config and f"password_file: {secret}" in config
    # both see the same store (created by the first, attached to by the second)
    ok(config_dir, "--profile", "by-env", "stack", "register", "shared", "-o", "default",
       "-m", "default", "-a", "default", TEAM_DB_PASSWORD=password)
    listed = ok(config_dir, "--profile", "by-file", "stack", "list", "-o", "json")
    assert sorted(s["name"] for s in json.loads(listed.stdout)["stacks"]) == [
        "default", "shared"]
    missing = run_mlrig_in(config_dir, "--profile", "by-env", "stack", "list")
    assert missing.exit_code == 1
    assert "the environment variable TEAM_DB_PASSWORD, which holds its password, is not set" \
        in missing.stderr


# ---------------------------------------------------------------- sharing one database


def test_two_machines_share_one_postgres_store(tmp_path: Path, pg_url: str) -> None:
    alice = Client(tmp_path / "alice", on_event=quiet)
    events: list[str] = []
    bob = Client(tmp_path / "bob", on_event=lambda level, message: events.append(message))
    bob.config()  # his own default profile first
    events.clear()
    alice.create_profile("team", store_type="sql", url=pg_url)
    alice.set_profile("team")
    alice.register_component("artifact_store", "lake", "local", {"path": "/data/lake"})

    bob.create_profile("team", store_type="sql", url=pg_url)  # attaches, clobbers nothing
    assert any(m.startswith("Attached to the existing store at postgresql+psycopg://")
               for m in events)
    assert "Initializing store..." not in events
    bob.set_profile("team")
    assert [c.name for c in bob.list_components("artifact_store")] == ["default", "lake"]
    bob.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                               "artifact_store": "lake"})
    assert [s.name for s in alice.list_stacks()] == ["default", "dev"]  # immediately
    alice.delete_stack("dev")
    assert [s.name for s in bob.list_stacks()] == ["default"]
    alice.close()
    bob.close()


# ---------------------------------------------------------------- profile migrate


def _fill(client: Client, tmp_path: Path) -> None:
    client.register_component("artifact_store", "lake", "local", {"path": str(tmp_path)})
    client.register_component("alerter", "slack", "slack", {"slack_token": "xoxb-1",
                                                            "default_slack_channel_id": "C1"})
    client.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                                  "artifact_store": "lake", "alerter": "slack"})
    with store_of(client).write() as txn:
        txn.create_flavor(FlavorRecord(ComponentType.ORCHESTRATOR, "mine", "pkg.mod.Mine"))
        txn.create_component(Component(ComponentType.ORCHESTRATOR, "odd", "mine",
                                       {"nested": {"a": [1, 2]}, "ü": "日本"}))
    client.set_stack("dev")


def _contents(config_dir: Path, profile: str = "default") -> Contents:
    client = Client(config_dir, on_event=quiet)
    store = open_store(client.get_profile(profile))
    try:
        return contents_of(store)
    finally:
        store.close()


def test_migrate_local_to_sqlite_and_back(config_dir: Path, tmp_path: Path) -> None:
    client = Client(config_dir, on_event=quiet)
    _fill(client, tmp_path)
    client.close()
    original = _contents(config_dir)
    own_dir = config_dir / "profiles" / "default"

    there = ok(config_dir, "profile", "migrate", "default", "--to-store-type", "sql")
    db = own_dir / "mlrig.db"
    assert there.stdout.splitlines() == [
        f"Profile 'default' migrated to the sql store at sqlite:///{db}."]
    assert "Copied 6 component(s), 2 stack(s) and 1 custom flavor(s)." in there.stderr
    assert f"Removed the old local store at {own_dir.as_uri()}." in there.stderr
    assert sorted(p.name for p in own_dir.iterdir()) == ["mlrig.db"]
    assert _contents(config_dir) == original
    described = json.loads(ok(config_dir, "profile", "describe", "-o", "json").stdout)
    assert described["profile"]["store_type"] == "sql"
    assert described["profile"]["active_stack"] == "dev"

    back = ok(config_dir, "profile", "migrate", "default", "-t", "local")
    assert f"Removed the old sql store at sqlite:///{db}." in back.stderr
    assert not db.exists() and (own_dir / "store.yaml").is_file()
    assert _contents(config_dir) == original
    stacks = ok(config_dir, "stack", "list")
    assert ["👉", "dev", "slack", "lake", "default", "default"] in parse_table(stacks.stdout)


def test_migrate_to_postgres_and_back_keeps_the_shared_database(config_dir: Path,
                                                                 tmp_path: Path,
                                                                 pg_url: str) -> None:
    client = Client(config_dir, on_event=quiet)
    _fill(client, tmp_path)
    client.close()
    original = _contents(config_dir)
    there = ok(config_dir, "profile", "migrate", "default", "-t", "sql", "--url", pg_url)
    assert _contents(config_dir) == original
    assert ":***@" in there.stdout and f":{password_of(pg_url)}@" not in there.stdout
    back = ok(config_dir, "profile", "migrate", "default", "-t", "local")
    assert "Kept the old sql store at postgresql+psycopg://" in back.stderr
    assert _contents(config_dir) == original
    # the database still holds the store: another profile can attach to it
    attached = ok(config_dir, "profile", "create", "again", "-t", "sql", "--url", pg_url)
    assert "Attached to the existing store" in attached.stderr
    assert _contents(config_dir, "again") == original


def test_migrate_into_a_store_that_is_not_empty_changes_nothing(config_dir: Path,
                                                                 pg_url: str) -> None:
    ok(config_dir, "profile", "create", "other", "-t", "sql", "--url", pg_url)
    line = _failure(config_dir, "profile", "migrate", "default", "-t", "sql", "--url", pg_url)
    assert "is not empty" in line and "mlrig copies a whole profile only into an empty store" \
        in line
    assert (config_dir / "profiles" / "default" / "store.yaml").is_file()
    assert not (config_dir / "profiles" / "default" / "mlrig.db").exists()


def test_failed_migration_removes_the_new_store(config_dir: Path, pg_url: str) -> None:
    url = with_password(pg_url, "wrong-secret")
    line = _failure(config_dir, "profile", "migrate", "default", "-t", "sql", "--url", url)
    assert "password authentication failed" in line
    ok(config_dir, "stack", "list")


def test_migrate_refuses_what_makes_no_sense(config_dir: Path) -> None:
    line = _failure(config_dir, "profile", "migrate", "default", "-t", "local")
    assert "already uses the local store" in line
    line = _failure(config_dir, "profile", "migrate", "nope", "-t", "sql")
    assert "Profile 'nope' does not exist." in line


# ---------------------------------------------------------------- lazy imports


def test_listing_profiles_imports_no_sql_even_with_sql_profiles(config_dir: Path,
                                                                tmp_path: Path) -> None:
    client = Client(config_dir, on_event=quiet)
    client.create_profile("team", store_type="sql")
    client.close()
    for args in (("profile", "list"), ("profile", "list", "-o", "json"),
                 ("profile", "describe", "team"), ("stack", "list")):
        assert heavy(modules_imported_by(config_dir, tmp_path, *args)) == [], args
    used = modules_imported_by(config_dir, tmp_path, "--profile", "team", "stack", "list")
    # a SQLite store at the head schema is read with sqlite3 (no migration: no alembic)
    assert "mlrig.stores.sql_fast" in used
    assert "sqlalchemy" not in used and "alembic" not in used
    written = modules_imported_by(config_dir, tmp_path, "--profile", "team", "stack", "copy",
                                  "default", "copied")
    # so is a write (BEGIN IMMEDIATE through sqlite3)
    assert "mlrig.stores.sql_fast" in written
    assert "sqlalchemy" not in written and "alembic" not in written


def test_a_postgres_profile_reads_and_writes_without_sqlalchemy(config_dir: Path,
                                                              tmp_path: Path,
                                                              pg_url: str) -> None:
    """At the head schema a PostgreSQL profile is read and written through psycopg2
    (mlrig.stores.sql_fast): no SQLAlchemy, no psycopg 3, no Alembic."""
    client = Client(config_dir, on_event=quiet)
    client.create_profile("team", store_type="sql", url=pg_url)
    client.close()
    for args in (("stack", "list"), ("stack", "describe", "default"), ("status",),
                 ("stack", "copy", "default", "copied"),
                 ("artifact-store", "register", "lake", "-f", "local",
                  f"--path={tmp_path / 'lake'}")):
        used = modules_imported_by(config_dir, tmp_path, "--profile", "team", *args)
        assert "mlrig.stores.sql_fast" in used and "psycopg2" in used, args
        assert [m for m in used if m.split(".")[0] in ("sqlalchemy", "alembic", "psycopg")
                ] == [], args
    listed = ok(config_dir, "--profile", "team", "stack", "list", "-o", "json")
    assert sorted(s["name"] for s in json.loads(listed.stdout)["stacks"]) == [
        "copied", "default"]
    described = ok(config_dir, "--profile", "team", "artifact-store", "describe", "lake")
    assert str(tmp_path / "lake") in described.stdout

