"""Snapshots of a directory tree, to prove that a command changed nothing (or what).

* :func:`snapshot` and :func:`diff` — every file and directory under a root, and the
  difference of two snapshots as ``+ added``, ``- removed``, ``~ changed`` lines;
* :func:`data_files` — only the data files (no lock files, no read caches), comparable
  with ``==``;
* :func:`assert_all_yaml_parses` — every YAML file mlrig wrote is a versioned mapping.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

#: lock files are created on first use by readers too; they hold no data
LOCK_NAMES = frozenset({".lock", "config.lock"})


def snapshot(root: Path, *, skip_locks: bool = True) -> dict[str, bytes | None]:
    """Every file (content) and directory (``None``, key ending in ``/``) under ``root``,
    by relative path; lock files left out unless ``skip_locks`` is false."""
    result: dict[str, bytes | None] = {}
    if not root.exists():
        return result
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for d in dirnames:
            result[str((base / d).relative_to(root)) + "/"] = None
        for f in filenames:
            if skip_locks and f in LOCK_NAMES:
                continue
            path = base / f
            result[str(path.relative_to(root))] = path.read_bytes()
    return result


def diff(before: dict[str, bytes | None], after: dict[str, bytes | None]) -> list[str]:
    """``+ path`` for what appeared, ``- path`` for what went, ``~ path`` for what changed."""
    changes = [f"+ {k}" for k in after.keys() - before.keys()]
    changes += [f"- {k}" for k in before.keys() - after.keys()]
    changes += [f"~ {k}" for k in before.keys() & after.keys() if before[k] != after[k]]
    return sorted(changes)


def data_files(root: Path) -> dict[str, bytes]:
    """Every data file under ``root`` by relative path (not lock files or read caches)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json")
            and p.name not in LOCK_NAMES}


def assert_all_yaml_parses(root: Path) -> int:
    """Every ``*.yaml`` under ``root`` is a mapping with an integer version; returns the count."""
    count = 0
    for path in root.rglob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict), f"{path} is not a mapping"
        assert isinstance(data.get("version"), int), f"{path} has no version"
        count += 1
    return count
