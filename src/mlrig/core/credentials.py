"""``mlrig login`` / ``mlrig logout``: the credential of a ``rest`` profile.

A credential never enters ``config.yaml``: ``login`` checks it with the server, writes it
to ``<config dir>/credentials/<profile>.token`` (mode 0600, atomically) and points the
profile's ``token_file`` option at that file — or, with ``keyring=True``, keeps it in the
system keyring (service ``mlrig``, user ``<profile>@<url>``) and records only that name in
the profile's ``token_keyring`` option; ``logout`` removes that file (only one mlrig wrote
there) or keyring entry, and the option. A profile created with ``--token-env`` or
``--token-file`` keeps using that source until ``login`` replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrig.config.global_config import GlobalConfig
from mlrig.core.session import Session
from mlrig.exceptions import InputError
from mlrig.models import ProfileConfig
from mlrig.names import validate_name

CREDENTIALS = "credentials"


def credential_path(session: Session, name: str) -> Path:
    return session.config_dir / CREDENTIALS / f"{validate_name('profile', name)}.token"


def _rest_profile(session: Session, name: str | None) -> ProfileConfig:
    profile = session.profile(name or session.active_profile_name)
    if profile.store_type != "rest":
        raise InputError(f"Profile '{profile.name}' has a {profile.store_type} store; only a "
                         "profile of store type 'rest' logs in.")
    return profile


def login(session: Session, name: str | None, token: str | None = None,
          user: str | None = None, password: str | None = None, *,
          keyring: bool = False) -> dict[str, Any]:
    """Check a token (or get one for a user's password) and keep it for the profile;
    returns who the server says it is (``user``, ``token``, ``permissions``)."""
    from mlrig.stores.rest import RestStore

    profile = _rest_profile(session, name)
    if (token is None) == (user is None):
        raise InputError("Give a token, or a user name and its password.")
    if user is not None:
        token = password_token(session, profile.store_url, profile.options, user, password)
    assert token is not None
    token = token.strip()
    if not token or any(ch.isspace() for ch in token):
        raise InputError("A token is one word, without spaces.")
    store = RestStore(profile.store_url, profile.options, env=session.env, token=token,
                      events=session.events)
    try:
        who: dict[str, Any] = store.call("GET", "/whoami")
    finally:
        store.close()
    if keyring:
        from mlrig.stores.rest import keyring_call

        entry = f"{profile.name}@{profile.store_url}"
        keyring_call("set_password", profile.store_url, entry, token)
        _drop_token_file(session, profile)
    else:
        path = keep_token(session, profile.name, token)
        _drop_keyring_entry(profile)

    def change(config: GlobalConfig) -> None:
        current = config.profiles[profile.name]
        for option in ("token_env", "token_file", "token_keyring"):
            current.options.pop(option, None)
        if keyring:
            current.options["token_keyring"] = entry
        else:
            current.options["token_file"] = str(path)

    session.update_config(change)
    session.drop_store(profile.name)
    return who


def _drop_token_file(session: Session, profile: ProfileConfig) -> None:
    """Remove the credential file mlrig wrote for the profile, if there is one."""
    from mlrig.fsutil import remove_file

    path = credential_path(session, profile.name)
    if path.exists():
        remove_file(path, root=session.config_dir)


def _drop_keyring_entry(profile: ProfileConfig) -> bool:
    """Remove the profile's token from the system keyring, if it is kept there."""
    entry = profile.options.get("token_keyring")
    if not entry:
        return False
    from mlrig.stores.rest import keyring_call

    keyring_call("delete_password", profile.store_url, str(entry))
    return True


def password_token(session: Session, url: str, options: Mapping[str, Any], user: str,
                   password: str | None) -> str:
    """A short-lived token from the server at ``url`` for a user's password."""
    from mlrig.stores.rest import RestStore

    anonymous = RestStore(url, options, env=session.env, token="-", events=session.events)
    try:
        answer = anonymous.call("POST", "/auth/login", {"user": user, "password": password or ""})
    finally:
        anonymous.close()
    return str(answer["token"])


def keep_token(session: Session, name: str, token: str) -> Path:
    """Write a profile's credential file (0600, atomically); its path."""
    from mlrig.fsutil import atomic_write, ensure_dir

    path = credential_path(session, name)
    ensure_dir(path.parent)
    atomic_write(path, token + "\n")
    return path


def logout(session: Session, name: str | None) -> bool:
    """Forget the profile's credential; ``False`` if mlrig kept none for it."""
    from mlrig.fsutil import remove_file

    profile = _rest_profile(session, name)
    path = credential_path(session, profile.name)
    ours = profile.options.get("token_file") == str(path)
    if path.exists():
        remove_file(path, root=session.config_dir)
    ours = _drop_keyring_entry(profile) or ours

    def change(config: GlobalConfig) -> None:
        current = config.profiles[profile.name]
        current.options.pop("token_keyring", None)
        if current.options.get("token_file") == str(path):
            current.options.pop("token_file")

    if ours:
        session.update_config(change)
    session.drop_store(profile.name)
    return ours


def forget_credential(session: Session, profile: ProfileConfig) -> None:
    """Remove the credential file ``login`` wrote for a profile that is gone (only that
    file: one the profile's options point at, in mlrig's credentials directory)."""
    from mlrig.fsutil import remove_file

    if profile.options.get("token_keyring"):
        _drop_keyring_entry(profile)
    kept = profile.options.get("token_file")
    if not kept:
        return
    path = Path(str(kept))
    if path.parent == session.config_dir / CREDENTIALS and path.suffix == ".token" \
            and path.exists():
        remove_file(path, root=session.config_dir)
