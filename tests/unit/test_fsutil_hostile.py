"""fsutil on hostile file systems: links below a root, FIFOs, failed writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlrig.exceptions import CorruptFileError, StoreError
from mlrig.fsutil import (
    FileLock,
    atomic_write,
    ensure_dir,
    open_dir,
    read_bytes,
    read_text,
    read_yaml_mapping,
    remove_file,
)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    directory = tmp_path / "outside"
    directory.mkdir()
    return directory


def test_atomic_write_below_a_root_refuses_a_linked_directory(tmp_path: Path,
                                                              outside: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StoreError, match="symbolic link"):
        atomic_write(root / "linked" / "deeper" / "f.yaml", "a: 1\n", root=root)
    with pytest.raises(StoreError, match="symbolic link"):
        ensure_dir(root / "linked" / "x", root=root)
    assert list(outside.iterdir()) == []
    # without a root (a path the user typed) a link is followed as before
    atomic_write(root / "linked" / "f.yaml", "a: 1\n")
    assert (outside / "f.yaml").read_text() == "a: 1\n"


def test_atomic_write_below_a_root_refuses_a_linked_file(tmp_path: Path, outside: Path) -> None:
    (outside / "target.yaml").write_text("theirs\n")
    (tmp_path / "f.yaml").symlink_to(outside / "target.yaml")
    with pytest.raises(StoreError, match="symbolic link"):
        atomic_write(tmp_path / "f.yaml", "ours\n", root=tmp_path)
    with pytest.raises(StoreError, match="symbolic link"):
        remove_file(tmp_path / "f.yaml", root=tmp_path)
    assert (tmp_path / "f.yaml").is_symlink()
    assert (outside / "target.yaml").read_text() == "theirs\n"


def test_open_dir_never_climbs_out_of_its_root(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="leaves"):
        open_dir(tmp_path / "a" / ".." / "..", tmp_path)


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "taken").mkdir(parents=True)  # a directory where the file should go
    with pytest.raises(StoreError, match="taken"):
        atomic_write(root / "taken", "x\n", root=root)
    assert sorted(p.name for p in root.iterdir()) == ["taken"]


def test_reads_refuse_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    with pytest.raises(StoreError, match="FIFO"):
        read_text(fifo)
    with pytest.raises(StoreError, match="FIFO"):
        read_yaml_mapping(fifo, 1, "test file", cached=True)
    with pytest.raises(OSError, match="regular file"):
        read_bytes(fifo)


def test_read_without_following_refuses_a_link(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_text("version: 1\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert read_text(tmp_path / "link.yaml") == "version: 1\n"
    with pytest.raises(StoreError, match="symbolic link"):
        read_text(tmp_path / "link.yaml", follow=False)
    with pytest.raises(CorruptFileError, match="directory"):
        read_text(tmp_path)


def test_a_linked_lock_file_is_refused_not_created(tmp_path: Path, outside: Path) -> None:
    (tmp_path / ".lock").symlink_to(outside / "planted")
    lock = FileLock(tmp_path / ".lock", timeout=0.2, root=tmp_path)
    for hold in (lock.shared, lock.exclusive):
        with pytest.raises(StoreError, match="symbolic link"), hold():
            pass
    assert list(outside.iterdir()) == []


def test_a_lock_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".lock")
    with pytest.raises(StoreError, match="not a regular file"), \
            FileLock(tmp_path / ".lock", timeout=0.2).shared():
        pass
