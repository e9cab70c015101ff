"""Fixtures of the reliability tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["local", "sql"])
def store_type(request: pytest.FixtureRequest, isolated: Path,
               monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the default profile (and new profiles) on a local store, then on
    a SQLite store (``MLRIG_DEFAULT_STORE_TYPE``)."""
    monkeypatch.setenv("MLRIG_DEFAULT_STORE_TYPE", request.param)
    return str(request.param)
