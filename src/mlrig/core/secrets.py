"""Secrets: register, get, list, update and delete the secrets of the active stack's
secrets manager (``mlrig secret …``, ``Client().register_secret(…)``).

Every call goes through the secrets manager of the stack the scopes choose
(:func:`mlrig.core.runtime_stack.runtime_stack`); a stack without one is an error saying how
to add one. Values are returned as they are; masking them is the job of the documents here
(``show_values``) and of whoever prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlrig.core.documents import document
from mlrig.core.results import SECRET_MASK
from mlrig.core.runtime_stack import RuntimeStack, runtime_stack
from mlrig.core.session import Session
from mlrig.exceptions import AlreadyExistsError, InputError, NotFoundError
from mlrig.models import ComponentType
from mlrig.runtime.records import SecretsManager
from mlrig.runtime.secrets_managers import (
    validate_secret_key,
    validate_secret_name,
    validate_secret_values,
)

_TYPE = ComponentType.SECRETS_MANAGER


def _stack(session: Session) -> RuntimeStack:
    stack = runtime_stack(session)
    if stack.component(_TYPE) is None:
        name = stack.stack.name
        raise NotFoundError(
            f"The {stack.describe_choice()} has no secrets manager.",
            hint=f"Add one: 'mlrig secrets-manager register vault -f local' and "
            f"'mlrig stack update {name} {_TYPE.short_option} vault'.",
            library_hint=f"Add one: client.register_component('secrets_manager', 'vault', "
            f"'local', {{}}) and client.update_stack('{name}', "
            "{'secrets_manager': 'vault'}).",
        )
    return stack


def secrets_manager(session: Session) -> tuple[SecretsManager, str]:
    """The active stack's secrets manager and its component name."""
    stack = _stack(session)
    component = stack.component(_TYPE)
    assert component is not None
    manager: SecretsManager = stack.implementation(_TYPE)
    return manager, component.name


def _missing(name: str, manager_name: str) -> NotFoundError:
    return NotFoundError(f"The secrets manager '{manager_name}' holds no secret '{name}'.",
                         hint="Run 'mlrig secret list'.",
                         library_hint="client.list_secrets() lists them.")


def _change(manager: SecretsManager, name: str, change: Any) -> None:
    """``change(old values or None) -> new values or None`` in one step where the manager
    can (the local one locks its file around it), else as a read and a write."""
    atomic = getattr(manager, "change", None)
    if callable(atomic):
        atomic(name, change)
        return
    try:
        old: Mapping[str, str] | None = manager.get(name)
    except NotFoundError:
        old = None
    new = change(old)
    if new is None:
        manager.delete(name)
    else:
        manager.put(name, new)


def register_secret(session: Session, name: str, values: Mapping[str, str]) -> None:
    validate_secret_name(name)
    clean = validate_secret_values(name, dict(values))
    manager, manager_name = secrets_manager(session)

    def create(old: Mapping[str, str] | None) -> Mapping[str, str]:
        if old is not None:
            raise AlreadyExistsError(
                f"The secrets manager '{manager_name}' already holds a secret '{name}'.",
                hint=f"Run 'mlrig secret update {name} --KEY=VALUE' to change it.",
                library_hint="client.update_secret(NAME, {KEY: VALUE}) changes it.")
        return clean

    _change(manager, name, create)


def get_secret(session: Session, name: str) -> dict[str, str]:
    validate_secret_name(name)
    manager, manager_name = secrets_manager(session)
    try:
        return dict(manager.get(name))
    except NotFoundError:
        raise _missing(name, manager_name) from None


def list_secrets(session: Session) -> list[str]:
    manager, _ = secrets_manager(session)
    return sorted(manager.names())


def update_secret(session: Session, name: str, values: Mapping[str, str],
                  remove: Iterable[str] = ()) -> dict[str, str]:
    """Set (add or replace) the keys ``values`` and remove the keys ``remove``; the secret
    must exist and keep at least one key. Returns the new key/values."""
    validate_secret_name(name)
    removed = [validate_secret_key(name, key) for key in remove]
    changed = validate_secret_values(name, dict(values)) if values else {}
    if not changed and not removed:
        raise InputError(f"Nothing to change in secret '{name}': give --KEY=VALUE or "
                         "--remove KEY.")
    overlap = sorted(set(removed) & set(changed))
    if overlap:
        raise InputError(f"The key '{overlap[0]}' of secret '{name}' is both set and removed.")
    manager, manager_name = secrets_manager(session)
    result: dict[str, str] = {}

    def update(old: Mapping[str, str] | None) -> Mapping[str, str]:
        if old is None:
            raise _missing(name, manager_name)
        unknown = [key for key in removed if key not in old]
        if unknown:
            raise NotFoundError(f"The secret '{name}' has no key '{unknown[0]}'.")
        new = {k: v for k, v in old.items() if k not in removed}
        new.update(changed)
        if not new:
            raise InputError(f"The secret '{name}' would have no key left: delete it "
                             "instead.", hint=f"Run 'mlrig secret delete {name}'.",
                             library_hint="client.delete_secret(NAME) deletes it.")
        result.update(new)
        return new

    _change(manager, name, update)
    return result


def delete_secret(session: Session, name: str) -> None:
    validate_secret_name(name)
    manager, manager_name = secrets_manager(session)

    def delete(old: Mapping[str, str] | None) -> None:
        if old is None:
            raise _missing(name, manager_name)

    _change(manager, name, delete)


# ---------------------------------------------------------------------------- documents
def secrets_document(session: Session) -> dict[str, Any]:
    """``secret list``: every secret's name and key names (never a value)."""
    manager, manager_name = secrets_manager(session)
    entries = []
    for name in sorted(manager.names()):
        try:
            keys = sorted(manager.get(name))
        except NotFoundError:  # deleted meanwhile
            continue
        entries.append({"name": name, "secrets_manager": manager_name, "keys": keys})
    return document("secrets", entries)


def secret_document(session: Session, name: str, show_values: bool = False) -> dict[str, Any]:
    """``secret get NAME``: the secret's keys, values masked unless ``show_values``."""
    validate_secret_name(name)
    manager, manager_name = secrets_manager(session)
    try:
        values = manager.get(name)
    except NotFoundError:
        raise _missing(name, manager_name) from None
    shown = {k: (v if show_values else SECRET_MASK) for k, v in sorted(values.items())}
    return document("secret", {"name": name, "secrets_manager": manager_name, "values": shown})
