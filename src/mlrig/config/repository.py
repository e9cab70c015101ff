"""Repositories: project directories made with ``mlrig init``.

A repository is a directory holding ``.mlrig/config.yaml`` with its own active profile and
stack. It is found by walking up from the current directory to the file-system root, or
named explicitly with ``MLRIG_REPOSITORY_PATH`` (no walking then). Whatever stands at
``.mlrig/config.yaml`` makes a repository, so that a FIFO or a link there is reported when
it is read instead of being silently skipped; ``.mlrig`` itself must be a real directory for
mlrig to write in it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrig.exceptions import CorruptFileError, InputError, StoreError
from mlrig.fsutil import (
    FileLock,
    atomic_write,
    ensure_dir,
    read_yaml_mapping,
    remove_file,
    write_yaml,
)

REPO_DIR = ".mlrig"
REPO_CONFIG_VERSION = 1
_GITIGNORE = ".gitignore"
#: what a first save may have made in ``.mlrig`` (removed again when it fails)
_MADE_BY_SAVE = ("config.yaml", ".config.yaml.cache.json", "config.lock", _GITIGNORE)
ENV_REPOSITORY_PATH = "MLRIG_REPOSITORY_PATH"


@dataclass
class RepositoryConfig:
    active_profile: str | None = None
    active_stack: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": REPO_CONFIG_VERSION,
            "active_profile": self.active_profile,
            "active_stack": self.active_stack,
        }


class Repository:
    """One repository root and its config file.

    ``root`` is the directory, ``path`` its ``.mlrig/config.yaml``, whose
    :class:`RepositoryConfig` (``load()``) pins an ``active_profile`` and ``active_stack``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_dir = root / REPO_DIR
        self.path = self.config_dir / "config.yaml"
        self.lock = FileLock(self.config_dir / "config.lock", root=root,
                             purpose=f"the repository configuration '{self.path}'")

    def exists(self) -> bool:
        return os.path.lexists(self.path)

    def load(self) -> RepositoryConfig:
        data = read_yaml_mapping(self.path, REPO_CONFIG_VERSION, "repository configuration",
                                 cached=True, check=self._parse)
        if data is None:
            return RepositoryConfig()
        return self._parse(data)

    def _parse(self, data: dict[str, Any]) -> RepositoryConfig:
        profile, stack = data.get("active_profile"), data.get("active_stack")
        for value in (profile, stack):
            if value is not None and not isinstance(value, str):
                raise CorruptFileError(
                    f"The repository configuration '{self.path}' is malformed; "
                    "mlrig will not overwrite it."
                )
        return RepositoryConfig(active_profile=profile, active_stack=stack)

    def save(self, config: RepositoryConfig) -> None:
        """Write the repository's file, making ``.mlrig`` first if needed. A save that made
        ``.mlrig`` and then fails (a full or read-only disk) removes it again: a failed
        ``mlrig init`` leaves nothing behind."""
        made_dir = not os.path.lexists(self.config_dir)
        try:
            ensure_dir(self.config_dir, mode=0o755, root=self.root)
            with self.lock.exclusive():
                ignore = self.config_dir / _GITIGNORE
                if not os.path.lexists(ignore):
                    # the pinned choice may be committed; the lock and read caches are local
                    atomic_write(ignore, "config.lock\n.*.cache.json\n", mode=0o644,
                                 root=self.root)
                write_yaml(self.path, config.to_dict(), cached=True, mode=0o644,
                           root=self.root)
        except BaseException:
            if made_dir:
                self._remove_made()
            raise

    def _remove_made(self) -> None:
        for name in _MADE_BY_SAVE:
            with contextlib.suppress(StoreError):
                remove_file(self.config_dir / name, root=self.root)
        with contextlib.suppress(OSError):
            os.rmdir(self.config_dir)  # only if empty: never what someone else put there

    def update(self, profile: str | None = None, stack: str | None = None,
               *, set_profile: bool = False, set_stack: bool = False) -> RepositoryConfig:
        """Change the repository's choice under its lock, re-reading the file first."""
        ensure_dir(self.config_dir, mode=0o755, root=self.root)
        with self.lock.exclusive():
            current = self.load()
            self._write_choice(current, profile, stack, set_profile, set_stack)
            return current

    def _write_choice(self, current: RepositoryConfig, profile: str | None, stack: str | None,
                      set_profile: bool, set_stack: bool) -> None:
        """Set the chosen parts of ``current`` and write it (the caller holds the lock)."""
        if set_profile:
            current.active_profile = profile
        if set_stack:
            current.active_stack = stack
        write_yaml(self.path, current.to_dict(), cached=True, mode=0o644, root=self.root)

    def update_if(self, condition: Callable[[RepositoryConfig], bool], *,
                  profile: str | None = None, stack: str | None = None,
                  set_profile: bool = False, set_stack: bool = False) -> bool:
        """Compare-and-set: change the repository's choice only if ``condition`` holds for
        what the file says *now*.

        The check and the write happen under one hold of the repository's lock, so a
        concurrent ``profile set`` or ``stack set`` is never overwritten by a decision taken
        before it (moving a pointer from an old name to a new one must not clobber a choice
        made in between). A repository whose file is gone is left alone. Returns whether the
        file was changed.
        """
        if not self.exists():
            return False
        with self.lock.exclusive():
            if not self.exists():
                return False
            current = self.load()
            if not condition(current):
                return False
            self._write_choice(current, profile, stack, set_profile, set_stack)
            return True


def find_repository(cwd: Path, env: Mapping[str, str]) -> Repository | None:
    """The repository in effect: ``MLRIG_REPOSITORY_PATH`` or the nearest enclosing one."""
    from mlrig import environment

    root = environment.directory(ENV_REPOSITORY_PATH, env)
    if root is not None:
        repo = Repository(root)
        if not repo.exists():
            raise InputError(
                f"{ENV_REPOSITORY_PATH} points at '{root}', which is not an mlrig repository.",
                hint=f"Run 'mlrig init --path {root}' or unset {ENV_REPOSITORY_PATH}.",
                library_hint=f"Call client.init_repository('{root}') or unset "
                f"{ENV_REPOSITORY_PATH}.",
            )
        return repo
    current = cwd.resolve()
    for directory in (current, *current.parents):
        if os.path.lexists(directory / REPO_DIR / "config.yaml"):
            return Repository(directory)
    return None
