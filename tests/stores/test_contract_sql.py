"""The store contract on the SQL store: SQLite, a real PostgreSQL server, and MySQL/MariaDB
when ``MLRIG_TEST_MYSQL_URL`` names one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlrig.models import ProfileConfig
from mlrig.stores.base import Store
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


def _opened(url: str, kind: str) -> Iterator[Store]:
    """The store the ``sql`` backend opens for ``url``, which must be of class ``kind``."""
    from mlrig.stores import backend

    opened = backend("sql").open(ProfileConfig("p", "sql", url), env=None, events=None)
    assert type(opened).__name__ == kind
    assert not opened.is_initialized()
    opened.initialize()
    yield opened
    opened.close()


class TestSqliteFastStore(StoreContract):
    """What the ``sql`` backend opens for a SQLite file: reads and writes through the
    standard library's sqlite3 (mlrig.stores.sql_fast), the schema created by SqlStore."""

    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[Store]:
        yield from _opened(sqlite_url, "SqliteStore")


class TestPostgresFastStore(StoreContract):
    """What the ``sql`` backend opens for a PostgreSQL URL: reads and writes through
    psycopg2 (mlrig.stores.sql_fast), the schema created by SqlStore."""

    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[Store]:
        yield from _opened(pg_url, "PostgresStore")
