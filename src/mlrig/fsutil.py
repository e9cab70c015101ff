"""Crash-safe files: atomic writes, kernel-released locks, strict YAML reading.

* :func:`atomic_write` writes a temp file in the same directory, fsyncs it, ``os.replace``s it
  over the target and fsyncs the directory: a reader sees the old or the new file, never a
  torn one, whatever happens to the writer.
* :class:`FileLock` is an ``fcntl.flock`` lock. The kernel drops it when the process dies, so a
  crashed writer never leaves a stale lock behind (unlike O_EXCL lock files). The standard
  library is used instead of a lock package because this sits on every command's start-up path.
  On a read-only file system a reader's shared lock is taken on a read-only descriptor.
* :func:`read_yaml_mapping` parses with the safe loader only (no ``!!python`` tags) and turns
  every failure into a :class:`CorruptFileError` naming the file.

Hostile file systems
    Below a *root* (the config dir, a store's directory, a repository: chosen by the user and
    resolved once), directories are opened one component at a time with ``O_NOFOLLOW`` and
    files are created, replaced and removed relative to the directory's descriptor: a
    symbolic link mlrig did not create — a linked ``pending/`` or component type directory, a
    linked lock file — is refused, never followed, so nothing is ever created or written
    outside the root. Files are read with ``O_NONBLOCK`` after a ``stat``: a FIFO, socket or
    device is refused instead of blocking the command. Every ``OSError`` becomes a one-line
    :class:`StoreError` naming the path and what mlrig was doing (a :class:`ReadOnlyError` for
    a read-only file system or a directory this user may not write), and a failed write leaves
    no temp file behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from mlrig.environment import LOCK_TIMEOUT_AT_START
from mlrig.exceptions import (
    CorruptFileError,
    LockTimeoutError,
    ReadOnlyError,
    StoreError,
    shown_text,
)

#: MLRIG_LOCK_TIMEOUT as of import (a bad value: the default here, an error from
#: :func:`mlrig.environment.check`, which every command runs first)
DEFAULT_LOCK_TIMEOUT = LOCK_TIMEOUT_AT_START
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
#: errors of a change on a read-only mount or in a directory this user may not write
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})
_READ_ONLY_HINT = "Read commands still work; a change needs a writable copy of it."


# ---------------------------------------------------------------------------- errors
def fs_error(exc: OSError, doing: str, path: Path | str) -> StoreError:
    """``Cannot <doing> '<path>': <cause>.`` — a :class:`ReadOnlyError` when the cause is a
    read-only file system or a missing write permission."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    message = f"Cannot {doing} '{path}': {cause}."
    if exc.errno in READ_ONLY_ERRNOS:
        return ReadOnlyError(message)
    if exc.errno in _FULL_ERRNOS:
        return StoreError(message, hint="Free some space and try again.")
    return StoreError(message)


def symlink_error(path: Path | str) -> StoreError:
    return StoreError(
        f"'{path}' is a symbolic link; mlrig does not follow or replace links it did not "
        "create.",
        hint="Replace the link with the real directory or file, or remove it.",
    )


class NotRegularFileError(OSError):
    """A FIFO, socket or device where mlrig reads a file."""


class FileTooLargeError(OSError):
    """A file over the size limit of what mlrig reads."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _not_regular(path: Path | str, mode: int) -> OSError:
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    return NotRegularFileError(errno.EINVAL, f"it is {_kind(mode)}, not a regular file",
                               str(path))


# ---------------------------------------------------------------------------- directories
def _make_dirs(path: Path, mode: int) -> None:
    """Create ``path`` and its missing parents (following links: the caller trusts it)."""
    if path.is_dir():
        return
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=mode)
        except FileExistsError:
            if not directory.is_dir():
                raise


def _is_link_at(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _open_dir_at(parent_fd: int, name: str, path: Path, create: bool, mode: int) -> int:
    try:
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent_fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        if _is_link_at(parent_fd, name):
            raise symlink_error(path) from None
        if exc.errno == errno.ELOOP:
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                     str(path)) from None
        raise
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, mode, dir_fd=parent_fd)
    return _open_dir_at(parent_fd, name, path, False, mode)


def open_dir(directory: Path, root: Path | None = None, *, create: bool = False,
             mode: int = PRIVATE_DIR_MODE) -> int:
    """A descriptor of ``directory`` (the caller closes it).

    ``root`` and the directories above it are trusted (opened normally); every directory
    between ``root`` and ``directory`` is opened with ``O_NOFOLLOW``, so a symbolic link
    there raises a :class:`StoreError` instead of leading elsewhere. With ``create``,
    missing directories are made with ``mode``. Other failures raise ``OSError``.
    """
    top = directory
    parts: tuple[str, ...] = ()
    if root is not None and directory != root:
        try:
            parts = directory.relative_to(root).parts
            top = root
        except ValueError:
            pass
        if ".." in parts:
            raise StoreError(f"Refusing to use '{directory}': it leaves '{root}'.")
    if create:
        _make_dirs(top, mode)
    fd = os.open(top, _DIR_FLAGS)
    for index, part in enumerate(parts):
        try:
            child = _open_dir_at(fd, part, top.joinpath(*parts[: index + 1]), create, mode)
        finally:
            os.close(fd)
        fd = child
    return fd


def ensure_dir(path: Path, mode: int = PRIVATE_DIR_MODE, root: Path | None = None) -> Path:
    """Create ``path`` (and missing parents) if missing; every new directory gets ``mode``.
    Below ``root`` (see :func:`open_dir`) a symbolic link is refused."""
    if root is None and path.is_dir():
        return path
    try:
        os.close(open_dir(path, root, create=True, mode=mode))
    except OSError as exc:
        raise fs_error(exc, "create the directory", path) from None
    return path


# ---------------------------------------------------------------------------- writing
def _fsync_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.fsync(fd)


def _refuse_link_at(dir_fd: int, name: str, path: Path) -> None:
    if _is_link_at(dir_fd, name):
        raise symlink_error(path)


def _create_temp(dir_fd: int) -> tuple[str, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    for _ in range(100):
        name = f".mlrig.{os.urandom(8).hex()}.tmp"
        try:
            return name, os.open(name, flags, PRIVATE_FILE_MODE, dir_fd=dir_fd)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name")


def write_all(fd: int, payload: bytes) -> None:
    """``os.write`` until everything is written (a write may be short)."""
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def atomic_write(path: Path, data: str | bytes, mode: int = PRIVATE_FILE_MODE,
                 durable: bool = True, create_parents: bool = True, *,
                 root: Path | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (and durably, unless ``durable`` is off:
    for caches that may be lost). Missing parent directories are created (0700) unless
    ``create_parents`` is off (for paths a user typed). Below ``root`` no symbolic link is
    followed or replaced (see :func:`open_dir`). OS failures become StoreError; nothing is
    left behind by a failed write."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent
    try:
        dir_fd = open_dir(directory, root, create=create_parents)
    except (FileNotFoundError, NotADirectoryError):
        if create_parents:
            raise StoreError(f"Cannot write '{path}': '{directory}' is not a directory.") \
                from None
        raise StoreError(f"Cannot write '{path}': the directory '{directory}' does not "
                         "exist.") from None
    except OSError as exc:
        raise fs_error(exc, "write", path) from None
    try:
        if root is not None:
            _refuse_link_at(dir_fd, path.name, path)
        _replace_at(dir_fd, path, payload, mode, durable)
    finally:
        os.close(dir_fd)


def _replace_at(dir_fd: int, path: Path, payload: bytes, mode: int, durable: bool) -> None:
    try:
        tmp_name, fd = _create_temp(dir_fd)
    except OSError as exc:
        raise fs_error(exc, "write", path) from None
    try:
        try:
            write_all(fd, payload)
            if durable:
                os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp_name, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name, dir_fd=dir_fd)
        if isinstance(exc, OSError):
            raise fs_error(exc, "write", path) from None
        raise
    if durable:
        _fsync_fd(dir_fd)


def fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def remove_file(path: Path, root: Path | None = None) -> None:
    """Unlink ``path`` if present and make the removal durable. Below ``root`` a symbolic
    link (of a directory on the way, or the file itself) is refused."""
    try:
        dir_fd = open_dir(path.parent, root)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise fs_error(exc, "remove", path) from None
    try:
        if root is not None:
            _refuse_link_at(dir_fd, path.name, path)
        try:
            os.unlink(path.name, dir_fd=dir_fd)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise fs_error(exc, "remove", path) from None
        _fsync_fd(dir_fd)
    finally:
        os.close(dir_fd)


# ---------------------------------------------------------------------------- locks
class FileLock:
    """An advisory ``flock`` on ``path``; shared for readers, exclusive for writers.

    Re-entrant within one object: nested ``exclusive()`` blocks only lock once. The lock file
    is opened without following a link (nor, below ``root``, a linked directory) and must be
    a regular file. ``purpose`` names what the lock protects, for the error of a writer on a
    read-only file system ("the store at '...'"). A reader on a read-only file system locks a
    read-only descriptor; where even the lock file is missing there, it reads unlocked (no
    writer can use that file system either).
    """

    def __init__(self, path: Path, timeout: float | None = None, *, root: Path | None = None,
                 purpose: str | None = None) -> None:
        self.path = path
        self.timeout = DEFAULT_LOCK_TIMEOUT if timeout is None else timeout
        self.root = root
        self.purpose = purpose or f"the files in '{path.parent}'"
        self._fd: int | None = None
        self._depth = 0
        self._mode = 0

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._hold(fcntl.LOCK_EX):
            yield

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._hold(fcntl.LOCK_SH):
            yield

    @contextlib.contextmanager
    def _hold(self, mode: int) -> Iterator[None]:
        if self._depth and self._mode in (fcntl.LOCK_EX, mode):
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if self._depth:
            raise RuntimeError("cannot upgrade a shared mlrig lock to an exclusive one")
        self._acquire(mode)
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self._release()

    def _open_error(self, exc: OSError, mode: int) -> StoreError:
        if exc.errno in READ_ONLY_ERRNOS and mode == fcntl.LOCK_EX:
            return ReadOnlyError(
                f"Cannot change {self.purpose}: it is read-only (cannot open its lock file "
                f"'{self.path}' for writing: {exc.strerror or exc}).",
                hint=_READ_ONLY_HINT, library_hint=_READ_ONLY_HINT,
            )
        return fs_error(exc, "open the lock file", self.path)

    def _open(self, mode: int) -> int | None:
        name = self.path.name
        try:
            dir_fd = open_dir(self.path.parent, self.root, create=True)
        except OSError as exc:
            raise self._open_error(exc, mode) from None
        try:
            try:
                fd = os.open(name, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC,
                             PRIVATE_FILE_MODE, dir_fd=dir_fd)
            except OSError as exc:
                if _is_link_at(dir_fd, name):
                    raise symlink_error(self.path) from None
                if exc.errno not in READ_ONLY_ERRNOS or mode != fcntl.LOCK_SH:
                    raise
                try:
                    fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC,
                                 dir_fd=dir_fd)
                except FileNotFoundError:
                    return None
        except OSError as exc:
            raise self._open_error(exc, mode) from None
        finally:
            os.close(dir_fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise StoreError(
                f"The lock file '{self.path}' is {_kind(info.st_mode)}, not a regular file; "
                "mlrig will not use it.",
                hint="Remove it: mlrig creates it again.",
            )
        return fd

    def _acquire(self, mode: int) -> None:
        fd = self._open(mode)
        if fd is None:
            self._fd, self._mode = None, mode
            return
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise StoreError(f"Cannot lock '{self.path}': {exc.strerror}.") from exc
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockTimeoutError(
                        f"Timed out after {self.timeout:g}s waiting for the lock '{self.path}' "
                        "held by another mlrig process.",
                        hint="Retry when the other command has finished "
                        "(MLRIG_LOCK_TIMEOUT sets the wait, in seconds).",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        self._fd = fd
        self._mode = mode

    def _release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._mode = 0


# ---------------------------------------------------------------------------- reading
MAX_FILE_BYTES = 256 * 1024 * 1024


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def read_bytes(path: Path | str, limit: int = MAX_FILE_BYTES, *, follow: bool = True
               ) -> tuple[bytes, os.stat_result]:
    """The content and status of the regular file ``path``, never blocking.

    ``open()`` of a FIFO for reading waits for a writer, and opening a device may do
    anything: the path is checked with ``stat`` first, opened with ``O_NONBLOCK`` (and
    ``O_NOFOLLOW`` unless ``follow``), and checked again with ``fstat``. Raises ``OSError``:
    FileNotFoundError, IsADirectoryError, :class:`NotRegularFileError` (a FIFO, socket or
    device), :class:`FileTooLargeError` (over ``limit`` bytes), ``ELOOP`` (a link, when
    ``follow`` is off), ...
    """
    before = os.stat(path, follow_symlinks=follow)
    if not stat.S_ISREG(before.st_mode):
        if stat.S_ISLNK(before.st_mode):
            raise OSError(errno.ELOOP, "it is a symbolic link", str(path))
        raise _not_regular(path, before.st_mode)
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | (0 if follow else _NOFOLLOW))
    with open(fd, "rb") as handle:  # closes fd
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, info.st_mode)
        # sized by the file (a 256 MiB limit must not cost 256 MiB); more if it grew
        raw = handle.read(min(limit, info.st_size) + 1)
        if info.st_size < len(raw) <= limit:
            raw += handle.read(limit + 1 - len(raw))
    if len(raw) > limit:
        raise FileTooLargeError(errno.EFBIG, f"it is larger than {_size(limit)}", str(path))
    return raw, info


def read_error(exc: OSError, path: Path | str) -> StoreError:
    """The error of a file mlrig could not read (see :func:`read_bytes`)."""
    if isinstance(exc, IsADirectoryError):
        return CorruptFileError(f"Expected a file but found a directory: '{path}'.")
    if exc.errno == errno.ELOOP:
        return symlink_error(path)
    if isinstance(exc, NotRegularFileError):
        return StoreError(f"Cannot read '{path}': {exc.strerror}; mlrig will not read or "
                          "overwrite it.", hint="Move it away, or replace it with a file.")
    if isinstance(exc, FileTooLargeError):
        return StoreError(f"Cannot read '{path}': {exc.strerror}.")
    return fs_error(exc, "read", path)


def read_text(path: Path, limit: int = MAX_FILE_BYTES, *, follow: bool = True) -> str | None:
    """The file's text, ``None`` when it does not exist; unreadable files, files that are
    not regular files (devices, FIFOs: refused without blocking) and files over ``limit``
    bytes are errors. Without ``follow``, a symbolic link is an error too."""
    found = _read_text_and_status(path, limit, follow=follow)
    return None if found is None else found[0]


def _read_text_and_status(path: Path, limit: int = MAX_FILE_BYTES, *, follow: bool = True
                          ) -> tuple[str, os.stat_result] | None:
    """:func:`read_text`, with the ``fstat`` of the file the text was read from."""
    try:
        raw, info = read_bytes(path, limit, follow=follow)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise read_error(exc, path) from None
    try:
        return raw.decode("utf-8"), info
    except UnicodeDecodeError:
        raise CorruptFileError(
            f"The file '{path}' is not valid UTF-8 text; mlrig will not overwrite it.",
            hint="Restore it from a backup or move it away.",
        ) from None


def _yaml_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_dumper() -> Any:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc, valid-type]
        """Writes every value out in full: mlrig refuses aliases when it reads."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return Dumper


def parse_yaml(text: str, path: Path | str) -> Any:
    """Parse one YAML document with the safe loader; aliases (``*name``) are refused.

    An alias repeats a node without repeating its text, so a few hundred bytes of nested
    aliases (a "billion laughs") expand to gigabytes wherever the value is walked: copied,
    validated, written to the JSON cache, rendered in a message. mlrig never writes aliases,
    so any alias is refused here, right after composing and before anything is built from
    the document: the check walks the composed nodes (an alias is a node reached twice)
    without expanding them, so it costs at most one visit per node of the text.
    """
    import yaml

    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "*" in text:  # no alias without its indicator
            _refuse_aliases(node, path)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    finally:
        loader.dispose()


def outline_yaml(text: str, path: Path | str, *, skip: frozenset[str],
                 max_nodes: int) -> Any:
    """The document with the values of the top-level keys in ``skip`` left out (``None``),
    read from the parser's events without composing the whole document; ``None`` when the
    document is not a mapping or uses merge keys (a caller then learns nothing from it).

    Reading events is cheap (they come from the C parser) next to composing and building
    every value, so this sees the small parts of a large file — and how many values it
    holds — in about the time it takes to read it. Files with more than ``max_nodes`` values
    or with aliases are refused here, like :func:`parse_yaml` refuses aliases.
    """
    import yaml

    loader = _yaml_loader()(text)
    nokey = object()
    frames: list[list[Any]] = []  # [container, pending key] (the key of a mapping's value)
    result: list[Any] = []
    count = depth_skipped = 0
    merge = "tag:yaml.org,2002:merge"

    def add(value: Any) -> None:
        if not frames:
            result.append(value)
            return
        frame = frames[-1]
        if isinstance(frame[0], list):
            frame[0].append(value)
        elif frame[1] is nokey:  # a key (one that cannot be a key becomes a placeholder)
            frame[1] = value if _hashable(value) else object()
        else:
            frame[0][frame[1]] = value
            frame[1] = nokey

    def skipping_next() -> bool:
        return (len(frames) == 1 and isinstance(frames[0][0], dict)
                and frames[0][1] is not nokey and frames[0][1] in skip)

    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                raise _alias_error(path, event.start_mark)
            starts = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
            if starts or isinstance(event, yaml.ScalarEvent):
                count += 1
                if count > max_nodes:
                    raise CorruptFileError(
                        f"The file '{path}' holds more than {max_nodes:,} values; mlrig "
                        "reads no file that large.")
            if depth_skipped:
                depth_skipped += 1 if starts else -1 if isinstance(
                    event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)) else 0
                if not depth_skipped:
                    add(None)
                continue
            if skipping_next() and (starts or isinstance(event, yaml.ScalarEvent)):
                if starts:
                    depth_skipped = 1
                else:
                    add(None)
                continue
            if isinstance(event, yaml.ScalarEvent):
                node = yaml.ScalarNode(loader.resolve(yaml.ScalarNode, event.value,
                                                      event.implicit) if event.tag in
                                       (None, "!") else event.tag, event.value)
                if node.tag == merge:
                    return None
                add(loader.construct_object(node))
            elif isinstance(event, yaml.SequenceStartEvent):
                frames.append([[], nokey])
            elif isinstance(event, yaml.MappingStartEvent):
                frames.append([{}, nokey])
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                add(frames.pop()[0])
            elif isinstance(event, yaml.DocumentEndEvent):
                break
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    finally:
        loader.dispose()
    return result[0] if result and isinstance(result[0], dict) else None


def _hashable(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _yaml_error(path: Path | str, exc: Exception) -> CorruptFileError:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return CorruptFileError(
        f"The file '{path}' is not valid YAML ({shown_text(detail, 200)}); mlrig will not "
        "overwrite it.",
        hint="Fix or remove the file, or restore it from a backup.",
    )


def _alias_error(path: Path | str, mark: Any) -> CorruptFileError:
    where = f" (line {mark.line + 1})" if mark is not None else ""
    return CorruptFileError(
        f"The file '{path}' uses a YAML alias{where}, which mlrig does not read (aliases can "
        "expand a small file into gigabytes); mlrig will not overwrite it.",
        hint="Write the repeated value out in full instead of '*name'.",
    )


def _refuse_aliases(root: Any, path: Path | str) -> None:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            raise _alias_error(path, None)
        seen.add(id(node))
        value = node.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    pending.extend(item)
                else:
                    pending.append(item)


def _signature(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _checksum(text: str) -> int:
    """Part of the cache key: (mtime, size, inode) alone repeat when two quick replaces
    reuse an inode within one tick of a coarse file-system clock."""
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def _cache_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.cache.json")


def _read_cache(path: Path, signature: list[int]) -> tuple[dict[str, Any] | None, bool]:
    """The cached content of ``path`` if the copy matches ``signature``, and whether the
    copy is marked as checked."""
    from mlrig.jsonread import loads

    try:
        raw, _ = read_bytes(_cache_path(path), follow=False)
        cached = loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        return None, False
    if isinstance(cached, dict) and cached.get("signature") == signature:
        data = cached.get("data")
        if isinstance(data, dict):
            return data, cached.get("checked") is True
    return None, False


def _json_faithful(data: Any) -> bool:
    """Whether JSON gives ``data`` back as it is (not so for dates, integer keys, NaN, ...):
    only such content may be kept in a JSON copy."""
    import json

    try:
        return bool(json.loads(json.dumps(data, allow_nan=False)) == data)
    except (TypeError, ValueError):
        return False


def _write_cache(path: Path, signature: list[int] | None, data: Any, checked: bool) -> None:
    """Best effort: remember the parsed content of ``path`` as of ``signature``.

    ``checked``: the content passed its file's whole check (the ``check`` of
    :func:`read_yaml_mapping`, or mlrig wrote it from its own records). Only such a copy may
    be trusted by a reader that does not check it again (:mod:`mlrig.prompt`, for shell
    prompts); a copy a reader cannot trust is still a valid cache for the YAML parser.
    """
    import json

    if signature is None:
        return
    try:
        record: dict[str, Any] = {"signature": signature, "data": data}
        if checked:
            record["checked"] = True
        encoded = json.dumps(record, allow_nan=False)
        if not _json_faithful(data):
            return  # not faithfully representable in JSON (dates, int keys, ...)
        # a cache that is a link (or a read-only directory) is left alone
        atomic_write(_cache_path(path), encoded, durable=False, create_parents=False,
                     root=path.parent)
    except (TypeError, ValueError, OSError, StoreError):
        return


def read_yaml_mapping(path: Path, expected_version: int, what: str,
                      cached: bool = False, follow: bool = True, *,
                      check: Callable[[dict[str, Any]], object] | None = None,
                      ) -> dict[str, Any] | None:
    """Load a versioned mlrig YAML file; ``None`` if absent.

    The file must be a mapping with an integer ``version`` no newer than ``expected_version``.
    With ``cached``, a JSON copy of the parsed content, keyed by the file's (mtime, size,
    inode) and a checksum of its text, is used when it matches: it spares hot commands the
    YAML parser. The YAML file stays the one source of truth; the copy is rebuilt whenever
    the key differs. ``check`` is the file's whole validation (it raises on bad content):
    it runs on a freshly parsed file before its copy is written, and a copy of content that
    passed it is marked as checked. Without ``follow``, a symbolic link is refused (for
    files only mlrig makes, such as the journal).
    """
    stat_key = _signature(path) if cached else None
    signature: list[int] | None = None
    text = read_text(path, follow=follow)
    if text is None:
        return None
    if stat_key is not None:
        signature = [*stat_key, _checksum(text)]
        copy, checked = _read_cache(path, signature)
        if copy is not None:
            copy = check_version(copy, path, expected_version, what)
            if check is not None and not checked:  # a copy of an older mlrig: check it once
                check(copy)
                _write_cache(path, signature, copy, checked=True)
            return copy
    data = check_version(parse_yaml(text, path), path, expected_version, what)
    if check is not None:
        check(data)
    if cached and _signature(path) == stat_key:
        _write_cache(path, signature, data, checked=check is not None)
    return data


def read_yaml_mappings(directory: Path, names: Iterable[str], expected_version: int,
                       what: str, cache_name: str) -> dict[str, dict[str, Any] | None]:
    """:func:`read_yaml_mapping` of ``<name>.yaml`` for each of ``names`` in ``directory``
    (``None`` for a file that is gone), with one JSON copy for the whole directory.

    The copy (``cache_name``, a dot file ending in ``.cache.json``) holds each file's
    parsed content keyed as :func:`read_yaml_mapping`'s copies are: the (mtime, size,
    inode) of the file that was read and a checksum of its text. A file whose key differs
    is parsed again, and the copy is rewritten (best effort, never durable) when anything
    was parsed or is gone. It spares listings of many files the YAML parser; the files
    stay the one source of truth, and every caller still checks what it is given.
    """
    cache_path = directory / cache_name
    entries = _read_dir_cache(cache_path)
    result: dict[str, dict[str, Any] | None] = {}
    fresh: dict[str, tuple[list[int], dict[str, Any]]] = {}
    stale = False
    for name in names:
        path = directory / f"{name}.yaml"
        found = _read_text_and_status(path)
        if found is None:
            result[name] = None
            continue
        text, info = found
        signature = [info.st_mtime_ns, info.st_size, info.st_ino, _checksum(text)]
        hit = entries.get(name)
        if hit is not None and hit[0] == signature and hit[1] is not None:
            data = hit[1]
        else:
            data = parse_yaml(text, path)
            # a file JSON cannot carry is kept as its key alone: parsed, but not rewritten
            stale = stale or hit is None or hit[0] != signature
        data = check_version(data, path, expected_version, what)
        fresh[name] = (signature, data)
        result[name] = data
    if stale or set(entries) - set(fresh):
        _write_dir_cache(cache_path, fresh)
    return result


def _read_dir_cache(path: Path) -> dict[str, tuple[list[int], Any]]:
    """The entries of a directory's JSON copy (see :func:`read_yaml_mappings`); none when
    the copy is missing, a link, unreadable or not of the expected shape."""
    from mlrig.jsonread import loads

    try:
        raw, _ = read_bytes(path, follow=False)
        cached = loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        return {}
    entries = cached.get("entries") if isinstance(cached, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {name: (entry[0], entry[1]) for name, entry in entries.items()
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)
            and (entry[1] is None or isinstance(entry[1], dict))}


def _write_dir_cache(path: Path, fresh: Mapping[str, tuple[list[int], Any]]) -> None:
    """Best effort: the directory's JSON copy of ``fresh`` (of an entry whose content JSON
    cannot carry faithfully — dates, integer keys — only the key: it is parsed each time)."""
    import json

    entries = {name: [signature, data if _json_faithful(data) else None]
               for name, (signature, data) in fresh.items()}
    try:
        encoded = json.dumps({"entries": entries}, allow_nan=False)
        atomic_write(path, encoded, durable=False, create_parents=False, root=path.parent)
    except (TypeError, ValueError, OSError, StoreError):
        return


def check_version(data: Any, path: Path, expected_version: int, what: str) -> dict[str, Any]:
    """``data`` (parsed from ``path``) if it is a mapping with an integer ``version`` no
    newer than ``expected_version``; else a CorruptFileError naming the file (and both
    versions, for a newer one)."""
    if not isinstance(data, dict):
        raise CorruptFileError(
            f"The {what} '{path}' is empty or not a mapping; mlrig will not overwrite it.",
            hint="Fix or remove the file, or restore it from a backup.",
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CorruptFileError(
            f"The {what} '{path}' has no valid format version; mlrig will not overwrite it.",
        )
    if version > expected_version:
        raise CorruptFileError(
            f"The {what} '{path}' has format version {version}, newer than this mlrig "
            f"supports ({expected_version}); it was left untouched.",
            hint="Upgrade mlrig to use it.",
        )
    return data


def remember_parsed(path: Path, data: Any) -> None:
    """Record ``data`` as the parsed content of ``path`` as it is on disk now (mlrig wrote
    it from its own records: the copy is marked as checked)."""
    stat_key = _signature(path)
    try:
        text = read_text(path)
    except StoreError:
        return
    if stat_key is not None and text is not None:
        _write_cache(path, [*stat_key, _checksum(text)], data, checked=True)


def write_yaml(path: Path, data: Any, cached: bool = False,
               mode: int = PRIVATE_FILE_MODE, root: Path | None = None) -> None:
    """Atomically write ``data`` as YAML; with ``cached``, also refresh its JSON copy.
    ``root``: see :func:`atomic_write`."""
    atomic_write(path, dump_yaml(data), mode=mode, root=root)
    if cached:
        remember_parsed(path, data)


def dump_yaml(data: Any) -> str:
    import yaml

    return str(
        yaml.dump(data, Dumper=_yaml_dumper(), sort_keys=False, default_flow_style=False,
                  allow_unicode=True)
    )
