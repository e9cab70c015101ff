"""A step's log while it runs: bounded in memory, spilled to its file.

A step's prints, log records and tracebacks are kept in memory up to
:data:`MEMORY_CHARS` characters. Past that, everything goes to a file next to the step's
final log (``<logs>/<run>/.<step>.<random>.part``, created without following a link, mode
0600) and only the last :data:`TAIL_CHARS` characters stay in memory; the driver then
renames the file to ``<step>.log`` (:func:`adopt`), so a reader never sees a partial log
under its final name. A step that prints gigabytes costs a file of that size, not memory.

A worker on another host than the driver (a remote Dask cluster) cannot reach the driver's
logs directory: it spills to an anonymous temporary file of its own and sends back only the
last :data:`REMOTE_CHARS` characters, with a line saying how much was left out.
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import socket
import stat
from pathlib import Path
from typing import IO

from mlrig.exceptions import StoreError
from mlrig.fsutil import PRIVATE_FILE_MODE, fs_error, open_dir, symlink_error, write_all

#: characters of a step's output held in memory before it goes to the log file (1 Mi)
MEMORY_CHARS = 1 << 20
#: the last characters kept in memory once the log is in its file (the tail)
TAIL_CHARS = 64 * 1024
#: the last characters a worker on another host sends back (16 Mi)
REMOTE_CHARS = 16 << 20
#: bytes gathered before one write to the file
_WRITE_CHUNK = 64 * 1024
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
    os, "O_CLOEXEC", 0)
_ENCODING = {"encoding": "utf-8", "errors": "backslashreplace"}


def spill_name(step: str) -> str:
    return f".{step}.{os.urandom(6).hex()}.part"


def is_spill_name(name: str, step: str) -> bool:
    return (name == os.path.basename(name) and name.startswith(f".{step}.")
            and name.endswith(".part"))


class StepLog(io.TextIOBase):
    """The log of one step's execution (see the module's docstring).

    ``logs_dir`` and ``run_dir`` name the driver's logs directory and the run's directory
    below it; ``driver_host`` the driver's host name. :meth:`finish` says where the log is.
    """

    def __init__(self, step: str, logs_dir: str | None = None, run_dir: str = "",
                 driver_host: str = "") -> None:
        self.step = step
        self.logs_dir = logs_dir
        self.run_dir = run_dir
        self.driver_host = driver_host
        self._parts: list[str] = []
        self._held = 0  # characters in _parts
        self._fd: int | None = None
        self._remote: IO[bytes] | None = None
        self._name: str | None = None  # the spill file in the run's directory
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_size = 0
        self.spilled_chars = 0  # characters written to the file
        self.write_error: OSError | None = None  # the file could not take more (disk full)
        self._finished = False
        self._spilled = False  # the log is in a file (the tail in memory)

    # -- io.TextIOBase
    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not text or self._finished:
            return len(text)  # a thread of the step still printing after it returned
        if not self._spilled:
            self._parts.append(text)
            self._held += len(text)
            if self._held > MEMORY_CHARS:
                held = "".join(self._parts)
                self._parts, self._held = [], 0
                self._open()
                self._to_file(held)
        else:
            self._to_file(text)
        return len(text)

    # -- the file
    def _open(self) -> None:
        """The spill file: in the run's log directory on the driver's host, else anonymous."""
        self._spilled = True
        if self.logs_dir is not None and socket.gethostname() == self.driver_host:
            root = Path(self.logs_dir)
            with contextlib.suppress(OSError, StoreError):
                dir_fd = open_dir(root / self.run_dir, root)
                try:
                    name = spill_name(self.step)
                    self._fd = os.open(name, _FLAGS, PRIVATE_FILE_MODE, dir_fd=dir_fd)
                    self._name = name
                    return
                finally:
                    os.close(dir_fd)
        import tempfile

        self._remote = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()

    def _to_file(self, text: str) -> None:
        self.spilled_chars += len(text)
        self._tail.append(text)
        self._tail_size += len(text)
        while self._tail_size - len(self._tail[0]) >= TAIL_CHARS:
            self._tail_size -= len(self._tail.popleft())
        data = text.encode(**_ENCODING)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _WRITE_CHUNK:
            self._drain()

    def _drain(self) -> None:
        payload = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        if not payload or self.write_error is not None:
            return
        try:
            if self._fd is not None:
                write_all(self._fd, payload)
            elif self._remote is not None:
                self._remote.write(payload)
        except OSError as exc:  # the step goes on; its log keeps what the file took
            self.write_error = exc

    def tail(self) -> str:
        """The last :data:`TAIL_CHARS` characters written (all of them while in memory)."""
        if not self._spilled:
            return "".join(self._parts)[-TAIL_CHARS:]
        return "".join(self._tail)[-TAIL_CHARS:]

    def finish(self) -> tuple[str, str | None]:
        """``(text, spill file name)``: the whole log and ``None`` while it was in memory;
        the tail and the name of its file in the run's directory once spilled there (for
        :func:`adopt`); from another host, its last :data:`REMOTE_CHARS` characters."""
        self._finished = True
        if not self._spilled:
            return "".join(self._parts), None
        try:
            self._drain()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        if self._remote is None:
            return self.tail(), self._name
        remote, self._remote = self._remote, None
        with remote:
            size = remote.tell()
            keep = min(size, REMOTE_CHARS)
            remote.seek(size - keep)
            text = remote.read(keep).decode("utf-8", "replace")
        dropped = size - keep
        note = (f"[mlrig: the first {dropped} bytes of this log were left on the worker's "
                f"host {socket.gethostname()}; the last {keep} follow]\n") if dropped else ""
        return note + text, None


def adopt(logs_dir: Path, run_dir: str, name: str, step: str) -> Path:
    """Rename the spill file ``name`` of the run's directory to ``<step>.log`` there
    (atomically; no link followed below ``logs_dir``, none replaced)."""
    directory = logs_dir / run_dir
    target = directory / f"{step}.log"
    if not is_spill_name(name, step):
        raise StoreError(f"Refusing to adopt '{name}' as the log of step '{step}'.")
    try:
        dir_fd = open_dir(directory, logs_dir)
    except OSError as exc:
        raise fs_error(exc, "write", target) from None
    try:
        try:
            info = os.stat(target.name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISLNK(info.st_mode):
            raise symlink_error(target)
        os.replace(name, target.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        raise fs_error(exc, "write", target) from None
    finally:
        os.close(dir_fd)
    return target
