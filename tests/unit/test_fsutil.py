from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mlrig.config.global_config import CONFIG_VERSION
from mlrig.exceptions import CorruptFileError
from mlrig.fsutil import (
    FileLock,
    atomic_write,
    ensure_dir,
    read_yaml_mapping,
    write_yaml,
)


def test_atomic_write_creates_private_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "file.yaml"
    atomic_write(target, "a: 1\n")
    assert target.read_text() == "a: 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700
    atomic_write(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["file.yaml"]  # no temp left


def test_ensure_dir_existing_is_untouched(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    ensure_dir(tmp_path)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "empty or not a mapping"),
        ("- a\n- b\n", "empty or not a mapping"),
        ("a: [1\n", "not valid YAML"),
        ("a: 1\n", "no valid format version"),
        ("version: '1'\n", "no valid format version"),
        (f"version: {CONFIG_VERSION + 1}\n", "newer than this mlrig supports"),
        ("version: 1\nx: !!python/object/apply:os.system ['echo hi']\n", "not valid YAML"),
    ],
)
def test_read_yaml_mapping_reports_path(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(content)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_yaml_mapping(path, CONFIG_VERSION, "test file")
    assert str(path) in info.value.message
    assert path.read_text() == content


def test_binary_file_reported(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CorruptFileError, match="not valid UTF-8"):
        read_yaml_mapping(path, 1, "test file")


def test_cached_read_follows_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write_yaml(path, {"version": 1, "v": "one"}, cached=True)
    assert read_yaml_mapping(path, 1, "f", cached=True) == {"version": 1, "v": "one"}
    # an edit by hand (not through mlrig) must be seen, not the cached copy
    path.write_text("version: 1\nv: two-edited-by-hand\n")
    assert read_yaml_mapping(path, 1, "f", cached=True)["v"] == "two-edited-by-hand"
    assert read_yaml_mapping(path, 1, "f", cached=True)["v"] == "two-edited-by-hand"
    # a broken file is reported even if a cache exists for an older version of it
    path.write_text("version: 1\nv: [\n")
    with pytest.raises(CorruptFileError):
        read_yaml_mapping(path, 1, "f", cached=True)


def test_lock_is_reentrant_and_exclusive(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / ".lock", timeout=0.2)
    other = FileLock(tmp_path / ".lock", timeout=0.2)
    with lock.exclusive(), lock.exclusive():
        from mlrig.exceptions import LockTimeoutError

        with pytest.raises(LockTimeoutError, match="Timed out"), other.shared():
            pass
    with other.exclusive():
        pass
