"""The global configuration (config.yaml): where it is, round trips, damage reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig.config.global_config import GlobalConfig, GlobalConfigFile, config_dir
from mlrig.exceptions import CorruptFileError
from mlrig.models import ProfileConfig


def test_config_dir_from_env(tmp_path: Path) -> None:
    assert config_dir({"MLRIG_CONFIG_PATH": str(tmp_path / "x")}) == (tmp_path / "x").resolve()
    assert config_dir({}).name == "mlrig"


def test_global_config_round_trip_keeps_unknown_keys(tmp_path: Path) -> None:
    file = GlobalConfigFile(tmp_path)
    config = GlobalConfig(active_profile="p", profiles={
        "p": ProfileConfig("p", "local", "file:///x", "default")})
    config.extra["future_setting"] = {"a": 1}
    file.save(config)
    loaded = file.load()
    assert loaded is not None
    assert loaded.profiles == config.profiles
    assert loaded.user_id == config.user_id
    assert loaded.to_dict()["future_setting"] == {"a": 1}


def test_global_config_malformed(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("version: 1\nprofiles: [1, 2]\n")
    with pytest.raises(CorruptFileError, match="malformed"):
        GlobalConfigFile(tmp_path).load()
