"""Crash-safe files: atomic writes, kernel-released locks, strict YAML reading.

* :func:`atomic_write` writes a temp file in the same directory, fsyncs it, ``os.replace``s it
  over the target and fsyncs the directory: a reader sees the old or the new file, never a
  torn one, whatever happens to the writer.
* :class:`FileLock` is an ``fcntl.flock`` lock. The kernel drops it when the process dies, so a
  crashed writer never leaves a stale lock behind (unlike O_EXCL lock files). The standard
  library is used instead of a lock package because this sits on every command's start-up path.
* :func:`read_yaml` parses with the safe loader only (no ``!!python`` tags) and turns every
  failure into a :class:`CorruptFileError` naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlrig.environment import initial_lock_timeout
from mlrig.exceptions import CorruptFileError, LockTimeoutError, StoreError, shown_text

#: MLRIG_LOCK_TIMEOUT as of import (a bad value: the default here, an error from
#: :func:`mlrig.environment.check`, which every command runs first)
DEFAULT_LOCK_TIMEOUT = initial_lock_timeout()
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def ensure_dir(path: Path, mode: int = PRIVATE_DIR_MODE) -> Path:
    """Create ``path`` (and missing parents) if missing; every new directory gets ``mode``."""
    if path.is_dir():
        return path
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    try:
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=mode)
            except FileExistsError:
                if not directory.is_dir():
                    raise
    except OSError as exc:
        raise StoreError(f"Cannot create directory '{path}': {exc.strerror or exc}.") from exc
    return path


def atomic_write(path: Path, data: str | bytes, mode: int = PRIVATE_FILE_MODE,
                 durable: bool = True, create_parents: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (and durably, unless ``durable`` is off:
    for caches that may be lost). Missing parent directories are created (0700) unless
    ``create_parents`` is off (for paths a user typed). OS failures become StoreError."""
    import tempfile

    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent
    if create_parents:
        ensure_dir(directory)
    elif not directory.is_dir():
        raise StoreError(f"Cannot write '{path}': the directory '{directory}' does not exist.")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".mlrig.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise StoreError(f"Cannot write '{path}': {exc.strerror or exc}.") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise StoreError(f"Cannot write '{path}': {exc.strerror or exc}.") from None
        raise
    if durable:
        fsync_dir(directory)


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


def remove_file(path: Path) -> None:
    """Unlink ``path`` if present and make the removal durable."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_dir(path.parent)


class FileLock:
    """An advisory ``flock`` on ``path``; shared for readers, exclusive for writers.

    Re-entrant within one object: nested ``exclusive()`` blocks only lock once.
    """

    def __init__(self, path: Path, timeout: float | None = None) -> None:
        self.path = path
        self.timeout = DEFAULT_LOCK_TIMEOUT if timeout is None else timeout
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

    def _acquire(self, mode: int) -> None:
        ensure_dir(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        except OSError as exc:
            raise StoreError(f"Cannot open lock file '{self.path}': {exc.strerror}.") from exc
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


MAX_FILE_BYTES = 256 * 1024 * 1024


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str | None:
    """The file's text, ``None`` when it does not exist; unreadable files, files that are
    not regular files (devices, FIFOs) and files over ``limit`` bytes are errors."""
    import stat

    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):
                raise StoreError(f"Cannot read '{path}': it is not a regular file.")
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CorruptFileError(f"Expected a file but found a directory: '{path}'.") from None
    except OSError as exc:
        raise StoreError(f"Cannot read '{path}': {exc.strerror or exc}.") from None
    if len(raw) > limit:
        raise StoreError(f"Cannot read '{path}': it is larger than {limit // (1024 * 1024)} MiB.")
    try:
        return raw.decode("utf-8")
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


def _read_cache(path: Path, signature: list[int]) -> dict[str, Any] | None:
    import json

    try:
        cached = json.loads(_cache_path(path).read_bytes())
    except (OSError, ValueError):
        return None
    if isinstance(cached, dict) and cached.get("signature") == signature:
        data = cached.get("data")
        if isinstance(data, dict):
            return data
    return None


def _write_cache(path: Path, signature: list[int] | None, data: Any) -> None:
    """Best effort: remember the parsed content of ``path`` as of ``signature``."""
    import json

    if signature is None:
        return
    try:
        encoded = json.dumps({"signature": signature, "data": data}, allow_nan=False)
        if json.loads(encoded)["data"] != data:
            return  # not faithfully representable in JSON (dates, int keys, ...)
        atomic_write(_cache_path(path), encoded, durable=False)
    except (TypeError, ValueError, OSError, StoreError):
        return


def read_yaml_mapping(path: Path, expected_version: int, what: str,
                      cached: bool = False) -> dict[str, Any] | None:
    """Load a versioned mlrig YAML file; ``None`` if absent.

    The file must be a mapping with an integer ``version`` no newer than ``expected_version``.
    With ``cached``, a JSON copy of the parsed content, keyed by the file's (mtime, size,
    inode) and a checksum of its text, is used when it matches: it spares hot commands the
    YAML parser. The YAML file stays the one source of truth; the copy is rebuilt whenever
    the key differs.
    """
    stat_key = _signature(path) if cached else None
    signature: list[int] | None = None
    data: Any = None
    text = read_text(path)
    if text is None:
        return None
    if stat_key is not None:
        signature = [*stat_key, _checksum(text)]
        data = _read_cache(path, signature)
    if data is None:
        data = parse_yaml(text, path)
        if cached and isinstance(data, dict) and _signature(path) == stat_key:
            _write_cache(path, signature, data)
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
    """Record ``data`` as the parsed content of ``path`` as it is on disk now."""
    stat_key = _signature(path)
    try:
        text = read_text(path)
    except StoreError:
        return
    if stat_key is not None and text is not None:
        _write_cache(path, [*stat_key, _checksum(text)], data)


def write_yaml(path: Path, data: Any, cached: bool = False,
               mode: int = PRIVATE_FILE_MODE) -> None:
    """Atomically write ``data`` as YAML; with ``cached``, also refresh its JSON copy."""
    atomic_write(path, dump_yaml(data), mode=mode)
    if cached:
        remember_parsed(path, data)


def dump_yaml(data: Any) -> str:
    import yaml

    return str(
        yaml.dump(data, Dumper=_yaml_dumper(), sort_keys=False, default_flow_style=False,
                  allow_unicode=True)
    )
