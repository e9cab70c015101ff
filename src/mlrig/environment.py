"""The environment variables mlrig reads, each validated in one place with one message.

=========================  ===============================================================
``MLRIG_CONFIG_PATH``      the configuration directory (``~`` and ``~user`` expanded)
``MLRIG_CACHE_PATH``       the directory of mlrig's caches (default: the platform's user
                           cache directory for mlrig)
``MLRIG_REPOSITORY_PATH``  the repository root to use instead of searching upwards
``MLRIG_ACTIVE_PROFILE``   a profile name (the environment scope)
``MLRIG_ACTIVE_STACK``     a stack name (the environment scope)
``MLRIG_DEFAULT_STORE_TYPE``  ``local`` or ``sql``
``MLRIG_LOCK_TIMEOUT``     seconds to wait for another mlrig process: a number from 0 to
                           86400 (default 30)
``MLRIG_DEBUG``            tracebacks on errors: off when empty, ``0``, ``false``, ``no`` or
                           ``off``, on for any other value
=========================  ===============================================================

An empty variable counts as unset, as it does for every variable here. :func:`check` raises
an :class:`~mlrig.exceptions.InputError` naming the first bad variable and what it must be;
:class:`mlrig.client.Client` calls it once, so every command (and the library) refuses a bad
value in one line before doing anything. The module imports nothing heavy: the commands
shell prompts run use it too.
"""

from __future__ import annotations

import math
import os

from mlrig.exceptions import InputError, shown_text

TYPE_CHECKING = False  # spelled out, as in mlrig/__init__.py: `typing` costs ~3 ms to import
if TYPE_CHECKING:  # pathlib costs the shell prompts' commands several ms: loaded on use
    from collections.abc import Callable, Mapping
    from pathlib import Path

CONFIG_PATH = "MLRIG_CONFIG_PATH"
CACHE_PATH = "MLRIG_CACHE_PATH"
REPOSITORY_PATH = "MLRIG_REPOSITORY_PATH"
ACTIVE_PROFILE = "MLRIG_ACTIVE_PROFILE"
ACTIVE_STACK = "MLRIG_ACTIVE_STACK"
DEFAULT_STORE_TYPE = "MLRIG_DEFAULT_STORE_TYPE"
LOCK_TIMEOUT = "MLRIG_LOCK_TIMEOUT"
DEBUG = "MLRIG_DEBUG"

DEFAULT_LOCK_TIMEOUT = 30.0
MAX_LOCK_TIMEOUT = 86400.0
_OFF = ("", "0", "false", "no", "off")


def _value(env: Mapping[str, str] | None, name: str) -> str | None:
    """The variable's value; ``None`` when unset or empty."""
    value = (os.environ if env is None else env).get(name)
    return value if value else None


def _bad(name: str, value: str, must: str) -> InputError:
    shown = shown_text(value.encode("unicode_escape").decode("ascii"), 60)
    return InputError(f"Invalid value '{shown}' of the environment variable {name}: it must "
                      f"be {must}.", hint=f"Fix it or unset {name}.")


def lock_timeout(env: Mapping[str, str] | None = None) -> float:
    """``MLRIG_LOCK_TIMEOUT`` in seconds (default 30)."""
    raw = _value(env, LOCK_TIMEOUT)
    if raw is None:
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(raw.strip())
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_LOCK_TIMEOUT):
        raise _bad(LOCK_TIMEOUT, raw, f"a number of seconds from 0 to {MAX_LOCK_TIMEOUT:.0f}")
    return seconds


def initial_lock_timeout() -> float:
    """The lock timeout as of import time, never failing (a bad value is reported by
    :func:`check`, which every command runs before it takes any lock)."""
    try:
        return lock_timeout()
    except InputError:
        return DEFAULT_LOCK_TIMEOUT


#: MLRIG_LOCK_TIMEOUT as of import (a bad value: the default here, an error from
#: :func:`check`, which every command runs first); the locks and the SQL stores' busy
#: timeouts take it from here (``mlrig.fsutil.DEFAULT_LOCK_TIMEOUT`` is the same value)
LOCK_TIMEOUT_AT_START = initial_lock_timeout()


def directory(name: str, env: Mapping[str, str] | None = None) -> Path | None:
    """A directory variable (``MLRIG_CONFIG_PATH``, ``MLRIG_REPOSITORY_PATH``) as an
    absolute path; ``None`` when unset."""
    raw = _value(env, name)
    if raw is None:
        return None
    from pathlib import Path

    try:
        path = Path(raw).expanduser()
    except RuntimeError:  # ~user of no user, or ~ without a home directory
        user = raw.split("/", 1)[0]
        raise _bad(name, raw, f"a directory path ('{shown_text(user, 40)}' names no user "
                              "with a home directory here)") from None
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise _bad(name, raw, f"a directory path that can be resolved ({exc})") from None


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``MLRIG_CACHE_PATH`` if set, else the platform's user cache directory for mlrig
    (``~/.cache/mlrig`` on Linux, honouring ``XDG_CACHE_HOME``). What is kept there can be
    lost at any time: it only saves work."""
    explicit = directory(CACHE_PATH, env)
    if explicit is not None:
        return explicit
    from pathlib import Path

    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mlrig", appauthor=False))


def debug(env: Mapping[str, str] | None = None) -> bool:
    """``MLRIG_DEBUG``: any value but an empty one, ``0``, ``false``, ``no`` or ``off``."""
    return (_value(env, DEBUG) or "").strip().lower() not in _OFF


def check(env: Mapping[str, str] | None = None,
          checks: Mapping[str, Callable[[str], object]] | None = None) -> None:
    """Validate every variable mlrig reads; the first bad one is an InputError.

    ``checks`` are what layers above add for the variables whose values they own (a name,
    a store type): ``{variable: function}``, each called with the value when it is set.
    """
    lock_timeout(env)
    for name in (CONFIG_PATH, REPOSITORY_PATH, CACHE_PATH):
        directory(name, env)
    for name, validate in (checks or {}).items():
        raw = _value(env, name)
        if raw is not None:
            validate(raw)
