"""SQL store fixtures for the contract tests (see :mod:`tests.sql.support`)."""

from tests.sql.support import (  # noqa: F401
    fresh_database,
    mysql_server_url,
    mysql_url,
    pg_server_url,
    pg_url,
    sqlite_url,
)
