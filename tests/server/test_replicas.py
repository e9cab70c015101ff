"""Several workers, and several servers on one PostgreSQL store, give the same answers: the
users, tokens, revisions and audit log live in the store, not in a server process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlrig.exceptions import StoreError
from mlrig.models import Component, ComponentType
from mlrig.stores.rest import RestStore
from mlrig.testing.server import make_token, served

A = ComponentType.ARTIFACT_STORE


def test_two_servers_with_two_workers_each_on_one_postgres_store(tmp_path: Path,
                                                                 pg_url: str) -> None:
    with served(tmp_path / "a", pg_url, workers=2) as first:
        # the second server finds the admin the first one made: it makes none
        from mlrig.server import runner
        from mlrig.server.settings import ServerSettings
        from mlrig.testing.server import free_port

        second_dir = tmp_path / "b" / "server-config"
        started = runner.up(second_dir, ServerSettings("sql", first.store_url),
                            port=free_port(), workers=2)
        try:
            assert started.admin_token is None
            token = make_token(first, "shared", "editor")  # made on the first one's store
            stores: list[Any] = [RestStore(url, token=token) for url in (first.url,
                                                                         started.url)]
            with stores[0].write() as txn:
                txn.create_component(Component(A, "lake", "local", {"path": "/a"}))
            for _ in range(6):  # whichever worker answers
                for store in stores:
                    with store.read() as view:
                        assert [c.name for c in view.list_components(A)] == ["lake"]
            # a stale write through one server is refused by the other's revision check
            with pytest.raises(StoreError, match="was changed by 'editor-user'"), \
                    stores[0].write() as txn:
                component = txn.get_component(A, "lake")
                assert component is not None
                with stores[1].write() as other:
                    changed = other.get_component(A, "lake")
                    assert changed is not None
                    changed.config["path"] = "/b"
                    other.update_component(changed)
                component.config["path"] = "/c"
                txn.update_component(component)
            # a revoked token is refused by both, at once
            from mlrig.testing.runs import run_mlrig

            revoked = run_mlrig("server", "token", "revoke", "shared", "--store",
                                first.store_url,
                                env={"MLRIG_CONFIG_PATH": str(first.config_dir)})
            assert revoked.exit_code == 0, revoked.output
            for store in stores:
                store.close()
                with pytest.raises(StoreError, match="revoked"), store.read():
                    pass
        finally:
            runner.down(second_dir)
