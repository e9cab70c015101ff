"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def ready(cli, config_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    assert cli("profile", "list").exit_code == 0
    return config_dir
