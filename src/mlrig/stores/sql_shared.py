"""What the SQLAlchemy store (:mod:`mlrig.stores.sql`) and the stores that do not load
SQLAlchemy (:mod:`mlrig.stores.sql_fast`) share: a database error as one line for a
:class:`~mlrig.exceptions.StoreError`, a component's stored configuration."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

# from the environment module, not mlrig.fsutil: a PostgreSQL profile's status does not
# need fsutil's imports (pathlib among them)
from mlrig.environment import LOCK_TIMEOUT_AT_START as DEFAULT_LOCK_TIMEOUT
from mlrig.exceptions import LockTimeoutError, MlrigError, StoreError

#: what a driver says when a lock was not granted within the busy / lock timeout (SQLite,
#: PostgreSQL, MySQL)
_LOCKED = ("database is locked", "lock timeout", "lock wait timeout")


def translated(action: str, where: str, cause: str) -> StoreError:
    """The one-line error of a database error ``cause`` (see :func:`driver_cause`) met
    while trying to ``action`` the SQL store at ``where``: a lock not granted in time is a
    :class:`~mlrig.exceptions.LockTimeoutError` naming the timeout."""
    lowered = cause.lower()
    if any(words in lowered for words in _LOCKED):
        return LockTimeoutError(
            f"Cannot {action} the SQL store at {where}: another process held it for more "
            f"than {DEFAULT_LOCK_TIMEOUT:.0f}s ({cause.rstrip('.?!')}).",
            hint="Try again; MLRIG_LOCK_TIMEOUT sets how long to wait.")
    return StoreError(f"Cannot {action} the SQL store at {where}: {cause}",
                      hint=hint(lowered), library_hint=hint(lowered, library=True))


@contextlib.contextmanager
def driver_errors(action: str, where: str, secrets: list[str],
                  error: type[BaseException] | tuple[type[BaseException], ...]
                  ) -> Iterator[None]:
    """The database driver's ``error`` s raised inside as :func:`translated` one-line
    errors (the password and ``secrets`` masked); mlrig's own errors pass unchanged."""
    try:
        yield
    except MlrigError:
        raise
    except error as exc:
        cause = driver_cause(exc, exc, secrets, where)
        raise translated(action, where, cause) from None


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text.strip()


def driver_cause(orig: BaseException | None, exc: BaseException, secrets: list[str],
                 shown_url: str) -> str:
    """The driver's own message (``orig``, the DB-API error that ``exc`` wraps, if any), on
    one line, without SQL, links or the password."""
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = args[1]  # PyMySQL: (1045, "Access denied for user ...")
    else:
        text = str(orig) if orig is not None else str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # psycopg lists every address it tried; the first failure says it all
    if lines and lines[0].startswith("Multiple connection attempts failed"):
        lines = [line.lstrip("- ") for line in lines[1:2]]
    joined = " ".join(sentence(line) for line in lines[:2])
    text = joined or type(orig or exc).__name__
    for prefix in ("connection failed: ",):
        text = text.removeprefix(prefix)
    # drivers do not echo passwords, but make sure; a password that is part of the user or
    # database name shown anyway (e.g. user "mlrig", password "mlrig") is left alone
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4 and secret not in shown_url:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if text.endswith((".", "?", "!")) else text + "."


def sentence(line: str) -> str:
    """A driver's message line as a sentence: lines joined into one must stay readable
    ("Connection refused. Is the server running ...?", not "refused Is")."""
    line = line.strip()
    return line if line.endswith((".", "?", "!", ":", ",", ";")) else line + "."


def hint(cause: str, library: bool = False) -> str | None:
    """What to check for a database error, for the CLI (or, ``library``, the Python API)."""
    if "password" in cause or "access denied" in cause or "authentication" in cause:
        where = ("password_env / password_file option" if library
                 else "--password-env / --password-file")
        return f"Check the user name and password (in the URL, or the profile's {where})."
    if ("does not exist" in cause and "database" in cause) or "unknown database" in cause:
        return "Create the database first, or fix the URL."
    if any(word in cause for word in ("refused", "timeout", "timed out", "could not translate",
                                      "can't connect", "name or service not known",
                                      "no route to host")):
        return "Is the database server running and reachable from here?"
    if "unable to open database file" in cause or "readonly" in cause:
        return "Check that the directory of the database exists and is writable."
    return None


def load_config(raw: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise StoreError(f"The SQL store at {where} holds a malformed component "
                         f"configuration ({exc}).") from None
    if not isinstance(value, dict):
        raise StoreError(f"The SQL store at {where} holds a component configuration that is "
                         "not a mapping.")
    return value
