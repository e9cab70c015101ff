"""Copying the whole content of one store into another, whatever their types.

Used by ``profile migrate`` (and available to ``profile copy``): components keep their ids,
stacks their names and components, custom flavors their sources. The copy is written in *one*
transaction of the destination, so it is all there or not at all.

    with src.read() as view:
        contents = store_contents(view)
    copy_store_contents(src, dst)          # dst must be empty
    assert store_contents_of(dst) == contents
"""

from __future__ import annotations

from dataclasses import dataclass

from mlrig.exceptions import AlreadyExistsError
from mlrig.models import Component, FlavorRecord, Stack
from mlrig.stores.base import Store, StoreTransaction, StoreView


@dataclass(frozen=True)
class StoreContents:
    """Everything a store holds, in a canonical order (comparable with ``==``)."""

    components: tuple[Component, ...]
    stacks: tuple[Stack, ...]
    flavors: tuple[FlavorRecord, ...]

    @property
    def empty(self) -> bool:
        return not (self.components or self.stacks or self.flavors)

    def summary(self) -> str:
        """``3 component(s), 1 stack(s) and 0 custom flavor(s)``"""
        return (f"{len(self.components)} component(s), {len(self.stacks)} stack(s) and "
                f"{len(self.flavors)} custom flavor(s)")


def store_contents(view: StoreView) -> StoreContents:
    components = sorted(view.list_components(), key=lambda c: (c.type.value, c.name))
    stacks = sorted(view.list_stacks(), key=lambda s: s.name)
    flavors = sorted(view.list_flavors(), key=lambda f: (f.type.value, f.name))
    return StoreContents(
        components=tuple(components),
        # dict order is not part of a stack's identity, so normalise it
        stacks=tuple(Stack(s.name, dict(sorted(s.components.items(),
                                                key=lambda i: i[0].value)))
                     for s in stacks),
        flavors=tuple(flavors),
    )


def store_contents_of(store: Store) -> StoreContents:
    with store.read() as view:
        return store_contents(view)


def copy_contents(view: StoreView, txn: StoreTransaction, *, where: str = "the destination",
                  require_empty: bool = True) -> StoreContents:
    """Copy what ``view`` shows into ``txn`` (flavors, then components, then stacks)."""
    contents = store_contents(view)
    if require_empty:
        existing = store_contents(txn)
        if not existing.empty:
            raise AlreadyExistsError(
                f"The store at {where} is not empty (it holds {existing.summary()}); "
                "mlrig copies a whole profile only into an empty store."
            )
    for flavor in contents.flavors:
        txn.create_flavor(flavor)
    for component in contents.components:
        txn.create_component(Component(component.type, component.name, component.flavor,
                                       dict(component.config), id=component.id))
    for stack in contents.stacks:
        txn.create_stack(Stack(stack.name, dict(stack.components)))
    return contents


def copy_store_contents(src: Store, dst: Store, *, require_empty: bool = True) -> StoreContents:
    """Copy everything in ``src`` into ``dst`` in one transaction of ``dst``.

    ``dst`` must be initialised; with ``require_empty`` (the default) it must hold nothing
    yet. Returns what was copied.
    """
    from mlrig.stores import mask_url

    with src.read() as view, dst.write() as txn:
        return copy_contents(view, txn, where=mask_url(dst.url), require_empty=require_empty)
