"""The audit log records every write that commits, and only those: the records of a store
transaction are written before it commits (in the same database transaction on a SQL store)
and withdrawn when the commit does not happen."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig.models import Component, ComponentType
from mlrig.server.accounts import FileAccounts, SqlAccounts, settled
from mlrig.stores.local import LocalStore
from mlrig.stores.sql import SqlStore

O = ComponentType.ORCHESTRATOR


def record(txn: str, name: str) -> dict[str, object]:
    return {"time": "2026-12-02T00:00:00Z", "user": "ann", "token": "t", "txn": txn,
            "action": "create_component", "keys": [f"component:orchestrator:{name}"],
            "before": {}, "after": {}}


class Boom(Exception):
    pass


def test_a_sql_store_commits_the_records_with_its_rows_or_neither(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = SqlStore(url)
    store.initialize()
    accounts = SqlAccounts(url)
    with store.write() as txn:
        txn.create_component(Component(O, "kept", "local"))
        accounts.append_audit_within(txn, [record("a", "kept")])
    with pytest.raises(Boom), store.write() as txn:
        txn.create_component(Component(O, "lost", "local"))
        accounts.append_audit_within(txn, [record("b", "lost")])
        raise Boom  # the commit never happens: neither the row nor its record stays
    with store.read() as view:
        assert [c.name for c in view.list_components(O)] == ["kept"]
    assert [r["txn"] for r in accounts.audit()] == ["a"]
    accounts.close()
    store.close()


def test_a_local_store_withdraws_the_records_of_a_transaction_that_did_not_commit(
        tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path / "store"))
    store.initialize()
    accounts = FileAccounts(tmp_path / "store")
    accounts.append_audit([record("a", "first")])
    try:
        with store.write() as txn:
            txn.create_component(Component(O, "lost", "local"))
            accounts.append_audit_within(txn, [record("b", "lost")])
            raise Boom
    except Boom:
        accounts.abort_audit("b")
    accounts.append_audit([record("c", "later")])
    assert [r["txn"] for r in accounts.audit()] == ["a", "c"]
    assert [r["txn"] for r in accounts.audit(since="2000-01-01")] == ["a", "c"]
    with store.read() as view:
        assert view.list_components(O) == []


def test_settled_keeps_every_record_of_committed_transactions() -> None:
    records = [record("a", "x"), record("b", "y"), record("b", "z"),
               {"time": "t", "txn": "b", "action": "aborted"}, record("c", "w")]
    assert [r["txn"] for r in settled(records)] == ["a", "c"]
    assert settled(records[:3]) == records[:3]
