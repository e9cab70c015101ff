"""Store backends, in a registry: ``{store type: "module:Class"}``.

Each backend (:class:`~mlrig.stores.base.Backend`) owns everything about its type: URL
canonicalisation and defaults, option validation, where its data lives, whether mlrig may
remove or move it, its relocation after a rename, its private files. Nothing above
``stores/`` tests a store type or parses a store URL. A backend's module is imported only
when a profile uses that type, so that the CLI never imports SQL or HTTP libraries for a
local profile. More store types come from installed packages through the ``mlrig.stores``
entry-point group (``name = "package.module:Backend"``), looked up only for a type that is
not built in.

A new store type: one module in ``stores/`` with a ``Backend`` and a ``Store`` that passes
:class:`mlrig.testing.contract.StoreContract`, and one line in :data:`BACKENDS`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from mlrig.exceptions import InputError, StoreError

# the registry imports neither the records' dataclasses nor pathlib (values of those types
# come from its callers), so a light module of stores/ (local_layout) costs only itself
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from mlrig.events import Listener
    from mlrig.models import ProfileConfig
    from mlrig.stores.base import Backend, Store

ENV_DEFAULT_STORE_TYPE = "MLRIG_DEFAULT_STORE_TYPE"
ENTRY_POINT_GROUP = "mlrig.stores"

#: the built-in store types
BACKENDS: dict[str, str] = {
    "local": "mlrig.stores.local:LocalBackend",
    "sql": "mlrig.stores.sql_backend:SqlBackend",
    "rest": "mlrig.stores.rest:RestBackend",
}
#: store types reserved for what is to come: named in a config file, they are reported as
#: types this version cannot open; asked for, they are refused with the reason
RESERVED: dict[str, str] = {}

_loaded: dict[str, Backend] = {}


def _plugin_backends() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)
            if ep.name not in BACKENDS}


def store_types() -> tuple[str, ...]:
    """The store types a profile can be created on (built-in first, then plugins)."""
    return (*BACKENDS, *sorted(_plugin_backends()))


def backend(store_type: str) -> Backend:
    """The backend of a store type (StoreError if this mlrig has none)."""
    cached = _loaded.get(store_type)
    if cached is not None:
        return cached
    target = BACKENDS.get(store_type) or _plugin_backends().get(store_type)
    if target is None:
        raise StoreError(f"This version of mlrig cannot open stores of type '{store_type}'.")
    module_name, _, attribute = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise StoreError(f"The store type '{store_type}' cannot be loaded from '{target}' "
                         f"({exc}).") from None
    found: Backend = cls()
    _loaded[store_type] = found
    return found


def default_store_type(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    value = env.get(ENV_DEFAULT_STORE_TYPE) or "local"
    return normalize_store_type(value, source=ENV_DEFAULT_STORE_TYPE)


def normalize_store_type(value: str, source: str = "--store-type") -> str:
    normalized = value.strip().lower()
    if normalized in BACKENDS:
        return normalized
    if normalized in RESERVED:
        raise InputError(
            f"The store type '{normalized}' ({source}) {RESERVED[normalized]}; choose one "
            f"of: {', '.join(store_types())}."
        )
    if normalized not in _plugin_backends():
        raise InputError(
            f"Invalid store type '{value}' ({source}); choose one of: "
            f"{', '.join(store_types())}."
        )
    return normalized


def profile_dir(config_dir: Path, profile_name: str) -> Path:
    return config_dir / "profiles" / profile_name


def _backend_of(profile: ProfileConfig) -> Backend | None:
    try:
        return backend(profile.store_type)
    except StoreError:
        return None


def store_location(profile: ProfileConfig) -> Path | None:
    """Where a profile's data lives on this machine (a directory or a file); ``None`` for a
    store behind a server, or a store type this mlrig cannot open."""
    found = _backend_of(profile)
    return found.location(profile.store_url) if found is not None else None


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


class Ownership(NamedTuple):
    """May mlrig remove or move a profile's store? The one decision that delete, rename,
    migrate and copy all ask: only if the store lives in the profile's own directory
    (``<config>/profiles/<name>``, where mlrig made it) and no other profile uses it."""

    directory: Path  #: mlrig's own directory for the profile
    in_own_dir: bool  #: the profile's data lives there
    sharing: tuple[str, ...]  #: the other profiles whose data lives there too

    @property
    def owned(self) -> bool:
        return self.in_own_dir and not self.sharing


def ownership(config_dir: Path, profiles: Mapping[str, ProfileConfig], name: str,
              profile: ProfileConfig | None = None) -> Ownership:
    """Decide :class:`Ownership` for profile ``name`` among ``profiles`` (as config.yaml
    says now: call it under config.yaml's lock when acting on the answer)."""
    profile = profile or profiles[name]
    # not resolved: a link at the profile's place was not made by mlrig, and what it points
    # at is never removed or moved on its behalf
    directory = profile_dir(config_dir, name).absolute()
    found = _backend_of(profile)
    in_own_dir = (not directory.is_symlink() and directory.is_dir() and found is not None
                  and found.lives_in(profile.store_url, directory))
    sharing = tuple(profiles_using(profiles, directory, besides=name)) if in_own_dir else ()
    return Ownership(directory, in_own_dir, sharing)


def remove_own_store(profile: ProfileConfig, directory: Path) -> bool:
    """Remove the store of ``profile`` that lives in its own ``directory`` (decided by
    :func:`ownership`): only what the store made (its files, or its SQLite database with its
    side files), then the directory while empty. A file mlrig did not make keeps the
    directory; returns whether the directory is gone."""
    store = open_store(profile)
    try:
        store.destroy()
    finally:
        store.close()
    if not directory.is_symlink():
        with contextlib.suppress(OSError):
            directory.rmdir()
    return not os.path.lexists(directory)


def default_url(store_type: str, config_dir: Path, profile_name: str) -> str:
    return backend(store_type).default_url(profile_dir(config_dir, profile_name).resolve())


def canonical_url(store_type: str, url: str) -> str:
    """Validate a user-given URL for a store type and return its canonical form."""
    return backend(store_type).canonical_url(url)


def store_options(store_type: str, url: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate the store options of a new profile."""
    given = {k: v for k, v in (options or {}).items() if v not in (None, "")}
    return backend(store_type).validate_options(url, given)


def relocated_url(profile: ProfileConfig, old_dir: Path, new_dir: Path) -> str:
    """The URL of a profile's store after its own directory was renamed."""
    return backend(profile.store_type).relocated_url(profile.store_url, old_dir, new_dir)


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
               events: Listener | None = None) -> Store:
    """Open (not initialise) the store of a profile.

    ``env`` is where a SQL profile's ``password_env`` is looked up (default: ``os.environ``);
    ``events`` receives what the store reports (e.g. a schema upgrade), as
    :class:`~mlrig.events.Event` objects; default: the ``mlrig`` logger.
    """
    if profile.store_type in RESERVED or _backend_of(profile) is None:
        raise StoreError(
            f"Profile '{profile.name}' uses the store type '{profile.store_type}', "
            "which this version of mlrig cannot open."
        )
    return backend(profile.store_type).open(profile, env=env, events=events)
