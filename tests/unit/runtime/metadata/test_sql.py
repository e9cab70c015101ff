"""The SQL metadata store's parts that need no database: configs to files and URLs (the
password masked where shown), cursors, processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlrig.exceptions import InputError
from mlrig.runtime.metadata.sql import (
    SQLMetadataStore,
    _decode_cursor,
    _encode_cursor,
    process_alive,
    process_start,
    server_url,
    sqlite_path,
)
from mlrig.runtime.registry import RuntimeContext


def test_sqlite_uri_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_path("/srv/m.db") == Path("/srv/m.db")
    assert sqlite_path("sqlite:////srv/m.db") == Path("/srv/m.db")
    assert sqlite_path("sqlite:///rel/m.db?mode=x") == tmp_path / "rel" / "m.db"
    assert sqlite_path("~/m.db") == Path.home() / "m.db"
    for bad in ("", "  ", ":memory:", "sqlite:///", "a\x00b"):
        with pytest.raises(InputError):
            sqlite_path(bad)


def test_server_configs_become_urls_shown_masked(tmp_path: Path) -> None:
    config = {"host": "db.internal", "port": 5432, "database": "ml", "username": "ml",
              "password": "p@ss:w/rd"}
    url = server_url("postgresql", config)
    assert url.startswith("postgresql+psycopg://ml:") and url.endswith("@db.internal:5432/ml")
    assert server_url("mysql", {**config, "port": 3306}).startswith("mysql+pymysql://")
    store = SQLMetadataStore.from_config(config, RuntimeContext("shared", "postgresql",
                                                                "default", tmp_path))
    assert "p@ss" not in store.where and "***" in store.where
    assert "p@ss" not in repr(store) and "p@ss" not in store.describe
    with pytest.raises(InputError):
        server_url("sqlite", config)


def test_cursors_round_trip_and_refuse_garbage() -> None:
    for started, run_id in ((1733100000.123456, "ab" * 16), (0.0, "x"), (1e-9, "ü")):
        assert _decode_cursor(_encode_cursor(started, run_id)) == (started, run_id)
    for bad in ("", "!!", "bnVsbA", "WzEsMl0"):  # "", junk, null, [1,2]
        with pytest.raises(InputError, match="Invalid cursor"):
            _decode_cursor(bad)


def test_processes() -> None:
    assert process_alive(os.getpid(), process_start(os.getpid()))
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_start(child.pid) is None
    assert not process_alive(child.pid, None)
    assert process_alive(0, None)  # nothing recorded: never called gone


def test_a_store_pickles_without_its_connections(tmp_path: Path) -> None:
    import pickle

    from mlrig.testing.metadata import make_run

    store = SQLMetadataStore("runs", sqlite_file=tmp_path / "m.db")
    run = make_run()
    store.create_run(run)
    copy = pickle.loads(pickle.dumps(store))
    assert copy.get_run(run.id) == run
    copy.close()
    store.close()
