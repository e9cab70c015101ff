"""In-process :class:`~mlrig.client.Client` objects for tests: their events are collected
or dropped, never printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlrig.client import Client


def quiet(*_: str) -> None:
    """An event sink that drops every event."""
    return


def make_client(*, initialize: bool = True, **kwargs: Any) -> Client:
    """A client (``Client(**kwargs)``) whose events are collected in ``client.events`` as
    ``(level, message)`` pairs. With ``initialize`` it reads its configuration at once, as
    every command does (creating the default profile on first use)."""
    events: list[tuple[str, str]] = []
    client = Client(on_event=lambda level, message: events.append((level, message)),
                    **kwargs)
    client.events = events  # type: ignore[attr-defined]
    if initialize:
        client.config()
    return client


def quiet_client(config_dir: Path, **kwargs: Any) -> Client:
    """A client on ``config_dir`` whose events are dropped."""
    return Client(config_dir, on_event=quiet, **kwargs)


def add_local_artifact_store(client: Client, name: str = "lake",
                             path: str = "/data/lake") -> None:
    """Register a ``local`` artifact store ``name`` at ``path`` (nothing is created there)."""
    client.register_component("artifact_store", name, "local", {"path": path})


def add_stack(client: Client, name: str = "dev", artifact_store: str = "lake",
              **extra: str) -> None:
    """Register stack ``name``: the ``default`` orchestrator and metadata store, the given
    artifact store, and ``extra`` components (``type=name``)."""
    client.register_stack(name, {"orchestrator": "default", "metadata_store": "default",
                                 "artifact_store": artifact_store, **extra})
