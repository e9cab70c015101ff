"""A full disk: every write fails, each in one line naming the file and what mlrig was doing,
and leaves nothing behind — no temp file, no half-written record, no empty directory.

Two real ways to run out of space, each a parameter:

* ``tmpfs``: the config dir and the repository live on a 4 MiB tmpfs filled to the last
  byte (needs root, else skipped) — writes fail with ENOSPC;
* ``rlimit``: the command runs with ``RLIMIT_FSIZE`` 0 — every write of a byte to a regular
  file fails with EFBIG, on any machine. (Creating empty files and directories still works
  in both cases, which is what makes "nothing left behind" worth checking.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrig.testing.hostile_fs import (
    GUARD,
    World,
    fill,
    make_world,
    one_error_line,
    run_without_space,
    small_disk,
)
from mlrig.testing.runs import Run, run_mlrig_in

CAUSES = ("No space left on device", "File too large")


class FullDisk:
    def __init__(self, world: World, how: str, filler: Path | None) -> None:
        self.world, self.how, self.filler = world, how, filler

    def run(self, args: list[str]) -> Run:
        w = self.world
        if self.how == "rlimit":
            return run_without_space(w.config, *args, cwd=w.work, timeout=GUARD)
        return run_mlrig_in(w.config, *args, cwd=w.work, timeout=GUARD)

    def refused(self, args: list[str]) -> str:
        before = self.world.snapshot()
        result = self.run(args)
        line = one_error_line(result.exit_code, result.stdout, result.stderr)
        assert any(cause in line for cause in CAUSES), (args, line)
        assert str(self.world.root) in line, (args, line)  # names the file
        after = self.world.snapshot()
        assert after == before, (args, sorted(set(after) ^ set(before)))
        return line

    def free(self) -> None:
        if self.filler is not None:
            self.filler.unlink()
        self.how = "free"


def _full(how: str, tmp_path: Path, config_dir: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[FullDisk]:
    if how == "rlimit":
        yield FullDisk(make_world(tmp_path, config_dir), how, None)
        return
    with small_disk(tmp_path / "disk", "4m") as disk:
        work = disk / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        world = make_world(disk, disk / "config")
        world.outside = tmp_path / "outside"  # not on the disk
        shutil.move(disk / "outside", world.outside)
        filler = fill(disk)
        world.skip = ("filler",)
        yield FullDisk(world, how, filler)
        monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["tmpfs", "rlimit"])
def full(request: pytest.FixtureRequest, tmp_path: Path, config_dir: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[FullDisk]:
    yield from _full(str(request.param), tmp_path, config_dir, monkeypatch)


# files of the config dir and the repository, whatever the store
CONFIG_WRITES: list[list[str]] = [
    ["stack", "rename", "dev", "dev2"],  # records its intent first
    ["profile", "create", "p2"],  # an intent, then a store
    ["profile", "copy", "default", "p3"],
    ["stack", "set", "--global", "dev"],  # config.yaml
    ["stack", "set", "dev"],  # the repository's file
]

# files of a local store
STORE_WRITES: list[list[str]] = [
    ["artifact-store", "register", "new", "-f", "local", "--path=/srv/new"],  # one file
    ["artifact-store", "rename", "lake", "sea"],  # several files: the journal first
    ["stack", "register", "s2", "-o", "default", "-m", "default", "-a", "lake"],
    ["stack", "delete", "dev", "-y"],
]


def test_recording_a_pending_operation_on_a_full_disk(full: FullDisk) -> None:
    """The reproduction: ``stack rename`` said ``unexpected OSError ... No space left on
    device`` without a path; the other operations that keep an intent, and the plain
    config writes, alike."""
    for args in CONFIG_WRITES:
        line = full.refused(args)
        if args[0] == "stack" and args[1] == "rename":
            assert "pending" in line and "rename of stack 'dev'" in line, line
    full.free()  # nothing is stuck: the same operations work once there is space
    for args in (["stack", "rename", "dev", "dev2"], ["profile", "create", "p2"]):
        result = full.run(args)
        assert result.exit_code == 0, (args, result.stderr)


@pytest.mark.parametrize("new_store", ["local", "sql"])
def test_creating_a_profile_on_a_full_disk(full: FullDisk, new_store: str) -> None:
    """A new profile of either store type: its intent is refused before any store exists
    (SQLite itself needs room to read a database: a SQLite profile's reads are not
    covered here)."""
    line = full.refused(["profile", "create", "p2", "--store-type", new_store])
    assert "creation of profile 'p2'" in line, line
    full.free()
    result = full.run(["profile", "create", "p2", "--store-type", new_store])
    assert result.exit_code == 0, result.stderr


def test_store_writes_on_a_full_disk(full: FullDisk) -> None:
    for args in STORE_WRITES:
        full.refused(args)
    full.free()
    result = full.run(["artifact-store", "rename", "lake", "sea"])
    assert result.exit_code == 0, result.stderr


def test_mlrig_init_on_a_full_disk_leaves_no_empty_repository(full: FullDisk) -> None:
    """``init`` made ``.mlrig/`` and then failed to write in it, leaving an empty ``.mlrig``
    that made every later ``init`` answer "Found existing mlrig repository"."""
    project = full.world.root / "project"
    project.mkdir()
    line = full.refused(["init", "--path", str(project)])
    assert str(project) in line
    assert list(project.iterdir()) == []
    full.free()
    assert full.run(["init", "--path", str(project)]).exit_code == 0


def test_an_export_to_a_full_disk_leaves_no_partial_file(full: FullDisk) -> None:
    target = full.world.root / "dev.yaml"
    line = full.refused(["stack", "export", "dev", str(target)])
    assert str(target) in line
    assert not target.exists()
