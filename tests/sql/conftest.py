"""SQL store fixtures (see :mod:`tests.sql.support`)."""

from tests.sql.support import (  # noqa: F401
    any_url,
    fresh_database,
    mysql_server_url,
    mysql_url,
    pg_server_url,
    pg_url,
    sqlite_url,
)
