"""The store Protocol: what every backend (local YAML, SQL, REST) offers.

A store keeps one profile's components, stacks and custom flavors. All access goes through
two context managers:

* ``store.read()`` gives a :class:`StoreView`: a consistent snapshot for reading.
* ``store.write()`` gives a :class:`StoreTransaction`: reads see the transaction's own
  writes; everything is committed atomically when the block exits without an exception and
  nothing is committed otherwise.

Stores enforce integrity the way a database does (unique names, a stack only references
existing components, a component used by a stack cannot be removed) because those checks
must happen inside the transaction to be race-free. Policy (which stack is active, what a
user may delete) lives in the :class:`mlrig.client.Client`. Stores never print.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from mlrig.models import Component, ComponentType, FlavorRecord, Stack


@runtime_checkable
class StoreView(Protocol):
    def get_component(self, type_: ComponentType, name: str) -> Component | None: ...

    def list_components(self, type_: ComponentType | None = None) -> list[Component]: ...

    def get_stack(self, name: str) -> Stack | None: ...

    def list_stacks(self) -> list[Stack]: ...

    def list_flavors(self, type_: ComponentType | None = None) -> list[FlavorRecord]: ...

    def stacks_using(self, type_: ComponentType, name: str) -> list[str]: ...


@runtime_checkable
class StoreTransaction(StoreView, Protocol):
    def create_component(self, component: Component) -> None:
        """Add a component; AlreadyExistsError if ``(type, name)`` is taken."""

    def update_component(self, component: Component, old_name: str | None = None) -> None:
        """Replace a component (found by ``old_name`` if it is being renamed)."""

    def delete_component(self, type_: ComponentType, name: str) -> None:
        """Remove a component; NotFoundError / InUseError (naming the stack)."""

    def create_stack(self, stack: Stack) -> None:
        """Add a stack; AlreadyExistsError; NotFoundError for a missing component."""

    def update_stack(self, stack: Stack, old_name: str | None = None) -> None: ...

    def delete_stack(self, name: str) -> None: ...

    def create_flavor(self, flavor: FlavorRecord) -> None: ...

    def delete_flavor(self, type_: ComponentType, name: str) -> None: ...


@runtime_checkable
class Store(Protocol):
    """One profile's store."""

    type: str
    url: str

    def is_initialized(self) -> bool:
        """True if an mlrig store already exists at the URL (attach instead of creating)."""

    def initialize(self) -> None:
        """Create an empty store at the URL (idempotent)."""

    def needs_repair(self) -> bool:
        """True if the next read would first finish something a crashed writer left (so a
        caller that must not write, such as shell completion, can stay away)."""

    def read(self) -> AbstractContextManager[StoreView]: ...

    def write(self) -> AbstractContextManager[StoreTransaction]: ...

    def destroy(self) -> None:
        """Remove the store's data (used when deleting a profile that owns it)."""

    def close(self) -> None: ...


def iter_types() -> Iterator[ComponentType]:
    yield from ComponentType
