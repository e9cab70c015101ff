"""A local store lists a type's components through one JSON copy of the type directory
(``fsutil.read_yaml_mappings``): the YAML files stay the one source of truth, so every
change made to them — by mlrig, by hand, behind mlrig's back — is what the next listing
shows, and a copy that is broken, linked or of the wrong shape is never trusted."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlrig.fsutil
from mlrig.exceptions import CorruptFileError
from mlrig.fsutil import read_yaml_mappings
from mlrig.models import Component, ComponentType
from mlrig.stores.local import LocalStore

A = ComponentType.ARTIFACT_STORE
CACHE = ".components.cache.json"


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    store = LocalStore(str(tmp_path / "store"))
    store.initialize()
    with store.write() as txn:
        for i in range(5):
            txn.create_component(Component(A, f"a{i}", "local", {"path": f"/srv/{i}"}))
    return store


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The files the YAML parser is run on, from here on."""
    seen: list[str] = []
    real = mlrig.fsutil.parse_yaml

    def counting(text: str, path: Path | str) -> Any:
        seen.append(Path(path).name)
        return real(text, path)

    monkeypatch.setattr(mlrig.fsutil, "parse_yaml", counting)
    yield seen


def type_dir(store: LocalStore) -> Path:
    return store.root / "components" / A.value


def listed(store: LocalStore) -> dict[str, dict[str, Any]]:
    with store.read() as view:
        return {c.name: c.config for c in view.list_components(A)}


def test_a_second_listing_parses_no_file(store: LocalStore, parses: list[str]) -> None:
    first = listed(store)
    assert (type_dir(store) / CACHE).is_file()
    parses.clear()
    assert listed(store) == first
    assert parses == []
    assert oct((type_dir(store) / CACHE).stat().st_mode & 0o777) == "0o600"  # configs: secrets


def test_changes_by_hand_are_seen(store: LocalStore, parses: list[str]) -> None:
    listed(store)
    a1 = type_dir(store) / "a1.yaml"
    before = a1.stat()
    text = a1.read_text()
    # same size, same mtime: only the checksum tells
    a1.write_text(text.replace("/srv/1", "/srv/9"))
    os.utime(a1, ns=(before.st_atime_ns, before.st_mtime_ns))
    (type_dir(store) / "a2.yaml").unlink()
    parses.clear()
    assert listed(store) == {"a0": {"path": "/srv/0"}, "a1": {"path": "/srv/9"},
                             "a3": {"path": "/srv/3"}, "a4": {"path": "/srv/4"}}
    assert parses == ["a1.yaml"]
    cached = json.loads((type_dir(store) / CACHE).read_text())["entries"]
    assert sorted(cached) == ["a0", "a1", "a3", "a4"]  # the gone file's entry dropped


def test_a_broken_file_is_reported_though_a_copy_of_it_exists(store: LocalStore) -> None:
    listed(store)
    (type_dir(store) / "a3.yaml").write_text("version: 1\nname: [\n")
    with pytest.raises(CorruptFileError, match=r"a3\.yaml"):
        listed(store)


@pytest.mark.parametrize("content", ["{not json", '{"entries": []}', '[1, 2]',
                                     '{"entries": {"a0": [[1, 2], {"name": "x"}], "a1": 3}}'])
def test_a_broken_copy_is_a_miss_and_is_rewritten(store: LocalStore, content: str) -> None:
    expected = listed(store)
    (type_dir(store) / CACHE).write_text(content)
    assert listed(store) == expected
    assert sorted(json.loads((type_dir(store) / CACHE).read_text())["entries"]) == \
        sorted(expected)


def test_a_linked_copy_is_neither_followed_nor_replaced(store: LocalStore, tmp_path: Path,
                                                        parses: list[str]) -> None:
    expected = listed(store)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text((type_dir(store) / CACHE).read_text())
    (type_dir(store) / CACHE).unlink()
    (type_dir(store) / CACHE).symlink_to(elsewhere)
    parses.clear()
    assert listed(store) == expected
    assert len(parses) == len(expected)  # the link's content was not used
    assert (type_dir(store) / CACHE).is_symlink()
    assert json.loads(elsewhere.read_text())["entries"].keys() == expected.keys()


def test_a_transaction_lists_its_own_writes(store: LocalStore) -> None:
    listed(store)
    with store.write() as txn:
        txn.update_component(Component(A, "a1", "local", {"path": "/srv/new"}))
        txn.delete_component(A, "a2")
        txn.create_component(Component(A, "a5", "local", {"path": "/srv/5"}))
        inside = {c.name: c.config["path"] for c in txn.list_components(A)}
    assert inside == {"a0": "/srv/0", "a1": "/srv/new", "a3": "/srv/3", "a4": "/srv/4",
                      "a5": "/srv/5"}
    assert {k: v["path"] for k, v in listed(store).items()} == inside


def test_content_json_cannot_carry_is_parsed_each_time(tmp_path: Path,
                                                       parses: list[str]) -> None:
    (tmp_path / "d.yaml").write_text("version: 1\nwhen: 2026-12-02\n")
    (tmp_path / "p.yaml").write_text("version: 1\nv: plain\n")
    copy = tmp_path / CACHE
    for i in range(3):
        got = read_yaml_mappings(tmp_path, ["d", "p", "gone"], 1, "test file", CACHE)
        assert got == {"d": {"version": 1, "when": dt.date(2026, 12, 2)},
                       "p": {"version": 1, "v": "plain"}, "gone": None}
        if i == 0:
            written = copy.stat().st_mtime_ns, copy.stat().st_ino
    assert parses == ["d.yaml", "p.yaml", "d.yaml", "d.yaml"]
    # the copy holds the date's key alone, and is not written again on every read
    assert json.loads(copy.read_text())["entries"]["d"][1] is None
    assert (copy.stat().st_mtime_ns, copy.stat().st_ino) == written
