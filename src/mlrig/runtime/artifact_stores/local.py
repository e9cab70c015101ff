"""The ``local`` artifact store: content-addressed files in a directory.

The bytes of ``sha256:<hex>`` live at ``<path>/artifacts/sha256/<hex[:2]>/<hex>``. A write
goes to a temp file in the same directory, is fsynced and renamed over the final name
(:func:`mlrig.fsutil.atomic_write`): a reader never sees a partial object, and two
processes storing the same bytes at once both succeed with one copy. The directory ``path``
is the user's choice and trusted; below it no symbolic link is followed (a linked
``artifacts/`` or object is refused, never written through).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrig.exceptions import InputError, MlrigError, NotFoundError, StoreError
from mlrig.fsutil import (
    PRIVATE_FILE_MODE,
    atomic_write,
    ensure_dir,
    fs_error,
    open_dir,
    symlink_error,
)
from mlrig.runtime.artifact_stores import check_content, digest_of, relative_key_path
from mlrig.runtime.registry import RuntimeContext, local_path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(
    os, "O_CLOEXEC", 0)


class LocalArtifactStore:
    """Artifacts in the directory ``root`` (see the module's docstring)."""

    def __init__(self, root: Path, name: str = "local", shown_root: str | None = None) -> None:
        self.root = root
        self.name = name
        #: how the root is shown and recorded: the secret reference ``path`` came from, if
        #: it was one (never the resolved directory), else the directory itself
        self.shown_root = shown_root if shown_root is not None else str(root)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: RuntimeContext) -> LocalArtifactStore:
        raw = config.get("path")
        if not isinstance(raw, str) or not raw.strip():
            raise InputError(f"The artifact store '{context.component_name}' has no 'path'.")
        path = local_path(raw, context, "path", "artifact store")
        return cls(path.resolve(), context.component_name, context.references.get("path"))

    # ------------------------------------------------------------------ the protocol
    @property
    def identity(self) -> str:
        return f"local:{self.shown_root}"

    def uri(self, key: str) -> str:
        return self._shown(self.root / relative_key_path(key))

    def check(self) -> None:
        """The directory exists or can be made, and a file can be created in it."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"The artifact store '{self.name}' cannot use "
                             f"'{self.shown_root}': it is not a directory.")
        try:
            ensure_dir(self.root)
            directory = ensure_dir(self.root / "artifacts", root=self.root)
        except StoreError as exc:
            raise StoreError(f"The artifact store '{self.name}' cannot use '{self.shown_root}': "
                             f"{exc.message[:1].lower()}{exc.message[1:]}", hint=exc.hint,
                             library_hint=exc.library_hint) from None
        try:
            dir_fd = open_dir(directory, self.root)
        except OSError as exc:
            raise self._error(exc, "open", directory) from None
        probe = f".mlrig-check.{os.urandom(6).hex()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW,
                         PRIVATE_FILE_MODE, dir_fd=dir_fd)
            os.close(fd)
            os.unlink(probe, dir_fd=dir_fd)
        except OSError as exc:
            raise self._error(exc, "write to", directory) from None
        finally:
            os.close(dir_fd)

    def has(self, key: str) -> bool:
        return self._stored_size(self.root / relative_key_path(key)) is not None

    def put(self, key: str, data: bytes) -> str:
        target = self.root / relative_key_path(key)
        check_content(key, data, f"the artifact store '{self.name}'")
        if self._stored_size(target) == len(data):
            return self.uri(key)  # the same bytes are stored once
        atomic_write(target, data, mode=PRIVATE_FILE_MODE, root=self.root)
        return self.uri(key)

    def get(self, key: str) -> bytes:
        target = self.root / relative_key_path(key)
        try:
            dir_fd = open_dir(target.parent, self.root)
        except (FileNotFoundError, NotADirectoryError):
            raise self._missing(key) from None
        except OSError as exc:
            raise self._error(exc, "read", target) from None
        try:
            fd = os.open(target.name, _READ_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            raise self._missing(key) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise symlink_error(target) from None
            raise self._error(exc, "read", target) from None
        finally:
            os.close(dir_fd)
        with open(fd, "rb") as handle:  # closes fd
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StoreError(f"The artifact '{self._shown(target)}' is not a regular file; "
                                 "mlrig will not read it.")
            data = handle.read()
        if digest_of(data) != key:
            raise StoreError(
                f"The artifact '{self._shown(target)}' is damaged: its content does not match "
                "its digest.",
                hint="Remove the file; the step that wrote it stores it again on its next "
                "run without the cache.",
            )
        return data

    # ------------------------------------------------------------------ helpers
    def _shown(self, path: Path) -> str:
        """``path`` (below the root) as shown: with the root as :attr:`shown_root`."""
        try:
            inner = path.relative_to(self.root)
        except ValueError:
            return str(path)
        return self.shown_root if inner == Path(".") else f"{self.shown_root}/{inner}"

    def _stored_size(self, target: Path) -> int | None:
        """The size of the object at ``target``, ``None`` when there is none."""
        try:
            dir_fd = open_dir(target.parent, self.root)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._error(exc, "read", target.parent) from None
        try:
            info = os.stat(target.name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(exc, "read", target) from None
        finally:
            os.close(dir_fd)
        if stat.S_ISLNK(info.st_mode):
            raise symlink_error(target)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"The artifact '{self._shown(target)}' is not a regular file; "
                             "mlrig will not use it.")
        return info.st_size

    def _missing(self, key: str) -> NotFoundError:
        return NotFoundError(f"The artifact store '{self.name}' ('{self.shown_root}') holds no "
                             f"artifact '{key}'.")

    def _error(self, exc: OSError, doing: str, path: Path) -> MlrigError:
        """``The artifact store 'x' cannot <doing> '<path>': <cause>.`` (a ReadOnlyError
        for a read-only file system, as :func:`mlrig.fsutil.fs_error` says)."""
        base = fs_error(exc, doing, path)
        cause = exc.strerror or str(exc) or type(exc).__name__
        return type(base)(f"The artifact store '{self.name}' cannot {doing} '{self._shown(path)}': "
                          f"{cause}.", hint=base.hint, library_hint=base.library_hint)
