from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrig.stores.local import LocalStore
from mlrig.testing.contract import StoreContract


class TestLocalStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LocalStore]:
        store = LocalStore((tmp_path / "store").as_uri())
        store.initialize()
        yield store
        store.close()
