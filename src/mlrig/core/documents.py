"""The JSON/YAML documents of ``docs/output.md``, built once for every caller.

``-o json`` / ``-o yaml`` of the CLI prints these documents as they are, and its tables are
drawn from the same data; a server or a dashboard returns the same documents. Secret values
are masked the same way everywhere (:func:`mlrig.core.components.masked_config`).

Every document is ``{"format_version": FORMAT_VERSION, <key>: <data>}``.
"""

from __future__ import annotations

from typing import Any

from mlrig.core import stacks as stacks_
from mlrig.core.results import FORMAT_VERSION
from mlrig.core.session import Session
from mlrig.models import Component, Stack, TypeLike, component_type


def document(key: str, data: Any) -> dict[str, Any]:
    """``data`` under ``key``, with the format version."""
    return {"format_version": FORMAT_VERSION, key: data}


def stack_entry(stack: Stack, active: bool) -> dict[str, Any]:
    return {"name": stack.name, "active": active, "components": stack.to_dict()}


def _active_stack(session: Session) -> str | None:
    choice = session.stack_choice(strict=False)
    return choice.name if choice is not None else None


def stacks(session: Session) -> dict[str, Any]:
    """``stack list``: every stack of the active profile, the active one marked."""
    active = _active_stack(session)
    return document("stacks", [stack_entry(s, s.name == active)
                               for s in stacks_.list_stacks(session)])


def stack(session: Session, name: str | None = None) -> dict[str, Any]:
    """``stack describe``: one stack (the active one by default)."""
    target = stacks_.get_stack(session, name)
    return document("stack", stack_entry(target, target.name == _active_stack(session)))


def active_component(session: Session, type_: TypeLike) -> str | None:
    """The name of the active stack's component of a type, if there is an active stack that
    exists and has one (listing works without it)."""
    from mlrig.exceptions import MlrigError

    ctype = component_type(type_)
    name = _active_stack(session)
    if name is None:
        return None
    try:
        return stacks_.get_stack(session, name).components.get(ctype)
    except MlrigError:
        return None


def component_entry(session: Session, component: Component, active: bool,
                    show_secrets: bool = False, config: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """One component's entry; ``config``: its masked config, if already made."""
    from mlrig.core import components as components_

    return {
        "type": component.type.value,
        "name": component.name,
        "flavor": component.flavor,
        "id": component.id,
        "active": active,
        "config": config if config is not None
        else components_.masked_config(session, component, show_secrets),
    }


def components(session: Session, type_: TypeLike, show_secrets: bool = False) -> dict[str, Any]:
    """``<type> list``: the components of a type, secrets masked unless ``show_secrets``."""
    from mlrig.core import components as components_

    ctype = component_type(type_)
    active = active_component(session, ctype)
    listed = components_.list_components(session, ctype)
    configs = components_.masked_configs(session, listed, show_secrets)
    return document(ctype.plural, [
        component_entry(session, c, c.name == active, show_secrets, config)
        for c, config in zip(listed, configs, strict=True)])


def component(session: Session, type_: TypeLike, name: str,
              show_secrets: bool = False) -> dict[str, Any]:
    """``<type> describe``: one component, secrets masked unless ``show_secrets``."""
    from mlrig.core import components as components_

    ctype = component_type(type_)
    found = components_.get_component(session, ctype, name)
    active = active_component(session, ctype) == found.name
    return document(ctype.value, component_entry(session, found, active, show_secrets))


def flavors(session: Session, type_: TypeLike) -> dict[str, Any]:
    """``<type> flavor list``: the flavors of a type, in resolution order."""
    from mlrig.core import flavors as flavors_

    return document("flavors", [{"flavor": s.name, "source": s.source, "origin": s.origin}
                                for s in flavors_.list_flavors(session, type_)])
