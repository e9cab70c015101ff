"""Hostile files in the config dir, a store or a repository, through the real executable.

* a symbolic link mlrig did not create — a lock file, ``pending/``, a pending record, a
  component type directory or ``components/`` — is refused, never followed: nothing is
  created or written outside, and the link is left as it was;
* a FIFO (or another non-regular file) where mlrig reads a file is refused without blocking
  (the subprocess timeout is the guard), a FIFO read cache is merely not used;
* a store marker of a newer format is refused by reads and copies, naming file and versions;
* a component file whose name or type differs from its place is refused as corrupt.

Always: exit code 1, one ``Error:`` line, no traceback, nothing changed anywhere (lock files
and read caches, which hold no data, left out of the comparison).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mlrig.testing.hostile_fs import World, fs_snapshot, make_world, one_error_line, refused, works
from mlrig.testing.runs import run_mlrig_in


@pytest.fixture
def world(tmp_path: Path, config_dir: Path) -> World:
    return make_world(tmp_path, config_dir)


@pytest.fixture
def any_world(tmp_path: Path, config_dir: Path, store_type: str) -> World:
    """The world with the default profile on a local store, then on a SQLite store."""
    return make_world(tmp_path, config_dir)


# ----------------------------------------------------------------------------- links
def store_of(w: World) -> Path:
    assert w.store is not None, "a local store"
    return w.store


Where = Callable[[World], Path]

LOCKS: dict[str, tuple[Where, list[list[str]]]] = {
    "store lock": (lambda w: store_of(w) / ".lock",
                   [["stack", "list"], ["stack", "current"],
                    ["artifact-store", "register", "new", "-f", "local", "--path=/srv/x"]]),
    "config lock": (lambda w: w.config / "config.lock",
                    [["stack", "set", "--global", "dev"], ["profile", "create", "p2"]]),
    "repository lock": (lambda w: w.work / ".mlrig" / "config.lock",
                        [["stack", "set", "dev"], ["stack", "set", "default"]]),
}


@pytest.mark.parametrize("which", list(LOCKS))
@pytest.mark.parametrize("target", ["dangling", "existing"])
def test_a_linked_lock_file_is_never_followed(world: World, which: str, target: str) -> None:
    """``O_CREAT`` follows a link: a lock opened that way would make a file wherever the
    link points. It is opened with ``O_NOFOLLOW`` and refused."""
    where, commands = LOCKS[which]
    lock = where(world)
    planted = world.outside / ("planted.lock" if target == "dangling" else "keep.txt")
    lock.unlink()
    lock.symlink_to(planted)
    outside = fs_snapshot(world.outside)
    for args in commands:
        refused(world, args, lock)
    works(world, ["profile", "list"])  # reads that take no lock are not disturbed
    assert fs_snapshot(world.outside) == outside
    assert os.readlink(lock) == str(planted)


def test_a_linked_pending_dir_is_refused(world: World) -> None:
    """Operations record their intent in ``pending/``; linked elsewhere, every record would
    be written (and every crash recovery read) there."""
    pending = world.config / "pending"
    shutil.rmtree(pending, ignore_errors=True)
    pending.symlink_to(world.outside, target_is_directory=True)
    outside = fs_snapshot(world.outside)
    for args in (["stack", "rename", "dev", "dev2"], ["profile", "create", "p2"],
                 ["profile", "current"], ["stack", "list"]):
        refused(world, args, pending)
    assert fs_snapshot(world.outside) == outside
    pending.unlink()
    assert "dev" in works(world, ["stack", "list"]).stdout


def test_a_record_planted_through_a_link_is_not_acted_on(world: World) -> None:
    """A pending record linked from elsewhere that would delete a directory: refused."""
    victim = world.outside / "victim"
    victim.mkdir()
    (victim / "data").write_text("precious\n")
    record = world.outside / "record.yaml"
    record.write_text(yaml.safe_dump({"version": 1, "op": "delete_profile", "name": "gone",
                                      "url": "file:///nowhere", "dir": str(victim)}))
    pending = world.config / "pending"
    pending.mkdir(exist_ok=True)
    link = pending / "0123456789abcdef0123456789abcdef.yaml"
    link.symlink_to(record)
    outside = fs_snapshot(world.outside)
    for args in (["profile", "list"], ["profile", "current"], ["stack", "rename", "dev", "x"]):
        refused(world, args, link)
    assert fs_snapshot(world.outside) == outside


def _link_type_dir(w: World, how: str) -> tuple[Path, list[list[str]]]:
    assert w.store is not None
    components = w.store / "components"
    register = ["artifact-store", "register", "new", "-f", "local", "--path=/srv/new"]
    reads = [["artifact-store", "list"], ["artifact-store", "describe", "lake"],
             ["stack", "export", "dev", str(w.root / "out.yaml")]]
    if how == "type directory":
        link = components / "artifact_store"
        shutil.move(link, w.outside / "artifact_store")
        link.symlink_to(w.outside / "artifact_store", target_is_directory=True)
        return link, [*reads, register, ["artifact-store", "delete", "lake"]]
    if how == "components directory":
        shutil.move(components, w.outside / "components")
        components.symlink_to(w.outside / "components", target_is_directory=True)
        return components, [*reads, register]
    # a type with no directory yet, linked to a place that does not exist
    link = components / "container_registry"
    link.symlink_to(w.outside / "new-dir", target_is_directory=True)
    return link, [["container-registry", "list"],
                  ["container-registry", "register", "r", "-f", "default", "--uri=x"]]


@pytest.mark.parametrize("how", ["type directory", "components directory", "dangling"])
def test_a_linked_component_type_directory_is_refused(world: World, how: str) -> None:
    link, commands = _link_type_dir(world, how)
    outside = fs_snapshot(world.outside)
    for args in commands:
        refused(world, args, link)
    assert fs_snapshot(world.outside) == outside
    assert not (world.outside / "new-dir").exists()
    works(world, ["stack", "list"])  # what does not read components still works


def test_a_linked_component_file_is_not_replaced(world: World) -> None:
    """Writes refuse a linked file below the store (an update would otherwise write through
    it or silently turn it into a copy)."""
    assert world.store is not None
    lake = world.store / "components" / "artifact_store" / "lake.yaml"
    shutil.move(lake, world.outside / "lake.yaml")
    lake.symlink_to(world.outside / "lake.yaml")
    outside = fs_snapshot(world.outside)
    for args in (["artifact-store", "update", "lake", "--path=/srv/other"],
                 ["artifact-store", "rename", "lake", "sea"]):
        refused(world, args, lake)
    assert fs_snapshot(world.outside) == outside
    assert lake.is_symlink()


# ----------------------------------------------------------------------------- FIFOs
def _pending_record(w: World) -> Path:
    (w.config / "pending").mkdir(exist_ok=True)
    return w.config / "pending" / "0123456789abcdef0123456789abcdef.yaml"


FIFO_ANY_STORE: dict[str, tuple[Where, list[list[str]]]] = {
    "config.yaml": (lambda w: w.config / "config.yaml",
                    [["profile", "current"], ["stack", "current"], ["stack", "list"],
                     ["status"], ["profile", "create", "p2"]]),
    "repository": (lambda w: w.work / ".mlrig" / "config.yaml",
                   [["profile", "current"], ["stack", "list"], ["stack", "set", "dev"]]),
    "pending record": (_pending_record,
                       [["profile", "current"], ["stack", "list"],
                        ["stack", "rename", "dev", "dev2"]]),
}
FIFO_LOCAL_STORE: dict[str, tuple[Where, list[list[str]]]] = {
    "store.yaml": (lambda w: store_of(w) / "store.yaml",
                   [["stack", "current"], ["stack", "list"],
                    ["profile", "copy", "default", "copy"]]),
    "stacks.yaml": (lambda w: store_of(w) / "stacks.yaml",
                    [["stack", "current"], ["stack", "list"],
                     ["stack", "register", "s2", "-o", "default", "-m", "default", "-a",
                      "lake"]]),
    "component": (lambda w: store_of(w) / "components" / "artifact_store" / "lake.yaml",
                  [["artifact-store", "list"], ["artifact-store", "describe", "lake"],
                   ["artifact-store", "update", "lake", "--path=/srv/other"]]),
    "flavors.yaml": (lambda w: store_of(w) / "flavors.yaml",
                     [["artifact-store", "flavor", "list"]]),
    "store lock": (lambda w: store_of(w) / ".lock",
                   [["stack", "current"], ["stack", "list"],
                    ["artifact-store", "register", "new", "-f", "local", "--path=/x"]]),
    "journal": (lambda w: store_of(w) / ".journal.yaml",
                [["stack", "list"], ["stack", "current"]]),
}


def _as_fifo(w: World, path: Path) -> None:
    if path.exists():
        shutil.move(path, w.root / f"aside-{path.name}")
    os.mkfifo(path, 0o600)


def _fifo_refused(w: World, path: Path, commands: list[list[str]]) -> None:
    _as_fifo(w, path)
    for args in commands:
        refused(w, args, path)
    assert path.is_fifo()  # never replaced either


@pytest.mark.parametrize("which", list(FIFO_ANY_STORE))
def test_a_fifo_in_the_config_dir_or_repository_is_refused_without_blocking(
        any_world: World, which: str) -> None:
    where, commands = FIFO_ANY_STORE[which]
    _fifo_refused(any_world, where(any_world), commands)


@pytest.mark.parametrize("which", list(FIFO_LOCAL_STORE))
def test_a_fifo_in_a_local_store_is_refused_without_blocking(world: World, which: str) -> None:
    where, commands = FIFO_LOCAL_STORE[which]
    _fifo_refused(world, where(world), commands)


@pytest.mark.parametrize("which", ["config", "stacks", "repository", "components"])
def test_a_fifo_read_cache_is_not_used_and_does_not_block(world: World, which: str) -> None:
    """The JSON copies next to hot YAML files hold no data of their own: a FIFO in their
    place is a cache miss, and the answer is the same as before."""
    assert world.store is not None
    cache = {"config": world.config / ".config.yaml.cache.json",
             "stacks": world.store / ".stacks.yaml.cache.json",
             "repository": world.work / ".mlrig" / ".config.yaml.cache.json",
             "components": world.store / "components" / "artifact_store"
             / ".components.cache.json"}[which]
    expected = {args[0] + args[1]: works(world, args).stdout
                for args in (["stack", "current"], ["stack", "list"],
                             ["artifact-store", "list"])}
    cache.unlink(missing_ok=True)
    os.mkfifo(cache, 0o600)
    for args in (["stack", "current"], ["stack", "list"], ["profile", "current"],
                 ["artifact-store", "list"]):
        out = works(world, args).stdout
        if args[0] + args[1] in expected:
            assert out == expected[args[0] + args[1]]


@pytest.mark.parametrize("which", ["stack import", "profile import", "@FILE value",
                                   "password file"])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_device_given_as_a_file_is_refused_without_blocking(
        world: World, which: str, kind: str) -> None:
    """Files the user names: the bundle of an import, an ``@FILE`` attribute value, a SQL
    profile's password file. A FIFO nobody writes to would block forever, a device never
    ends."""
    given = world.outside / "given.yaml"
    if kind == "fifo":
        os.mkfifo(given, 0o600)
    else:
        given = Path("/dev/zero")
    args = {
        "stack import": ["stack", "import", str(given)],
        "profile import": ["profile", "import", str(given), "imported"],
        "@FILE value": ["artifact-store", "register", "new", "-f", "local", f"--path=@{given}"],
        "password file": ["profile", "create", "pg", "--store-type", "sql", "--url",
                          "postgresql+psycopg://mlrig@127.0.0.1:9/mlrig",
                          "--password-file", str(given)],
    }[which]
    refused(world, args, given)


# ----------------------------------------------------------------------------- newer versions
def test_a_newer_local_store_is_refused_by_reads_and_copies(world: World) -> None:
    """Writes refused a marker of a newer format; reads and ``profile copy`` read such a
    store as if it were this version. Now all refuse it, naming the file and both versions."""
    assert world.store is not None
    marker = world.store / "store.yaml"
    marker.write_text("version: 7\nkind: mlrig-local-store\n")
    out = world.root / "exported.yaml"
    for args in (["stack", "list"], ["stack", "describe", "dev"], ["artifact-store", "list"],
                 ["stack", "current"], ["profile", "copy", "default", "copied"],
                 ["profile", "export", "default", str(out)],
                 ["stack", "export", "dev", str(out)]):
        line = refused(world, args, marker)
        assert "7" in line and "(1)" in line, line
    assert not out.exists()


def test_attaching_to_a_newer_local_store_is_refused(world: World) -> None:
    """``profile create --url`` attaches to the store already there: not to a newer one."""
    assert world.store is not None
    other = world.root / "newer-store"
    shutil.copytree(world.store, other)
    (other / "store.yaml").write_text("version: 3\nkind: mlrig-local-store\n")
    line = refused(world, ["profile", "create", "attached", "--url", str(other)],
                   other / "store.yaml")
    assert "3" in line


def test_a_newer_sqlite_store_is_refused_by_reads_and_copies(tmp_path: Path, config_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    import sqlite3

    monkeypatch.setenv("MLRIG_DEFAULT_STORE_TYPE", "sql")
    w = make_world(tmp_path, config_dir)
    db = config_dir / "profiles" / "default" / "mlrig.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE mlrig_alembic_version SET version_num = 'f00dfeedbeef'")
    conn.close()
    for args in (["stack", "list"], ["stack", "current"], ["artifact-store", "list"],
                 ["profile", "copy", "default", "copied"]):
        line = refused(w, args, db)
        assert "f00dfeedbeef" in line


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize("variant", ["other name inside", "other type inside",
                                     "invalid file name"])
def test_a_component_file_must_hold_what_its_place_says(world: World, variant: str) -> None:
    """Listed under one name and found under another, the component could be neither
    updated nor deleted consistently: such a file is refused as corrupt, naming it."""
    assert world.store is not None
    directory = world.store / "components" / "artifact_store"
    lake = directory / "lake.yaml"
    doc = yaml.safe_load(lake.read_text())
    if variant == "other name inside":
        doc["name"] = "sea"
        lake.write_text(yaml.safe_dump(doc))
        bad = lake
    elif variant == "other type inside":
        doc["type"] = "orchestrator"
        lake.write_text(yaml.safe_dump(doc))
        bad = lake
    else:
        bad = directory / "bad*name.yaml"
        shutil.copy(lake, bad)
    commands = [["artifact-store", "list"]]
    if variant != "invalid file name":
        commands += [["artifact-store", "describe", "lake"],
                     ["stack", "export", "dev", str(world.root / "out.yaml")],
                     ["artifact-store", "update", "lake", "--path=/srv/other"],
                     ["artifact-store", "delete", "lake"]]
    for args in commands:
        refused(world, args, bad)
    if variant == "other name inside":  # and never found under the name inside it
        result = run_mlrig_in(world.config, "artifact-store", "describe", "sea", cwd=world.work)
        one_error_line(result.exit_code, result.stdout, result.stderr)
