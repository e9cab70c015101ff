"""URLs and credentials of SQL stores: validation, canonical form, password sources.

Kept apart from :mod:`mlrig.stores.sql` so that checking a URL stays cheap: SQLAlchemy's URL
parser is imported inside the functions that need it, and nothing here connects anywhere.

Canonical URLs name their driver: ``postgresql://`` becomes ``postgresql+psycopg://``,
``mysql://`` becomes ``mysql+pymysql://`` (and ``mariadb://`` ``mariadb+pymysql://``), and a
SQLite path becomes absolute.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlrig.exceptions import InputError, StoreError

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import URL

    from mlrig.events import Listener

#: profile options a SQL profile understands (``ProfileConfig.options``)
PASSWORD_ENV = "password_env"
PASSWORD_FILE = "password_file"
SQL_OPTIONS = (PASSWORD_ENV, PASSWORD_FILE)
_MAX_PASSWORD_FILE = 64 * 1024

#: backend -> driver used when the URL names none
DEFAULT_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg", "mysql": "pymysql",
                   "mariadb": "pymysql"}
#: drivers that only work with asyncio engines, which mlrig does not use
_ASYNC_DRIVERS = {"asyncpg", "psycopg_async", "aiomysql", "asyncmy", "aiosqlite"}
#: Python packages that provide a driver, for the "missing driver" hint
DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary",
                   "pymysql": "PyMySQL", "mysqldb": "mysqlclient", "pg8000": "pg8000",
                   "mariadbconnector": "mariadb", "mysqlconnector": "mysql-connector-python"}


def mask(url: str) -> str:
    from mlrig.stores import mask_url

    return mask_url(url)


def parse(url: str) -> URL:
    """Parse with SQLAlchemy; a clear error if it cannot (or if SQLAlchemy is missing)."""
    try:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError as exc:
        raise StoreError(
            f"SQL stores need SQLAlchemy, which is not installed ({exc}).",
            hint="Install it with: python3 -m pip install 'mlrig[sql]'",
        ) from None
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise InputError(f"Invalid URL for store type 'sql': {mask(url)} ({exc}).") from None


def canonical_sql_url(url: str) -> str:
    """Validate a user-given SQL URL and return its canonical form (see the module doc)."""
    if "\x00" in url:
        raise InputError("Invalid URL for store type 'sql': it contains a NUL character.")
    parsed = parse(url.strip())
    backend = parsed.get_backend_name()
    if backend == "postgres":  # a common spelling SQLAlchemy itself no longer accepts
        backend = "postgresql"
    if backend not in DEFAULT_DRIVERS:
        raise InputError(
            f"Invalid URL for store type 'sql': {mask(url)} (the database '{backend}' is not "
            "supported; use sqlite:///PATH, postgresql+psycopg://... or mysql+pymysql://...)."
        )
    driver = parsed.get_driver_name() if "+" in parsed.drivername else DEFAULT_DRIVERS[backend]
    if driver in _ASYNC_DRIVERS:
        raise InputError(
            f"Invalid URL for store type 'sql': {mask(url)} (the driver '{driver}' is for "
            f"asyncio; use {backend}+{DEFAULT_DRIVERS[backend]}://...)."
        )
    parsed = parsed.set(drivername=f"{backend}+{driver}")
    _refuse_query_secrets(url, parsed)
    if backend != "sqlite":
        connect_timeout(parsed, url)  # refuses one that would never give up
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise InputError(
                f"Invalid URL for store type 'sql': {mask(url)} (a profile needs a SQLite "
                "file: sqlite:///relative/path.db or sqlite:////absolute/path.db)."
            )
        from pathlib import Path  # here: a PostgreSQL profile's status needs no pathlib

        path = Path(database).expanduser().absolute()
        parsed = parsed.set(drivername="sqlite", database=str(path))
    else:
        if not parsed.database:
            raise InputError(
                f"Invalid URL for store type 'sql': {mask(url)} (name the database: "
                f"{backend}+{driver}://USER@HOST/DATABASE)."
            )
        if not parsed.host and "host" not in parsed.query and "unix_socket" not in parsed.query:
            raise InputError(
                f"Invalid URL for store type 'sql': {mask(url)} (name the server: "
                f"{backend}+{driver}://USER@HOST[:PORT]/DATABASE)."
            )
    return parsed.render_as_string(hide_password=False)


def _refuse_query_secrets(url: str, parsed: URL) -> None:
    """A password in the query string (``?password=``, ``?passwd=``, ``?sslpassword=`` ...)
    is refused: it would be kept in ``config.yaml`` and is easy to paste along with the URL.
    (Every place that shows a URL masks such parameters all the same, for files written
    before this check.)"""
    from mlrig.stores import is_secret_parameter

    keys = sorted(key for key in parsed.query if is_secret_parameter(key))
    if keys:
        raise InputError(
            f"Invalid URL for store type 'sql': {mask(url)} (it has a password in its query "
            f"string: {', '.join(keys)}).",
            hint="Remove it from the URL and give the password with --password-env VARIABLE "
            "or --password-file FILE.",
            library_hint="Remove it from the URL and give the password with the options "
            "password_env or password_file.",
        )


#: seconds a connection attempt may take when the URL does not say (docs/stores.md)
DEFAULT_CONNECT_TIMEOUT = 10
#: the longest ``?connect_timeout=`` accepted: a day
MAX_CONNECT_TIMEOUT = 86400


def connect_timeout(parsed: URL, url: str) -> int:
    """The deadline of one connection attempt, in whole seconds: the URL's
    ``connect_timeout`` query parameter, else :data:`DEFAULT_CONNECT_TIMEOUT`. A value that
    would mean "never give up" (0, negative, not a number) is refused."""
    raw = parsed.query.get("connect_timeout")
    if raw is None:
        return DEFAULT_CONNECT_TIMEOUT
    value = raw[-1] if isinstance(raw, tuple) else raw
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= MAX_CONNECT_TIMEOUT:
        raise InputError(
            f"Invalid URL for store type 'sql': {mask(url)} (connect_timeout must be a whole "
            f"number of seconds from 1 to {MAX_CONNECT_TIMEOUT}).")
    return seconds


def secrets_of(parsed: URL) -> list[str]:
    """The credentials a parsed URL carries (password, secret query parameters), to scrub
    from a driver's messages."""
    from mlrig.stores import is_secret_parameter

    found = [parsed.password] if parsed.password else []
    for key, value in parsed.query.items():
        if is_secret_parameter(key):
            found += [value] if isinstance(value, str) else list(value)
    return [secret for secret in found if secret]


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (``None`` for other databases)."""
    if not url.startswith(("sqlite:", "sqlite+")):
        return None
    from pathlib import Path

    database = parse(url).database
    return Path(database) if database and database != ":memory:" else None


def validate_options(url: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check the options of a SQL profile; return them with a password file made absolute."""
    unknown = sorted(set(options) - set(SQL_OPTIONS))
    if unknown:
        raise InputError(f"Unknown option(s) for a SQL store: {', '.join(unknown)}.")
    given = [k for k in SQL_OPTIONS if options.get(k)]
    if len(given) > 1:
        raise InputError("Give the password with --password-env or --password-file, not both.")
    if given and url.startswith("sqlite"):
        raise InputError("A SQLite store has no password; --password-env/--password-file are "
                         "for PostgreSQL and MySQL stores.")
    if given and parse(url).password is not None:
        raise InputError(
            f"The URL {mask(url)} already contains a password; remove it from the URL to read "
            f"the password from {'a variable' if given[0] == PASSWORD_ENV else 'a file'}."
        )
    result = {k: options[k] for k in given}
    if PASSWORD_ENV in result:
        variable = str(result[PASSWORD_ENV])
        if not variable.replace("_", "").isalnum() or variable[0].isdigit():
            raise InputError(f"Invalid environment variable name for --password-env: "
                             f"'{variable}'.")
        result[PASSWORD_ENV] = variable
    if PASSWORD_FILE in result:
        from pathlib import Path

        result[PASSWORD_FILE] = str(Path(str(result[PASSWORD_FILE])).expanduser().absolute())
    return result


def resolve_password(url: str, options: Mapping[str, Any], env: Mapping[str, str],
                     emit: Listener | None = None) -> str | None:
    """The password a profile's options point to (``None`` if they name no source);
    ``emit`` receives a warning when the password file can be read by others."""
    variable = options.get(PASSWORD_ENV)
    if variable:
        value = env.get(str(variable))
        if value is None:
            raise StoreError(
                f"Cannot connect to the SQL store at {mask(url)}: the environment variable "
                f"{variable}, which holds its password, is not set."
            )
        return value
    file_name = options.get(PASSWORD_FILE)
    if file_name:
        from pathlib import Path

        from mlrig.fsutil import read_bytes

        path = Path(str(file_name))
        try:
            # a regular file only, bounded: a FIFO would block, a device never ends
            raw, info = read_bytes(path, _MAX_PASSWORD_FILE)
            mode = stat.S_IMODE(info.st_mode)
            value = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            cause = ("it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError)
                     else exc.strerror or str(exc))
            raise StoreError(
                f"Cannot connect to the SQL store at {mask(url)}: cannot read its password "
                f"file '{path}' ({cause})."
            ) from None
        if mode & 0o077 and emit is not None and os.name == "posix":
            from mlrig.events import PasswordFileReadable

            emit(PasswordFileReadable(str(path), mode))
        return value.rstrip("\r\n")
    return None
