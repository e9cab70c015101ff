"""Intents: how an operation that changes several files stays all-or-nothing across a crash.

A stack rename changes the profile's store *and* the pointers to the stack (config.yaml, the
repository file); a profile rename or copy changes a store directory *and* config.yaml. No
single file system operation does both, so such an operation first writes an *intent* — a
small YAML record of what it is about to do — to ``<config dir>/pending/<id>.yaml`` and holds
an exclusive ``flock`` on it for as long as it runs. Every operation has one *commit point*
(the store commit for a stack rename, the config.yaml update for profile operations):

* a failure or crash **before** the commit point is rolled back (a moved directory is moved
  back, a half-built store is removed; nothing else was touched yet);
* a failure or crash **after** it is rolled forward (the remaining pointers are moved).

When the operation ends normally it deletes its intent. When it raises, the same recovery code
runs at once; when the process dies, the kernel drops the lock and the next mlrig command
(:func:`recover_pending`, called when the global configuration is loaded) finds the unlocked
intent and finishes it. An intent whose lock is held belongs to a live process and is left
alone. The lock is taken on the temp file *before* it is renamed into place, so no intent is
ever visible unlocked while its process still runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mlrig import events
from mlrig.events import Listener
from mlrig.exceptions import CorruptFileError, StoreError
from mlrig.fsutil import (
    PRIVATE_FILE_MODE,
    READ_ONLY_ERRNOS,
    dump_yaml,
    ensure_dir,
    fs_error,
    fsync_dir,
    open_dir,
    parse_yaml,
    symlink_error,
    write_all,
)

PENDING_DIR = "pending"
INTENT_VERSION = 1
#: a record is a few hundred bytes; anything much larger is not one
_MAX_RECORD_BYTES = 1024 * 1024
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

RENAME_STACK = "rename_stack"
RENAME_PROFILE = "rename_profile"
CREATE_PROFILE = "create_profile"
DELETE_PROFILE = "delete_profile"


def pending_dir(config_dir: Path) -> Path:
    return config_dir / PENDING_DIR


def describe(record: dict[str, Any]) -> str:
    """What an intent is for, in words ("rename of stack 'a' to 'b'")."""
    return events.operation_phrase(*_subject(record))


def _subject(record: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """``(op, name, new name)`` of a record (``name`` is the old name of a rename)."""
    op = record.get("op")
    renamed = op in (RENAME_STACK, RENAME_PROFILE)
    name, new = (record.get("old"), record.get("new")) if renamed else (record.get("name"), None)
    return str(op), None if name is None else str(name), None if new is None else str(new)


@contextlib.contextmanager
def intent(config_dir: Path, record: dict[str, Any],
           listener: Listener | None = None) -> Iterator[dict[str, Any]]:
    """Hold an intent for the duration of the block (see the module docstring).

    On an exception the intent is resolved at once (rolled back or forward, depending on how
    far the operation got) and the exception propagates; if that resolution fails too, the
    intent file stays for the next command to finish.

    The record is written below the config dir without following a link (a linked
    ``pending/`` is refused). When it cannot be written (a full or read-only disk), the
    operation does not start: the error names the file and the operation, and no temp file
    or half-written record is left.
    """
    import uuid

    record = {"version": INTENT_VERSION, **record}
    directory = pending_dir(config_dir)
    final = f"{uuid.uuid4().hex}.yaml"
    dir_fd, fd = _record(config_dir, directory, final, record)
    try:
        yield record
    except BaseException:
        try:
            resolve(config_dir, record, listener)
        except Exception:
            os.close(fd)  # the next command finishes it
            os.close(dir_fd)
            raise
        _forget(dir_fd, final, fd)
        raise
    _forget(dir_fd, final, fd)


def _record(config_dir: Path, directory: Path, final: str, record: dict[str, Any]
            ) -> tuple[int, int]:
    """Write ``record`` to ``directory/final``, locked before it becomes visible; returns
    the directory's and the record's descriptors."""
    path = directory / final
    doing = f"record the {describe(record)} in"
    made_dir = not os.path.lexists(directory)
    try:
        dir_fd = open_dir(directory, config_dir, create=True)
    except OSError as exc:
        raise _not_started(fs_error(exc, doing, directory)) from None
    tmp_name = f".intent.{final[:-len('.yaml')]}.tmp"
    fd = -1
    try:
        fd = os.open(tmp_name, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                     PRIVATE_FILE_MODE, dir_fd=dir_fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        write_all(fd, dump_yaml(record).encode("utf-8"))
        os.fsync(fd)
        os.replace(tmp_name, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp_name, dir_fd=dir_fd)
        if made_dir:
            with contextlib.suppress(OSError):
                os.rmdir(directory)  # only if empty
        os.close(dir_fd)
        if isinstance(exc, OSError):
            raise _not_started(fs_error(exc, doing, path)) from None
        raise
    return dir_fd, fd


def _not_started(error: StoreError) -> StoreError:
    error.message = f"{error.message[:-1]}; the operation did not start, nothing was changed."
    error.args = (error.message,)
    return error


def _forget(dir_fd: int, name: str, fd: int) -> None:
    """Remove a finished intent. If that fails the record stays; resolving it again is
    harmless (every step is idempotent), so the next command does."""
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dir_fd)
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(fd)
        os.close(dir_fd)


def recover_pending(config_dir: Path, listener: Listener | None = None) -> int:
    """Finish the intents of operations whose process died; returns how many were finished.

    Cheap when there is nothing to do (one ``open``); called on every load of the global
    configuration. A linked ``pending/`` or record is refused, a record that is not a
    regular file is reported as corrupt (it is never opened for reading, so a FIFO cannot
    block), and on a read-only config dir an unfinished record is reported as a warning:
    it is finished by the next command that can write.
    """
    directory = pending_dir(config_dir)
    try:
        dir_fd = open_dir(directory, config_dir)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    except OSError as exc:
        raise fs_error(exc, "open", directory) from None
    try:
        names = sorted(n for n in os.listdir(dir_fd) if n.endswith(".yaml"))
        finished = 0
        for name in names:
            finished += _recover_one(config_dir, dir_fd, directory / name, listener)
        return finished
    finally:
        os.close(dir_fd)


def _open_record(dir_fd: int, path: Path) -> tuple[int, bool] | None:
    """The record's descriptor (read-write if possible) and whether it is read-only."""
    flags = _NOFOLLOW | _NONBLOCK | _CLOEXEC
    try:
        try:
            return os.open(path.name, os.O_RDWR | flags, dir_fd=dir_fd), False
        except OSError as exc:
            if exc.errno not in READ_ONLY_ERRNOS:
                raise
            return os.open(path.name, os.O_RDONLY | flags, dir_fd=dir_fd), True
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise symlink_error(path) from None
        raise fs_error(exc, "open the pending operation record", path) from None


def _refuse_irregular(fd: int, path: Path) -> int:
    """The record's inode; a FIFO, socket or device is refused before anything reads it."""
    import stat

    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise CorruptFileError(
            f"The pending operation record '{path}' is not a regular file; mlrig will not "
            "read it.", hint="Check the profiles with 'mlrig profile list' and remove it.",
            library_hint="Check the profiles with client.list_profiles() and remove it.")
    return info.st_ino


def _read_record(fd: int, path: Path) -> dict[str, Any]:
    try:
        raw = os.pread(fd, _MAX_RECORD_BYTES + 1, 0)
    except OSError as exc:
        raise fs_error(exc, "read", path) from None
    try:
        text = raw.decode("utf-8") if len(raw) <= _MAX_RECORD_BYTES else ""
    except UnicodeDecodeError:
        text = ""
    record = parse_yaml(text, path) if text.strip() else None
    if not isinstance(record, dict) or not isinstance(record.get("op"), str):
        raise CorruptFileError(
            f"The pending operation record '{path}' is malformed.",
            hint="Check the profiles with 'mlrig profile list' and remove the file.",
            library_hint="Check the profiles with client.list_profiles() and remove the file.",
        )
    return record


def _recover_one(config_dir: Path, dir_fd: int, path: Path,
                 listener: Listener | None) -> int:
    opened = _open_record(dir_fd, path)
    if opened is None:
        return 0  # finished by its owner since the listing
    fd, read_only = opened
    try:
        inode = _refuse_irregular(fd, path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return 0  # a live process owns it
            raise fs_error(exc, "lock", path) from None
        try:
            now = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return 0  # finished by its owner between listdir and flock
        if now.st_ino != inode:
            return 0  # replaced since we opened it: the next command looks again
        record = _read_record(fd, path)
        if record.get("version", 0) > INTENT_VERSION:
            return 0  # written by a newer mlrig; leave it to that one
        if read_only:
            _emit(listener, events.InterruptedOperationWaiting(*_subject(record), str(path)))
            return 0
        resolve(config_dir, record, listener)
        try:
            os.unlink(path.name, dir_fd=dir_fd)
        except OSError as exc:
            raise fs_error(exc, "remove the finished pending operation record", path) \
                from None
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
        return 1
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- resolution
def resolve(config_dir: Path, record: dict[str, Any], listener: Listener | None) -> None:
    """Roll an interrupted operation back or forward, whichever keeps everything consistent.

    Every step is idempotent: resolution may itself be interrupted and run again.
    """
    op = record.get("op")
    if op == RENAME_STACK:
        _resolve_rename_stack(config_dir, record, listener)
    elif op == RENAME_PROFILE:
        _resolve_rename_profile(config_dir, record, listener)
    elif op == CREATE_PROFILE:
        _resolve_create_profile(config_dir, record, listener)
    elif op == DELETE_PROFILE:
        _resolve_delete_profile(config_dir, record, listener)
    else:
        raise CorruptFileError(f"Unknown pending operation '{op}' in {pending_dir(config_dir)}.")


def _emit(listener: Listener | None, event: events.Event) -> None:
    if listener is not None:
        listener(event)


def _global_file(config_dir: Path) -> Any:
    from mlrig.config.global_config import GlobalConfigFile

    return GlobalConfigFile(config_dir)


def move_stack_pointers(config_dir: Path, profile: str, old: str, new: str,
                        repo_root: str | None) -> list[str]:
    """Point every scope mlrig owns that names stack ``old`` of ``profile`` at ``new``.

    Returns the files changed.
    """
    from mlrig.config.global_config import GlobalConfig
    from mlrig.config.repository import Repository

    changed: list[str] = []
    gfile = _global_file(config_dir)

    def change(current: GlobalConfig | None) -> tuple[GlobalConfig | None, bool]:
        if current is None:
            return current, False
        target = current.profiles.get(profile)
        if target is None or target.active_stack != old:
            return current, False
        target.active_stack = new
        return current, True

    if gfile.exists() and _update_if(gfile, change):
        changed.append(str(gfile.path))
    if repo_root:
        repo = Repository(Path(repo_root))
        # compare-and-set: a `stack set` that ran since the decision to move is kept
        if repo.update_if(lambda c: c.active_profile == profile and c.active_stack == old,
                          stack=new, set_stack=True):
            changed.append(str(repo.path))
    return changed


def move_profile_pointer(repo_root: str | None, old: str, new: str) -> str | None:
    """Point the repository at ``repo_root`` from profile ``old`` to ``new`` if it still
    names ``old`` (compare-and-set under its lock); returns the file changed, if any."""
    from mlrig.config.repository import Repository

    if not repo_root:
        return None
    repo = Repository(Path(repo_root))
    if repo.update_if(lambda c: c.active_profile == old, profile=new, set_profile=True):
        return str(repo.path)
    return None


def _update_if(gfile: Any, change: Callable[[Any], tuple[Any, bool]]) -> bool:
    """Like GlobalConfigFile.update, but does not rewrite the file when nothing changed."""
    ensure_dir(gfile.directory)
    with gfile.lock.exclusive():
        current = gfile.load()
        new, changed = change(current)
        if changed:
            gfile.save(new)
        return bool(changed)


def _stack_names(config_dir: Path, profile: str) -> set[str] | None:
    from mlrig.stores import open_store

    gfile = _global_file(config_dir)
    config = gfile.load()
    if config is None or profile not in config.profiles:
        return None
    store = open_store(config.profiles[profile])
    try:
        with store.read() as view:
            return {s.name for s in view.list_stacks()}
    finally:
        store.close()


def _resolve_rename_stack(config_dir: Path, record: dict[str, Any],
                          listener: Listener | None) -> None:
    profile, old, new = str(record["profile"]), str(record["old"]), str(record["new"])
    names = _stack_names(config_dir, profile)
    if names is None or new not in names or old in names:
        return  # the store commit did not happen: nothing else was touched
    changed = move_stack_pointers(config_dir, profile, old, new, record.get("repo_root"))
    if changed:
        _emit(listener, events.InterruptedStackRenameFinished(profile, old, new, tuple(changed)))


def _resolve_rename_profile(config_dir: Path, record: dict[str, Any],
                            listener: Listener | None) -> None:
    old, new = str(record["old"]), str(record["new"])
    config = _global_file(config_dir).load()
    profiles = config.profiles if config is not None else {}
    if new in profiles and old not in profiles:
        # committed: roll forward (the repository pointer)
        changed = move_profile_pointer(record.get("repo_root"), old, new)
        if changed:
            _emit(listener, events.InterruptedProfileRenameFinished(old, new, changed))
        return
    # not committed: roll back the directory moves, if they happened
    rolled_back = False
    for old_key, new_key in (("old_dir", "new_dir"), ("old_data", "new_data")):
        old_path, new_path = record.get(old_key), record.get(new_key)
        if old_path and new_path and old in profiles:
            source, target = Path(new_path), Path(old_path)
            if os.path.lexists(source) and not os.path.lexists(target):
                os.rename(source, target)
                fsync_dir(target.parent)
                rolled_back = True
    if rolled_back:
        _emit(listener, events.InterruptedProfileRenameRolledBack(old, new))


def _resolve_create_profile(config_dir: Path, record: dict[str, Any],
                            listener: Listener | None) -> None:
    name, url = str(record["name"]), str(record["url"])
    config = _global_file(config_dir).load()
    profile = config.profiles.get(name) if config is not None else None
    staging = record.get("staging")
    if staging:
        remove_path(Path(staging))
    if profile is not None and profile.store_url == url:
        return  # committed
    rolled_back = False
    final_path = record.get("final_path")
    if final_path and Path(final_path).exists():
        from mlrig.models import ProfileConfig
        from mlrig.stores import remove_own_store

        # only what the store made: a file put there since is not mlrig's to remove
        remove_own_store(ProfileConfig(name, str(record["store_type"]), url), Path(final_path))
        rolled_back = True
    if record.get("in_place"):
        from mlrig.models import ProfileConfig
        from mlrig.stores import open_store

        store = open_store(ProfileConfig(name, str(record["store_type"]), url))
        try:
            if store.is_initialized():
                store.destroy()
                rolled_back = True
        finally:
            store.close()
    if rolled_back:
        _emit(listener, events.InterruptedProfileCreationRemoved(name))


def _resolve_delete_profile(config_dir: Path, record: dict[str, Any],
                            listener: Listener | None) -> None:
    name, url = str(record["name"]), str(record["url"])
    config = _global_file(config_dir).load()
    profile = config.profiles.get(name) if config is not None else None
    if profile is not None and profile.store_url == url:
        return  # not committed: the profile and its store are untouched
    data = record.get("data")
    if data and profile is None:  # its run data: what mlrig wrote there
        from mlrig.core.run_data import remove_run_data

        remove_run_data(Path(data))
    directory = record.get("dir")
    if directory and Path(directory).exists():
        from mlrig.stores import profiles_using

        users = profiles_using(config.profiles if config is not None else {},
                               Path(directory), besides=name)
        if users:  # attached to since: the store is theirs now
            _emit(listener, events.InterruptedProfileDeletionKept(name, str(directory),
                                                                   tuple(users)))
            return
        store_type = record.get("store_type")
        if not isinstance(store_type, str):  # a record of an older mlrig: not sure what is ours
            _emit(listener, events.InterruptedProfileDeletionUnsure(name, str(directory)))
            return
        from mlrig.models import ProfileConfig
        from mlrig.stores import remove_own_store

        if remove_own_store(ProfileConfig(name, store_type, url), Path(directory)):
            _emit(listener, events.InterruptedProfileDeletionFinished(name, str(directory)))
        else:
            _emit(listener, events.InterruptedProfileDeletionStoreRemoved(name, str(directory)))


def remove_path(path: Path) -> None:
    """Remove a directory tree or a file (and SQLite's side files), if present."""
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        fsync_dir(path.parent)
        return
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm",
                                                                       "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
    fsync_dir(path.parent)
