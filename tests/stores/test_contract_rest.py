"""The store contract on the ``rest`` store: a real ``mlrig server`` (uvicorn) on 127.0.0.1,
serving a local store and a SQLite one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrig.testing.contract import StoreContract
from mlrig.testing.server import served


def _open(tmp_path: Path, store_url: str | None) -> Iterator[Any]:
    with served(tmp_path, store_url) as server:
        store: Any = server.store()
        assert not store.is_initialized()
        store.initialize()
        yield store
        store.close()


class TestRestOnLocalStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Any]:
        yield from _open(tmp_path, None)


class TestRestOnSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Any]:
        yield from _open(tmp_path, f"sqlite:///{tmp_path / 'served.db'}")


class TestRestOnPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path, pg_url: str) -> Iterator[Any]:
        yield from _open(tmp_path, pg_url)
