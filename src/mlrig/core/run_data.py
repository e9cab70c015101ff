"""A profile's run-time data directory: where it is, how a recorded log is found in it,
and what of it ``profile delete`` removes.

Imports nothing of the core but its defaults (``core/intents.py`` finishes an interrupted
``profile delete`` with :func:`remove_run_data`).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from mlrig.core.defaults import LOCAL_STORES

#: a profile's run-time data directory is ``<config>/local_stores/runs-<profile>``: its logs
#: (``logs/<run id>/<step>.log``) and the default secrets file of its ``local`` secrets
#: managers. It follows the profile: ``profile rename`` moves it with the profile (in the
#: same recorded operation), ``profile delete`` removes what mlrig wrote there
#: (:func:`remove_run_data`).
RUN_DATA_PREFIX = "runs-"
#: a run's id, the name of its log directory
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
#: what mlrig writes in a run data directory besides the logs
RUN_DATA_FILES = ("secrets.yaml", "secrets.yaml.lock", ".secrets.yaml.cache.json")


def run_data_dir(config_dir: Path, profile: str) -> Path:
    """The run-time data directory of ``profile`` (see :data:`RUN_DATA_PREFIX`)."""
    return config_dir / LOCAL_STORES / f"{RUN_DATA_PREFIX}{profile}"


def log_file(logs_dir: Path, logs_uri: str) -> Path | None:
    """The file of ``logs_dir`` a step run's recorded log is: ``<run id>/<step>.log`` of the
    recorded path, found in this profile's logs directory (so a record written before the
    profile was renamed still finds its log, and a record naming any other file finds
    nothing); ``None`` when the record names no log mlrig writes."""
    path = Path(logs_uri.removeprefix("file://"))
    run_dir, name = path.parent.name, path.name
    if not RUN_ID.match(run_dir) or not name.endswith(".log") or name.startswith("."):
        return None
    return logs_dir / run_dir / name


def _is_ours(name: str) -> bool:
    """A file mlrig writes in a run's log directory: a log, a spilled log, a temp file."""
    return ((name.endswith(".log") and not name.startswith("."))
            or (name.startswith(".") and name.endswith((".part", ".tmp"))))


def remove_run_data(directory: Path) -> bool:
    """Remove what mlrig wrote in a run data directory — the run logs (and spilled or
    temporary logs), the default secrets file and its lock — and the directories once empty;
    nothing else, no link followed. Returns whether the directory is gone."""
    def remove_files(where: Path, keep: Callable[[str], bool]) -> None:
        try:
            entries = list(os.scandir(where))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and not keep(entry.name):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)

    def remove_dir(where: Path) -> None:
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(os.lstat(where).st_mode):
                where.rmdir()

    try:
        if not stat.S_ISDIR(os.lstat(directory).st_mode):
            return False  # a link or a file in its place: not mlrig's
    except FileNotFoundError:
        return True
    logs = directory / "logs"
    if logs.is_dir() and not logs.is_symlink():
        for entry in list(os.scandir(logs)):
            if RUN_ID.match(entry.name) and entry.is_dir(follow_symlinks=False):
                remove_files(Path(entry.path), lambda name: not _is_ours(name))
                remove_dir(Path(entry.path))
        remove_dir(logs)
    remove_files(directory, lambda name: name not in RUN_DATA_FILES
                 and not (name.startswith(".mlrig.") and name.endswith(".tmp")))
    remove_dir(directory)
    return not os.path.lexists(directory)
