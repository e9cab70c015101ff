"""A store that two profiles share (``profile create b --url <a's store>``) is never removed
or moved on behalf of one of them: delete, rename and migrate ask the same ownership rule
(:func:`mlrig.stores.ownership`). Through the real executable, on a shared local store and a
shared SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.client import Client
from mlrig.testing.clients import add_local_artifact_store, add_stack, make_client
from mlrig.testing.stores import change_global_config, contents

VERBS = ("delete", "rename", "migrate")


def url_of(mlrig_exe: Any, name: str) -> str:
    described = mlrig_exe("profile", "describe", name, "-o", "json")
    assert described.exit_code == 0, described.stderr
    data = json.loads(described.stdout)
    profile = data.get("profile", data)
    return str(profile["url"])


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("store_type", ["local", "sql"])
def test_a_shared_store_survives(mlrig_exe: Any, config_dir: Path, verb: str,
                                 store_type: str) -> None:
    assert mlrig_exe("profile", "create", "a", "-t", store_type).exit_code == 0
    assert mlrig_exe("--profile", "a", "stack", "register", "kept", "-o", "default", "-m",
                     "default", "-a", "default").exit_code == 0
    url = url_of(mlrig_exe, "a")
    attached = mlrig_exe("profile", "create", "b", "-t", store_type, "--url", url)
    assert attached.exit_code == 0, attached.stderr
    assert "Attached to the existing store" in attached.stderr
    own_dir = config_dir / "profiles" / "a"
    before = sorted(p.name for p in own_dir.iterdir())

    if verb == "delete":
        result = mlrig_exe("profile", "delete", "a", "-y")
    elif verb == "rename":
        result = mlrig_exe("profile", "rename", "a", "a2")
    else:
        other = "sql" if store_type == "local" else "local"
        result = mlrig_exe("profile", "migrate", "a", "--to-store-type", other)
    assert result.exit_code == 0, result.stderr
    assert "profile 'b' uses it too" in result.stderr, result.stderr
    # b still works, with everything it had; the directory is where it was
    listing = mlrig_exe("--profile", "b", "stack", "list", "-o", "json")
    assert listing.exit_code == 0, listing.stderr
    assert {s["name"] for s in json.loads(listing.stdout)["stacks"]} == {"default", "kept"}
    assert own_dir.is_dir()
    assert set(before) <= {p.name for p in own_dir.iterdir()}
    assert url_of(mlrig_exe, "b") == url


@pytest.mark.parametrize("store_type", ["local", "sql"])
def test_a_store_nobody_else_uses_is_still_removed_by_migrate(
        mlrig_exe: Any, config_dir: Path, store_type: str) -> None:
    assert mlrig_exe("profile", "create", "solo", "-t", store_type).exit_code == 0
    other = "sql" if store_type == "local" else "local"
    result = mlrig_exe("profile", "migrate", "solo", "--to-store-type", other)
    assert result.exit_code == 0, result.stderr
    assert "Removed the old" in result.stderr
    assert mlrig_exe("--profile", "solo", "stack", "describe", "default").exit_code == 0


def stores_of(config_dir: Path) -> dict[str, str]:
    config = yaml.safe_load((config_dir / "config.yaml").read_text())
    return {name: p["store_url"] for name, p in config["profiles"].items()}


# ---------------------------------------------------------------------------- shared stores
def test_profile_delete_keeps_a_store_another_profile_is_attached_to(  # type: ignore[no-untyped-def]
        cli, client: Client, config_dir: Path) -> None:
    add_local_artifact_store(client)
    add_stack(client)
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
    add_local_artifact_store(client)
    add_stack(client)
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
