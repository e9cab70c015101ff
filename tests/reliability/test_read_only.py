"""A read-only configuration (a read-only mount, a shared or backed-up config dir).

Each command runs in its own mount namespace where the config dir and the repository are
bind-mounted read-only (see ``_hostile_fs.run_read_only``): a real ``EROFS``, even as root.
Read commands work and print what they print on a writable config; writes fail with one
line saying what is read-only and naming it; nothing is changed; an unfinished operation is
finished by the first command that can write.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from mlrig.models import ComponentType, Stack
from mlrig.testing.clients import quiet_client
from mlrig.testing.hostile_fs import (
    World,
    make_world,
    one_error_line,
    refused,
    require_mount_namespace,
    run_in,
    works,
)
from mlrig.testing.stores import store_of


@pytest.fixture
def world(tmp_path: Path, config_dir: Path, store_type: str) -> World:
    """The default profile on a local store, then on a SQLite store."""
    require_mount_namespace()
    return make_world(tmp_path, config_dir)


@pytest.fixture
def local_world(tmp_path: Path, config_dir: Path) -> World:
    require_mount_namespace()
    return make_world(tmp_path, config_dir)


def frozen(w: World) -> list[Path]:
    return [w.config, w.work]


READS: list[list[str]] = [
    ["profile", "current"], ["stack", "current"], ["profile", "list"], ["profile", "describe"],
    ["stack", "list"], ["stack", "list", "-o", "json"], ["stack", "describe", "dev"],
    ["artifact-store", "list"], ["artifact-store", "describe", "lake"],
    ["artifact-store", "flavor", "list"], ["status"],
]


def test_read_commands_work_on_a_read_only_config(world: World) -> None:
    """``stack list`` and ``status`` opened the store's shared lock for writing, and a
    read-only SQLite file could not be opened at all."""
    expected = {tuple(args): works(world, args).stdout for args in READS}
    before = world.snapshot()
    for args in READS:
        result = works(world, args, read_only=frozen(world))
        assert result.stdout == expected[tuple(args)], args
        assert "Warning" not in result.stderr, (args, result.stderr)
    assert world.snapshot() == before
    # exports write elsewhere: only their target needs to be writable
    for args in (["stack", "export", "dev", str(world.outside / "dev.yaml")],
                 ["profile", "export", "default", str(world.outside / "default.yaml")]):
        works(world, args, read_only=frozen(world))
        assert yaml.safe_load(Path(args[-1]).read_text())["format_version"] >= 1


WRITES: list[list[str]] = [
    ["artifact-store", "register", "new", "-f", "local", "--path=/srv/new"],
    ["artifact-store", "update", "lake", "--path=/srv/other"],
    ["stack", "register", "s2", "-o", "default", "-m", "default", "-a", "lake"],
    ["stack", "delete", "dev", "-y"],
    ["stack", "set", "dev"],  # the repository's file
    ["stack", "set", "--global", "dev"],  # config.yaml
    ["profile", "set", "--global", "default"],
    ["stack", "rename", "dev", "dev2"],  # records its intent first
    ["profile", "create", "p2"],
    ["profile", "copy", "default", "p3"],
    ["stack", "import", "BUNDLE", "--rename-conflicts"],
]


def test_writes_on_a_read_only_config_say_so_in_one_line(world: World) -> None:
    bundle = world.outside / "dev.yaml"
    works(world, ["stack", "export", "dev", str(bundle)])
    for args in WRITES:
        args = [str(bundle) if a == "BUNDLE" else a for a in args]
        line = refused(world, args, read_only=frozen(world))
        assert "read-only" in line.lower(), (args, line)
        assert str(world.root) in line, (args, line)  # names what is read-only
    works(world, ["artifact-store", "register", "new", "-f", "local", "--path=/srv/new"])


def test_mlrig_init_in_a_read_only_directory_leaves_nothing(local_world: World) -> None:
    project = local_world.root / "project"
    project.mkdir()
    line = refused(local_world, ["init", "--path", str(project)],
                   read_only=[*frozen(local_world), project])
    assert str(project) in line
    assert list(project.iterdir()) == []


def test_a_read_only_store_with_an_unfinished_commit(local_world: World) -> None:
    """A half-applied commit must be finished before the store is read: where the store is
    read-only that cannot happen, which the read says (instead of reading a torn state);
    the first command that can write finishes it."""
    w = local_world
    assert w.store is not None
    extra = {"version": 1, "id": "f" * 32, "type": "orchestrator", "name": "extra",
             "flavor": "local", "config": {}}
    journal = w.store / ".journal.yaml"
    journal.write_text(yaml.safe_dump({"version": 1, "writes": {
        "components/orchestrator/extra.yaml": yaml.safe_dump(extra)}}))
    line = refused(w, ["orchestrator", "list"], journal, read_only=frozen(w))
    assert "read-only" in line
    assert "extra" in works(w, ["orchestrator", "list"]).stdout
    assert not journal.exists()


def test_an_unfinished_operation_on_a_read_only_config_is_a_warning(world: World) -> None:
    """A crashed stack rename (the store renamed the stack, config.yaml still names the old
    one): it cannot be finished on a read-only config dir, so reads go on with a warning;
    the first command that can write finishes it."""
    c = quiet_client(world.config)
    c.set_stack("dev", global_=True)
    with store_of(c).write() as txn:
        stack = txn.get_stack("dev")
        assert stack is not None
        txn.update_stack(Stack("dev2", dict(stack.components)), old_name="dev")
    c.close()
    (world.config / "pending").mkdir(exist_ok=True)
    record = world.config / "pending" / ("ab" * 16 + ".yaml")
    record.write_text(yaml.safe_dump({"version": 1, "op": "rename_stack",
                                      "profile": "default", "old": "dev", "new": "dev2",
                                      "repo_root": None}))
    before = world.snapshot()
    result = run_in(world, ["stack", "list"], read_only=frozen(world))
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning")]
    assert len(warnings) == 1 and str(record) in warnings[0], result.stderr
    assert "dev2" in result.stdout
    assert world.snapshot() == before
    works(world, ["stack", "list"])
    assert not record.exists()
    config = yaml.safe_load((world.config / "config.yaml").read_text())
    assert config["profiles"]["default"]["active_stack"] == "dev2"


def test_a_read_only_sqlite_store_in_use_elsewhere_is_read(tmp_path: Path, config_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """With its ``-wal`` and ``-shm`` files present (another process has the database
    open), the read-only database is read through them: a write made there is seen."""
    require_mount_namespace()
    monkeypatch.setenv("MLRIG_DEFAULT_STORE_TYPE", "sql")
    w = make_world(tmp_path, config_dir)
    db = config_dir / "profiles" / "default" / "mlrig.db"
    holder = sqlite3.connect(db)
    try:
        holder.execute("PRAGMA wal_autocheckpoint = 0")
        holder.execute("SELECT count(*) FROM mlrig_stacks").fetchall()  # opens the WAL
        c = quiet_client(config_dir)
        c.register_component(ComponentType.ORCHESTRATOR, "fresh", "local", {})
        c.close()
        assert db.with_name("mlrig.db-wal").stat().st_size > 0
        listing = works(w, ["orchestrator", "list"], read_only=frozen(w))
        assert "fresh" in listing.stdout
        result = run_in(w, ["orchestrator", "delete", "fresh"], read_only=frozen(w))
        line = one_error_line(result.exit_code, result.stdout, result.stderr)
        assert "read-only" in line and str(db) in line
    finally:
        holder.close()



def test_a_read_only_copy_without_lock_files_is_read(local_world: World) -> None:
    """A backup or an image often leaves the (empty) lock files out; where they cannot be
    created, readers read without them (no writer can use that file system either)."""
    w = local_world
    assert w.store is not None
    expected = works(w, ["stack", "describe", "dev"]).stdout
    for lock in (w.store / ".lock", w.config / "config.lock", w.work / ".mlrig" / "config.lock"):
        lock.unlink(missing_ok=True)
    assert works(w, ["stack", "describe", "dev"], read_only=frozen(w)).stdout == expected
    assert not (w.store / ".lock").exists()
    line = refused(w, ["stack", "delete", "dev", "-y"], w.store, read_only=frozen(w))
    assert "read-only" in line
