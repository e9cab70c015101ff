"""Copying a whole store into another of any type, in one transaction of the destination
(the transfer engine with ``into_empty``, as ``profile migrate`` uses it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig.core.transfer import contents_of, transfer
from mlrig.exceptions import AlreadyExistsError
from mlrig.models import Component, ComponentType, FlavorRecord, Stack
from mlrig.stores.base import Store
from mlrig.stores.local import LocalStore
from mlrig.stores.sql import SqlStore

O, M, A = ComponentType.ORCHESTRATOR, ComponentType.METADATA_STORE, ComponentType.ARTIFACT_STORE


def fill(store: Store) -> None:
    with store.write() as txn:
        txn.create_flavor(FlavorRecord(O, "mine", "pkg.mod.Mine"))
        txn.create_component(Component(O, "o", "mine", {"nested": {"a": [1, 2]}}))
        txn.create_component(Component(M, "m", "sqlite", {"uri": "/m.db"}))
        txn.create_component(Component(A, "données", "local", {"path": "/ü"}))
        txn.create_component(Component(ComponentType.ALERTER, "slack", "slack", {}))
        txn.create_stack(Stack("dev", {O: "o", M: "m", A: "données",
                                       ComponentType.ALERTER: "slack"}))
        txn.create_stack(Stack("min", {O: "o", M: "m", A: "données"}))


def stores(tmp_path: Path) -> dict[str, Store]:
    made: dict[str, Store] = {
        "local": LocalStore((tmp_path / "local").as_uri()),
        "sqlite": SqlStore(f"sqlite:///{tmp_path / 'sql' / 'mlrig.db'}"),
    }
    for store in made.values():
        store.initialize()
    return made


@pytest.mark.parametrize(("src", "dst"), [("local", "sqlite"), ("sqlite", "local")])
def test_copy_keeps_everything(tmp_path: Path, src: str, dst: str) -> None:
    made = stores(tmp_path)
    fill(made[src])
    copied = contents_of(made[src])
    plan = transfer(made[dst], copied, into_empty="the destination")
    assert copied == plan.written == contents_of(made[src]) == contents_of(made[dst])
    assert copied.summary() == "4 component(s), 2 stack(s) and 1 custom flavor(s)"
    for store in made.values():
        store.close()


def test_copy_into_a_store_with_data_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    made = stores(tmp_path)
    fill(made["local"])
    with made["sqlite"].write() as txn:
        txn.create_component(Component(O, "already-here", "local"))
    before = contents_of(made["sqlite"])
    with pytest.raises(AlreadyExistsError, match="is not empty"):
        transfer(made["sqlite"], contents_of(made["local"]), into_empty="the destination")
    assert contents_of(made["sqlite"]) == before
    for store in made.values():
        store.close()
