"""The store contract on the SQL store: SQLite, a real PostgreSQL server, and MySQL/MariaDB
when ``MLRIG_TEST_MYSQL_URL`` names one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlrig.stores.sql import SqlStore
from mlrig.testing.contract import StoreContract


def _open(url: str) -> Iterator[SqlStore]:
    store = SqlStore(url)
    assert not store.is_initialized()
    store.initialize()
    yield store
    store.close()


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[SqlStore]:
        yield from _open(sqlite_url)


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[SqlStore]:
        yield from _open(pg_url)


class TestMysqlStore(StoreContract):
    @pytest.fixture
    def store(self, mysql_url: str) -> Iterator[SqlStore]:
        yield from _open(mysql_url)
