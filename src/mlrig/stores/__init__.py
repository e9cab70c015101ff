"""Store backends. Each lives in its own module and is imported only when a profile uses it,
so that the CLI never imports SQL or HTTP libraries for a local profile."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig.exceptions import InputError
from mlrig.models import STORE_TYPES, ProfileConfig
from mlrig.stores.base import Store

if TYPE_CHECKING:
    from mlrig.events import EventSink

ENV_DEFAULT_STORE_TYPE = "MLRIG_DEFAULT_STORE_TYPE"


def default_store_type(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    value = env.get(ENV_DEFAULT_STORE_TYPE) or "local"
    return normalize_store_type(value, source=ENV_DEFAULT_STORE_TYPE)


def normalize_store_type(value: str, source: str = "--store-type") -> str:
    normalized = value.strip().lower()
    if normalized == "rest":
        raise InputError(
            f"The store type 'rest' ({source}) needs an mlrig server, which this version of "
            f"mlrig does not have yet; choose one of: {', '.join(STORE_TYPES)}."
        )
    if normalized not in STORE_TYPES:
        raise InputError(
            f"Invalid store type '{value}' ({source}); choose one of: {', '.join(STORE_TYPES)}."
        )
    return normalized


def profile_dir(config_dir: Path, profile_name: str) -> Path:
    return config_dir / "profiles" / profile_name


def store_location(profile: ProfileConfig) -> Path | None:
    """Where a profile's data lives on this machine: the directory of a local store or the
    database file of a SQLite store; ``None`` for a store behind a server (or a URL that is
    not valid for its store type)."""
    if profile.store_type == "local":
        from mlrig.stores.local import path_from_url

        try:
            return path_from_url(profile.store_url).resolve()
        except InputError:
            return None
    prefix = "sqlite:///"
    if profile.store_type == "sql" and profile.store_url.startswith(prefix):
        raw = profile.store_url[len(prefix):].split("?", 1)[0]
        return Path(raw).resolve() if raw and raw != ":memory:" else None
    return None


def profiles_using(profiles: Mapping[str, ProfileConfig], directory: Path,
                   *, besides: str) -> list[str]:
    """The profiles other than ``besides`` whose data lives in ``directory`` (or below it):
    profiles attached to the same store (``profile create --url``). Removing or moving
    ``directory`` would break them."""
    directory = directory.resolve()
    users = []
    for name, profile in profiles.items():
        if name == besides:
            continue
        location = store_location(profile)
        if location is not None and (location == directory or directory in location.parents):
            users.append(name)
    return sorted(users)


def default_url(store_type: str, config_dir: Path, profile_name: str) -> str:
    directory = profile_dir(config_dir, profile_name)
    if store_type == "local":
        return directory.resolve().as_uri()
    if store_type == "sql":
        return f"sqlite:///{directory.resolve() / 'mlrig.db'}"
    raise InputError(f"Store URL missing for profile '{profile_name}' (store type {store_type}).",
                     hint="Give it with --url.")


def canonical_url(store_type: str, url: str) -> str:
    """Validate a user-given URL for a store type and return its canonical form."""
    if store_type == "local":
        from mlrig.stores.local import path_from_url, url_from_path

        return str(url_from_path(path_from_url(url)))
    if store_type == "sql":
        from mlrig.stores.sql_url import canonical_sql_url

        return canonical_sql_url(url)
    raise InputError(f"Invalid store type '{store_type}'.")


def store_options(store_type: str, url: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate the store options of a new profile (only SQL stores take any)."""
    given = {k: v for k, v in (options or {}).items() if v not in (None, "")}
    if store_type == "sql":
        from mlrig.stores.sql_url import validate_options

        return validate_options(url, given)
    if given:
        raise InputError(
            f"The option(s) {', '.join(sorted(given))} apply to SQL stores only, not to "
            f"store type '{store_type}'."
        )
    return {}


#: words that make a URL query parameter a credential: libpq's ``password``/``sslpassword``
#: (and ``oauth_client_secret``), PyMySQL's ``passwd``/``password``/``ssl_key_password``, ...
_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token")
_MASK = "***"


def is_secret_parameter(key: str) -> bool:
    """Whether a URL query parameter (as written: percent-encoded or not) holds a secret
    that a driver would accept. Errs on the side of "yes": a masked harmless value costs
    nothing, a shown password cannot be taken back."""
    normalized = "".join(ch for ch in _unquoted(key).lower() if ch.isalnum())
    return normalized == "pass" or any(word in normalized for word in _SECRET_WORDS)


def _unquoted(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text
    from urllib.parse import unquote_plus

    for _ in range(3):  # double encoding, too
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text


def _split_userinfo(rest: str) -> tuple[str, str | None, str]:
    """``user:password@tail`` -> (user, password, tail). The password runs to the *last*
    ``@``: a superset of what SQLAlchemy reads as the password (up to the first one), so an
    unencoded ``@`` in a password never leaves part of it in sight."""
    colon = -1
    for index, ch in enumerate(rest):
        if ch == ":":
            colon = index
            break
        if ch in "/@?#":
            return "", None, rest
    at = rest.rfind("@")
    if colon < 0 or at < colon:
        return "", None, rest
    return rest[:colon], rest[colon + 1:at], rest[at + 1:]


def _mask_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        key, eq, _value = part.partition("=")
        parts.append(f"{key}={_MASK}" if eq and is_secret_parameter(key) else part)
    return "&".join(parts)


def mask_url(url: str) -> str:
    """The URL as mlrig shows it: every credential a driver would take from it (the
    password after the user name, and query parameters such as ``password``, ``passwd``,
    ``sslpassword``, however they are percent-encoded) replaced by ``***``. Safe on any
    string, including URLs too broken to parse."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    prefix = f"{scheme}://" if sep else ""
    user, password, tail = _split_userinfo(rest)
    if password is not None:
        prefix = f"{prefix}{user}:{_MASK}@"
        rest = tail
    head, question, query = rest.partition("?")
    if question:
        rest = f"{head}?{_mask_query(query)}"
    return prefix + rest


def url_secrets(url: str) -> list[str]:
    """The credentials written in a URL (see :func:`mask_url`), decoded, to scrub from any
    text that might echo them (a driver's error message)."""
    found = []
    _user, password, rest = _split_userinfo(url.partition("://")[2] or url)
    if password:
        found += [password, _unquoted(password)]
    for part in rest.partition("?")[2].split("&"):
        key, eq, value = part.partition("=")
        if eq and value and is_secret_parameter(key):
            found += [value, _unquoted(value)]
    return sorted(set(found), key=len, reverse=True)


def open_store(profile: ProfileConfig, *, env: Mapping[str, str] | None = None,
               on_event: EventSink | None = None) -> Store:
    """Open (not initialise) the store of a profile.

    ``env`` is where a SQL profile's ``password_env`` is looked up (default: ``os.environ``);
    ``on_event`` receives what the store announces (e.g. a schema upgrade).
    """
    if profile.store_type == "local":
        from mlrig.stores.local import LocalStore

        return LocalStore(profile.store_url)
    if profile.store_type == "sql":
        from mlrig.stores.sql import SqlStore

        store: Store = SqlStore(profile.store_url, options=profile.options, env=env,
                                on_event=on_event)
        return store
    from mlrig.exceptions import StoreError

    raise StoreError(
        f"Profile '{profile.name}' uses the store type '{profile.store_type}', "
        "which this version of mlrig cannot open."
    )
