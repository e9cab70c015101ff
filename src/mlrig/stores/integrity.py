"""Integrity checks and messages shared by every store implementation."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from mlrig.exceptions import AlreadyExistsError, InUseError, NotFoundError
from mlrig.models import Component, ComponentType, FlavorRecord, Stack
from mlrig.stores.base import StoreView


def component_exists_error(type_: ComponentType, name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"A component of type '{type_.value}' with the name '{name}' already exists."
    )


def component_missing_error(type_: ComponentType, name: str) -> NotFoundError:
    return NotFoundError(f"No {type_.display_name} with the name '{name}' is registered.")


def stack_exists_error(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(f"A stack with the name '{name}' already exists.")


def stack_missing_error(name: str) -> NotFoundError:
    return NotFoundError(f"Stack '{name}' does not exist.")


def flavor_exists_error(flavor: FlavorRecord) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"The flavor '{flavor.name}' for the component type '{flavor.type.value}' "
        "is already registered in this profile."
    )


def flavor_missing_error(type_: ComponentType, name: str) -> NotFoundError:
    return NotFoundError(
        f"No custom flavor '{name}' for the component type '{type_.value}' is registered "
        "in this profile."
    )


def check_stack_references(view: StoreView, stack: Stack) -> None:
    """Every component a stack names must exist."""
    for type_, name in stack.components.items():
        if view.get_component(type_, name) is None:
            raise NotFoundError(
                f"Stack '{stack.name}' refers to the {type_.display_name} '{name}', "
                "which is not registered."
            )


def check_component_unused(view: StoreView, type_: ComponentType, name: str) -> None:
    users = view.stacks_using(type_, name)
    if users:
        names = ", ".join(f"'{s}'" for s in sorted(users))
        raise InUseError(
            f"The {type_.display_name} '{name}' is part of the stack(s) {names} and "
            "cannot be removed.",
            hint="Delete those stacks or give them another component first.",
        )


def stacks_using(stacks: list[Stack], type_: ComponentType, name: str) -> list[str]:
    return [s.name for s in stacks if s.uses(type_, name)]


def component_key(component: Component) -> tuple[ComponentType, str]:
    return component.type, component.name


def check_component_update(view: StoreView, component: Component,
                           old_name: str | None) -> str:
    """The name ``update_component`` replaces (``old_name`` or the component's own), once it
    is known to exist and the new name is free."""
    old = old_name or component.name
    if view.get_component(component.type, old) is None:
        raise component_missing_error(component.type, old)
    if old != component.name and view.get_component(component.type, component.name) is not None:
        raise component_exists_error(component.type, component.name)
    return old


def repoint_stacks(stacks: Iterable[Stack], type_: ComponentType, old: str, new: str) -> bool:
    """A component renamed from ``old`` to ``new``: the stacks that used it use the new name
    (in place). Whether any stack changed."""
    changed = False
    for stack in stacks:
        if stack.uses(type_, old):
            stack.components[type_] = new
            changed = True
    return changed


def check_stack_update(view: StoreView, stack: Stack, old_name: str | None) -> str:
    """The name ``update_stack`` replaces, once it is known to exist, the new name is free
    and every component the stack names exists."""
    old = old_name or stack.name
    if view.get_stack(old) is None:
        raise stack_missing_error(old)
    if old != stack.name and view.get_stack(stack.name) is not None:
        raise stack_exists_error(stack.name)
    check_stack_references(view, stack)
    return old


def replace_stack(stacks: MutableMapping[str, Stack], stack: Stack, old: str) -> dict[str, Stack]:
    """``stacks`` (by name, in their order) with the stack ``old`` replaced by ``stack``, at
    the same position."""
    return {(stack.name if k == old else k): (Stack(stack.name, dict(stack.components))
                                              if k == old else v)
            for k, v in stacks.items()}
