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
