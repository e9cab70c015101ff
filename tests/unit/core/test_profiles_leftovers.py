"""A profile's default components keep their data in ``<config>/local_stores/<id>``: deleting
the profile (or a create that is rolled back) removes those directories too — unless
another profile uses them (a profile copy keeps the same components)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlrig.client import Client
from mlrig.config.global_config import GlobalConfigFile
from mlrig.exceptions import MlrigError


def local_stores(config_dir: Path) -> set[str]:
    root = config_dir / "local_stores"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def own_ids(mlrig_exe: Any, profile: str) -> set[str]:
    import json

    ids = set()
    for group, key in (("metadata-store", "metadata_stores"),
                       ("artifact-store", "artifact_stores")):
        listed = mlrig_exe("--profile", profile, group, "list", "-o", "json")
        assert listed.exit_code == 0, listed.stderr
        ids |= {c["id"] for c in json.loads(listed.stdout)[key] if c["name"] == "default"}
    return ids


@pytest.mark.parametrize("store_type", ["local", "sql"])
def test_delete_removes_the_default_components_directories(
        mlrig_exe: Any, config_dir: Path, store_type: str) -> None:
    assert mlrig_exe("profile", "create", "p", "-t", store_type).exit_code == 0
    mine = own_ids(mlrig_exe, "p")
    assert len(mine) == 2 and mine <= local_stores(config_dir)
    others = local_stores(config_dir) - mine
    assert mlrig_exe("profile", "delete", "p", "-y").exit_code == 0
    assert local_stores(config_dir) == others  # the default profile's stay


def test_directories_another_profile_uses_are_kept(mlrig_exe: Any, config_dir: Path) -> None:
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    mine = own_ids(mlrig_exe, "p")
    assert mlrig_exe("profile", "copy", "p", "twin").exit_code == 0
    assert own_ids(mlrig_exe, "twin") == mine  # a copy keeps the same components
    assert mlrig_exe("profile", "delete", "p", "-y").exit_code == 0
    assert mine <= local_stores(config_dir)
    assert mlrig_exe("profile", "delete", "twin", "-y").exit_code == 0
    assert not mine & local_stores(config_dir)


def test_a_rolled_back_create_leaves_no_directories(
        config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(on_event=lambda *_: None)
    client.config()
    before = local_stores(config_dir)
    real_save = GlobalConfigFile.save

    def failing_save(self: GlobalConfigFile, config: Any) -> None:
        raise MlrigError("injected failure at the commit point")

    monkeypatch.setattr(GlobalConfigFile, "save", failing_save)
    with pytest.raises(MlrigError, match="injected"):
        client.create_profile("doomed")
    monkeypatch.setattr(GlobalConfigFile, "save", real_save)
    assert local_stores(config_dir) == before
    assert not (config_dir / "profiles" / "doomed").exists()
    assert "doomed" not in Client(on_event=lambda *_: None).config(reload=True).profiles


def test_a_directory_holding_data_is_kept_and_said(mlrig_exe: Any, config_dir: Path) -> None:
    """mlrig made the default components' directories empty: what is in them now is not
    mlrig's to remove."""
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    mine = own_ids(mlrig_exe, "p")
    kept_id = sorted(mine)[0]
    data = config_dir / "local_stores" / kept_id / "model.pkl"
    data.write_bytes(b"weights")
    deleted = mlrig_exe("profile", "delete", "p", "-y")
    assert deleted.exit_code == 0, deleted.stderr
    assert data.read_bytes() == b"weights"
    assert f"Kept '{data.parent}'" in deleted.stderr
    assert local_stores(config_dir) & mine == {kept_id}  # the empty one went
