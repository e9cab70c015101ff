"""A pytest plugin of SQL databases for store tests: real SQLite files and real servers.

Not loaded by default: a suite asks for it with ``pytest_plugins = ["mlrig.testing.sql"]``
in its top ``conftest.py``. Fixtures: ``pg_server_url`` / ``mysql_server_url`` (the
server, checked once), ``fresh_database`` (a factory of new, empty databases, dropped after
the test), ``pg_url``, ``mysql_url``, ``sqlite_url`` (one new database each) and
``any_url`` (the test once on each of the three).

PostgreSQL: ``MLRIG_TEST_POSTGRES_URL`` names a server and a database the user may connect
to, as a user allowed to create databases (``scripts/start-postgres.sh`` starts one and sets
it). Every test gets a database of its own, created through that URL and dropped after.
MySQL/MariaDB: the same with ``MLRIG_TEST_MYSQL_URL`` (``scripts/start-mariadb.sh``).
Unset: those tests are skipped — except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ENV = "MLRIG_TEST_POSTGRES_URL"
MYSQL_ENV = "MLRIG_TEST_MYSQL_URL"
SERVERS = {"postgresql": PG_ENV, "mysql": MYSQL_ENV}


def _server_url(backend: str) -> str:
    variable = SERVERS[backend]
    url = os.environ.get(variable)
    if not url:
        message = f"{variable} is not set: no {backend} server to test against"
        if os.environ.get("CI"):
            script = "start-postgres.sh" if backend == "postgresql" else "start-mariadb.sh"
            pytest.fail(f"{message} (CI must run these tests; see scripts/{script})")
        pytest.skip(message)
    return url


def _admin_engine(url: str) -> Any:
    import sqlalchemy as sa

    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=_null_pool())


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL URL from the environment, checked once to be reachable."""
    url = _server_url("postgresql")
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # the suite must not silently pass without its server
        pytest.fail(f"{PG_ENV}={_masked(url)} is not reachable: {exc}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def mysql_server_url() -> str:
    url = _server_url("mysql")
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        pytest.fail(f"{MYSQL_ENV}={_masked(url)} is not reachable: {exc}")
    finally:
        engine.dispose()
    return url


def _masked(url: str) -> str:
    from mlrig.stores import mask_url

    return mask_url(url)


@pytest.fixture
def fresh_database() -> Iterator[Any]:
    """``fresh_database(server_url) -> url``: a new, empty database, dropped after the test."""
    from sqlalchemy.engine import make_url

    created: list[tuple[str, str]] = []

    def make(server_url: str) -> str:
        name = f"mlrig_t_{uuid.uuid4().hex[:12]}"
        engine = _admin_engine(server_url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
        finally:
            engine.dispose()
        created.append((server_url, name))
        url = make_url(server_url).set(database=name)
        return url.render_as_string(hide_password=False)

    yield make
    for server_url, name in created:
        _drop_database(server_url, name)


def _drop_database(server_url: str, name: str) -> None:
    """Drop a test database. On PostgreSQL ``WITH (FORCE)`` ends the sessions still in it; an
    autovacuum worker in it can only be ended by a member of pg_signal_backend (which the
    script's server grants), so on a server of the user's own the drop is tried again while
    autovacuum passes."""
    import sqlalchemy.exc

    engine = _admin_engine(server_url)
    force = " WITH (FORCE)" if engine.dialect.name == "postgresql" else ""
    try:
        for attempt in range(50):
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
                return
            except sqlalchemy.exc.DBAPIError:
                if attempt == 49:
                    raise
                time.sleep(0.2)
    finally:
        engine.dispose()


@pytest.fixture
def pg_url(pg_server_url: str, fresh_database: Any) -> str:
    """The URL of a new, empty PostgreSQL database for this test."""
    return str(fresh_database(pg_server_url))


@pytest.fixture
def mysql_url(mysql_server_url: str, fresh_database: Any) -> str:
    return str(fresh_database(mysql_server_url))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite file that does not exist yet (in a directory that does not)."""
    return f"sqlite:///{tmp_path / 'db' / 'mlrig.db'}"


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def any_url(request: pytest.FixtureRequest) -> str:
    """Each test runs on a new SQLite file, a new PostgreSQL database and (if a server is
    configured) a new MySQL/MariaDB database."""
    fixture = {"sqlite": "sqlite_url", "postgresql": "pg_url", "mysql": "mysql_url"}
    return str(request.getfixturevalue(fixture[request.param]))


def with_password(url: str, password: str | None) -> str:
    """``url`` with another password (``None``: without one)."""
    from sqlalchemy.engine import URL, make_url

    u = make_url(url)
    return URL.create(u.drivername, u.username, password, u.host, u.port, u.database,
                      u.query).render_as_string(hide_password=False)


def password_of(url: str) -> str | None:
    """The password in ``url`` (``None``: it has none)."""
    from sqlalchemy.engine import make_url

    password = make_url(url).password
    return None if password is None else str(password)
