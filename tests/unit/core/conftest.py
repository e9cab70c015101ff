"""Fixtures of the core tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.config.repository import Repository


@pytest.fixture
def repo(cli, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repository:  # type: ignore[no-untyped-def]
    root = tmp_path / "project"
    root.mkdir()
    assert cli("init", "--path", str(root)).exit_code == 0
    monkeypatch.chdir(root)
    return Repository(root)
