"""The metadata store contract on SQLite, PostgreSQL and MySQL/MariaDB, each store built
the way a run builds it: from a flavor's config (``from_config``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrig.runtime.metadata.sql import SQLMetadataStore
from mlrig.runtime.registry import RuntimeContext
from mlrig.testing.metadata import MetadataStoreContract


def store_for(url: str, tmp_path: Path) -> SQLMetadataStore:
    """A metadata store on the database of ``url`` (a ``sqlite:///`` URL or a server's),
    built from the config its flavor would hold."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        flavor, config = "sqlite", {"uri": parsed.database}
    else:
        flavor = "postgresql" if backend == "postgresql" else "mysql"
        config = {"host": parsed.host, "port": parsed.port, "database": parsed.database,
                  "username": parsed.username, "password": parsed.password}
    context = RuntimeContext("runs", flavor, "default", tmp_path)
    return SQLMetadataStore.from_config(config, context)


class TestSQLMetadataStore(MetadataStoreContract):
    @pytest.fixture
    def metadata_store(self, any_url: str, tmp_path: Path) -> Iterator[Any]:
        store = store_for(any_url, tmp_path)
        yield store
        store.close()
