"""A store that two profiles share (``profile create b --url <a's store>``) is never removed
or moved on behalf of one of them: delete, rename and migrate ask the same ownership rule
(:func:`mlrig.stores.ownership`). Through the real executable, on a shared local store and a
shared SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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
