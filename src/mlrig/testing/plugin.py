"""A pytest plugin for store and flavor authors (and mlrig's own tests).

Installed with mlrig (the ``pytest11`` entry point ``mlrig``), it gives every test suite:

* ``mlrig_config_dir`` — a fresh config directory (``MLRIG_CONFIG_PATH``), no ``MLRIG_*``
  variable of the caller's shell, and a working directory outside any repository;
* ``mlrig_client`` — a factory: ``mlrig_client(profile=None, stack=None)`` gives a
  :class:`~mlrig.client.Client` on that directory whose events are collected in
  ``client.events`` instead of printed;
* ``mlrig_run`` — the real ``mlrig`` executable in a subprocess:
  ``mlrig_run("stack", "list", "-o", "json")`` returns a :class:`Run` (``exit_code``,
  ``stdout``, ``stderr``);
* the contracts, to subclass: :class:`mlrig.testing.contract.StoreContract` for a store
  backend, :class:`mlrig.testing.flavors.FlavorContract` for a flavor.

Nothing here runs unless a test asks for one of the fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrig.testing.runs import Run, mlrig_command, run_mlrig

__all__ = ["MLRIG_VARIABLES", "Run", "isolate", "mlrig_command", "run_mlrig"]

#: every variable mlrig reads; the fixtures start from none of them
MLRIG_VARIABLES = (
    "MLRIG_CONFIG_PATH", "MLRIG_ACTIVE_PROFILE", "MLRIG_ACTIVE_STACK", "MLRIG_REPOSITORY_PATH",
    "MLRIG_DEFAULT_STORE_TYPE", "MLRIG_DEBUG", "MLRIG_LOCK_TIMEOUT", "MLRIG_CACHE_PATH",
)


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
            keep: tuple[str, ...] = ()) -> Path:
    """Point mlrig at a new config dir (and cache dir) under ``tmp_path`` and work in
    ``tmp_path/work``
    (outside any repository); unset the other ``MLRIG_*`` variables but ``keep``. Returns
    the config dir (not created: mlrig creates it on first use)."""
    for variable in MLRIG_VARIABLES:
        if variable not in keep:
            monkeypatch.delenv(variable, raising=False)
    config = tmp_path / "config"
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    monkeypatch.setenv("MLRIG_CONFIG_PATH", str(config))
    # caches (the plugins' entry points) are the test's own too, never the user's
    monkeypatch.setenv("MLRIG_CACHE_PATH", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(work)
    return config


@pytest.fixture
def mlrig_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate(tmp_path, monkeypatch)


@pytest.fixture
def mlrig_client(mlrig_config_dir: Path) -> Iterator[Callable[..., Any]]:
    from mlrig.client import Client
    from mlrig.testing.clients import make_client

    made: list[Client] = []

    def make(**kwargs: Any) -> Client:
        client = make_client(initialize=False, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def mlrig_run(mlrig_config_dir: Path) -> Callable[..., Run]:
    return run_mlrig
