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
user may delete) lives in the core (:mod:`mlrig.core`). Stores never print.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mlrig.models import Component, ComponentType, FlavorRecord, ProfileConfig, Stack

if TYPE_CHECKING:
    from mlrig.events import Listener


@runtime_checkable
class StoreView(Protocol):
    def get_component(self, type_: ComponentType, name: str) -> Component | None: ...

    def list_components(self, type_: ComponentType | None = None) -> list[Component]: ...

    def get_stack(self, name: str) -> Stack | None: ...

    def list_stacks(self) -> list[Stack]: ...

    def page_components(self, type_: ComponentType | None = None, *,
                        after: tuple[ComponentType, str] | None = None, limit: int,
                        name_contains: str | None = None, flavor: str | None = None
                        ) -> list[Component]:
        """One page of components in listing order (type, then name by code point): those
        after the key ``after`` that contain ``name_contains`` in their name and have the
        flavor ``flavor``, at most ``limit`` (at least 1). Reads only what the page needs
        where the store can (see :mod:`mlrig.stores.paging`)."""

    def page_stacks(self, *, after: str | None = None, limit: int,
                    name_contains: str | None = None) -> list[Stack]:
        """One page of stacks by name (code point order), after ``after``."""

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

    def hold_writers(self) -> AbstractContextManager[None]:
        """A block in which no writer of the store is half-way through a commit, so that its
        files can be moved (a profile rename moves mlrig's own directory)."""

    def destroy(self, spare: Path | None = None) -> None:
        """Remove the store's data (used when deleting a profile that owns it): only what
        the store itself made (a store knows its own files), never a file mlrig did not make
        nor what a symbolic link points at; ``spare`` is the other store of a migrating
        profile, which may live inside this one's directory."""

    def close(self) -> None: ...


def iter_types() -> Iterator[ComponentType]:
    yield from ComponentType


class Backend(Protocol):
    """Everything mlrig knows about one store type, in one place (see the registry in
    :mod:`mlrig.stores`). Nothing above ``stores/`` tests a store type or parses a store URL:
    it asks the profile's backend.

    A backend must be cheap to import: the heavy half of a store (SQLAlchemy, an HTTP
    client) is imported by :meth:`open` only.
    """

    #: the store type, as in ``profile create --store-type``
    type: str

    def canonical_url(self, url: str) -> str:
        """Validate a user-given URL and return its canonical form (InputError if invalid)."""

    def default_url(self, directory: Path) -> str:
        """The URL of a new store kept in mlrig's own directory for a profile."""

    def validate_options(self, url: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Check the store options of a new profile and return them as kept."""

    def location(self, url: str) -> Path | None:
        """The file or directory holding the store's data on this machine (resolved), or
        ``None`` (a database server, a URL not valid for the type)."""

    def lives_in(self, url: str, directory: Path) -> bool:
        """Whether the store's data is inside ``directory`` (mlrig's own directory for the
        profile), so that mlrig may remove or move it with the directory."""

    def relocated_url(self, url: str, old_dir: Path, new_dir: Path) -> str:
        """The URL of the same store after ``old_dir`` (where it :meth:`lives_in`) was
        renamed to ``new_dir``."""

    def staging(self, url: str, directory: Path, token: str) -> tuple[Path, str, Path] | None:
        """Where to build a new store before it is moved into place: ``(staging path, URL of
        the store built there, final path)``; ``None`` to build it in place (its files are
        not mlrig's to move, e.g. a database server). ``directory`` is mlrig's own directory
        for the profile; ``token`` makes the staging name unique."""

    def private_paths(self, url: str) -> list[tuple[Path, int]]:
        """The files and directories of the store that may hold secrets, with the widest
        mode each may have (for ``mlrig status``'s permission warnings)."""

    def open(self, profile: ProfileConfig, *, env: Mapping[str, str] | None,
             events: Listener | None) -> Store:
        """Open (not initialise) the store of a profile; ``events`` receives what the
        store reports (e.g. a schema upgrade, as a :class:`~mlrig.events.Event`)."""
