"""One page of a listing, the same on every store.

Components are listed in the order of :func:`component_order` (component type in the order
of :class:`~mlrig.models.ComponentType`, then name by code point), stacks by name; a page
holds the entries strictly after a cursor (the key of the last entry of the previous page),
at most ``limit`` of them, that pass the filters: ``name_contains`` (a case-sensitive
substring of the name) and ``flavor`` (the exact flavor name).

Stores that can read one page without reading everything (SQL: one indexed query with
``LIMIT``; local: the file names, then only the files of the page) do so; the helpers here
cut a page from a full list for the others and are the reference the contract tests hold
every store to.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlrig.exceptions import InputError
from mlrig.models import Component, ComponentType, Stack

#: the position of each component type in a listing
TYPE_ORDER = {t: i for i, t in enumerate(ComponentType)}


def component_order(component: Component) -> tuple[int, str]:
    return TYPE_ORDER[component.type], component.name


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InputError(f"A page holds at least one entry (limit {limit!r}).")


def types_from(type_: ComponentType | None, after: tuple[ComponentType, str] | None
               ) -> list[tuple[ComponentType, str | None]]:
    """The types a component page may draw from, in order, each with the name its entries
    must follow (``None``: from the first name)."""
    types = [type_] if type_ is not None else list(ComponentType)
    if after is None:
        return [(t, None) for t in types]
    start = TYPE_ORDER[after[0]]
    return [(t, after[1] if TYPE_ORDER[t] == start else None)
            for t in types if TYPE_ORDER[t] >= start]


def component_page(components: Iterable[Component], type_: ComponentType | None = None, *,
                   after: tuple[ComponentType, str] | None = None, limit: int,
                   name_contains: str | None = None, flavor: str | None = None
                   ) -> list[Component]:
    check_limit(limit)
    key = None if after is None else (TYPE_ORDER[after[0]], after[1])
    found = sorted((c for c in components
                    if (type_ is None or c.type is type_)
                    and (key is None or component_order(c) > key)
                    and (name_contains is None or name_contains in c.name)
                    and (flavor is None or c.flavor == flavor)), key=component_order)
    return found[:limit]


def stack_page(stacks: Iterable[Stack], *, after: str | None = None, limit: int,
               name_contains: str | None = None) -> list[Stack]:
    check_limit(limit)
    found = sorted((s for s in stacks
                    if (after is None or s.name > after)
                    and (name_contains is None or name_contains in s.name)),
                   key=lambda s: s.name)
    return found[:limit]
