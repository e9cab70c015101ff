"""Direct access to a profile's store, for tests and benchmarks only.

:class:`~mlrig.client.Client` hands out no raw store or transaction (every change goes
through a rule); a test that must set up or inspect a store below the rules opens it here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlrig.client import Client
from mlrig.config.global_config import GlobalConfig
from mlrig.stores import open_store
from mlrig.stores.base import Store


def store_of(client: Client, profile: str | None = None) -> Store:
    """The store of a profile of ``client`` (the active one by default), opened anew; the
    caller closes it (``store.close()``) when it is a SQL store it keeps."""
    return open_store(client.get_profile(profile), env=client.env)


def change_global_config(client: Client, change: Callable[[GlobalConfig], Any]) -> Any:
    """Edit ``config.yaml`` of ``client`` under its lock, below every rule (to make states
    that only a hand edit or a crash can make); returns what ``change`` returns."""

    def wrapped(current: GlobalConfig | None) -> tuple[GlobalConfig, Any]:
        assert current is not None, "no config.yaml yet"
        return current, change(current)

    return client.global_file.update(wrapped)


def contents(client: Client, profile: str | None = None) -> dict[str, Any]:
    """Stacks, components (with ids and config) and custom flavors of a profile of
    ``client``, comparable with ``==`` (to prove a copy, import or migration complete, or a
    failed one without effect)."""
    store = store_of(client, profile)
    try:
        with store.read() as view:
            return {
                "stacks": sorted((s.name, sorted((t.value, n) for t, n in s.components.items()))
                                 for s in view.list_stacks()),
                "components": sorted((c.type.value, c.name, c.flavor, c.id, repr(sorted(
                    c.config.items()))) for c in view.list_components()),
                "flavors": sorted((f.type.value, f.name, f.source) for f in view.list_flavors()),
            }
    finally:
        store.close()
