"""The JSON read cache of hot YAML files must never serve content the file no longer has.

Two atomic replaces in quick succession can leave a file with the same inode (ext4 hands
the freed inode of the previous version to the next temp file), the same size (a rename to
a name of the same length) and the same mtime: on file systems and kernels with coarse
timestamps (a clock tick of 1-10 ms; ext4 before Linux 6.13, many network file systems)
the mtime does not move between writes that close together. The test builds exactly that
situation by hand: same inode, same size, same mtime, different content.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlrig.testing.clients import quiet_client
from mlrig.testing.stores import store_of


def rewrite_keeping_stat(path: Path, old: bytes, new: bytes) -> None:
    """Change ``old`` to ``new`` (same length) in place; restore the mtime."""
    assert len(old) == len(new)
    before = os.stat(path)
    content = path.read_bytes()
    assert old in content
    with path.open("r+b") as handle:
        handle.write(content.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino, before.st_size, before.st_mtime_ns)


def test_global_config_with_unchanged_stat_is_reread(config_dir: Path) -> None:
    c = quiet_client(config_dir)
    c.config()
    c.create_profile("aaaa")
    c.create_profile("bbbb")
    c.set_profile("aaaa", global_=True)
    assert quiet_client(config_dir).config().active_profile == "aaaa"  # the cache is warm
    rewrite_keeping_stat(config_dir / "config.yaml", b"active_profile: aaaa",
                         b"active_profile: bbbb")
    assert quiet_client(config_dir).config().active_profile == "bbbb"


@pytest.mark.parametrize("rounds", [1, 3])
def test_stack_index_with_unchanged_stat_is_reread(config_dir: Path, rounds: int) -> None:
    c = quiet_client(config_dir)
    c.config()
    c.register_stack("s-one", {"orchestrator": "default", "metadata_store": "default",
                               "artifact_store": "default"})
    store_root = Path(store_of(c).root)  # type: ignore[attr-defined]
    names = ["s-one", "s-two"]
    for i in range(rounds):
        assert {s.name for s in quiet_client(config_dir).list_stacks()} == {"default", names[i % 2]}
        rewrite_keeping_stat(store_root / "stacks.yaml", names[i % 2].encode(),
                             names[(i + 1) % 2].encode())
        assert {s.name for s in quiet_client(config_dir).list_stacks()} == {"default",
                                                                      names[(i + 1) % 2]}
    # and a write based on what was read keeps the change (no lost update)
    quiet_client(config_dir).register_stack("s-three", {"orchestrator": "default",
                                                  "metadata_store": "default",
                                                  "artifact_store": "default"})
    assert {s.name for s in quiet_client(config_dir).list_stacks()} == {
        "default", names[rounds % 2], "s-three"}
