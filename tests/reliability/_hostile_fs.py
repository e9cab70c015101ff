"""Real hostile file systems for the reliability tests: read-only mounts, full disks.

* :func:`run_read_only` runs the real executable in a private mount namespace in which the
  given directories are bind-mounted read-only onto themselves (``unshare --mount``, as root;
  with ``--user --map-root-user`` otherwise, where unprivileged user namespaces are allowed).
  The test process keeps seeing them writable, and the mounts vanish with the command.
* :func:`small_disk` mounts a tmpfs of a given size (root only) and :func:`fill` fills it.
* :func:`run_without_space` runs the executable with ``RLIMIT_FSIZE`` 0: every write to a
  regular file fails with ``EFBIG`` (Python ignores SIGXFSZ), on any machine.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability._support import Run, env_for, mlrig_argv

_READ_ONLY_SCRIPT = (
    'for d in "$@"; do [ "$d" = -- ] && break; '
    'mount --bind "$d" "$d" && mount -o remount,ro,bind "$d" || exit 97; done; '
    'while [ "$1" != -- ]; do shift; done; shift; exec "$@"'
)


@functools.cache
def _namespace_prefix() -> tuple[str, ...] | None:
    """The ``unshare`` command line that gives us a private mount namespace, if any does."""
    candidates = [("unshare", "--mount", "--propagation", "private")]
    if os.geteuid() != 0:
        candidates.insert(0, ("unshare", "--user", "--map-root-user", "--mount",
                              "--propagation", "private"))
    for prefix in candidates:
        probe = Path(os.environ.get("TMPDIR", "/tmp"))
        try:
            proc = subprocess.run([*prefix, "sh", "-c", _READ_ONLY_SCRIPT, "sh", str(probe),
                                   "--", "true"], capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0:
            return prefix
    return None


def require_mount_namespace() -> tuple[str, ...]:
    prefix = _namespace_prefix()
    if prefix is None:
        pytest.skip("a real read-only file system needs a private mount namespace "
                    "(root, or unprivileged user namespaces), which this machine does not "
                    "allow")
    return prefix


def run_read_only(read_only: list[Path], config_dir: Path, *args: str,
                  cwd: Path | None = None, timeout: float = 60, **extra_env: str) -> Run:
    """The real executable with the directories ``read_only`` on a read-only mount."""
    prefix = require_mount_namespace()
    proc = subprocess.run(
        [*prefix, "sh", "-c", _READ_ONLY_SCRIPT, "sh", *map(str, read_only), "--",
         *mlrig_argv(), *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env=env_for(config_dir, **extra_env),
    )
    assert proc.returncode != 97, f"could not mount read-only: {proc.stderr}"
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _no_file_space() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def run_without_space(config_dir: Path, *args: str, cwd: Path | None = None,
                      timeout: float = 60) -> Run:
    """The real executable unable to write a single byte to any regular file."""
    proc = subprocess.run(
        [*mlrig_argv(), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env=env_for(config_dir), preexec_fn=_no_file_space,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (made if missing) for the block."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(path)], capture_output=True, text=True, timeout=20)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True, timeout=20).returncode:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=20)


def fill(disk: Path) -> Path:
    """Fill the file system of ``disk`` to the last byte; returns the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 1):  # big pages, then the last partial one
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size) > 0:
                    pass
    finally:
        os.close(fd)
    return filler


Snapshot = dict[str, "bytes | str | None"]


def fs_snapshot(root: Path) -> Snapshot:
    """Every entry under ``root`` without opening anything but regular files: a file's
    content, ``None`` for a directory, ``link:<target>`` for a symbolic link (never
    followed) and ``special:<type>`` for a FIFO, socket or device (never opened)."""
    result: Snapshot = {}
    if not os.path.lexists(root):
        return result
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in (*dirnames, *filenames):
            path = base / name
            rel = str(path.relative_to(root))
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                result[rel] = f"link:{os.readlink(path)}"
            elif stat.S_ISDIR(info.st_mode):
                result[rel + "/"] = None
            elif stat.S_ISREG(info.st_mode):
                result[rel] = path.read_bytes()
            else:
                result[rel] = f"special:{stat.S_IFMT(info.st_mode):o}"
    return result


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    found = [f"+ {k}" for k in after.keys() - before.keys()]
    found += [f"- {k}" for k in before.keys() - after.keys()]
    found += [f"~ {k}" for k in before.keys() & after.keys() if before[k] != after[k]]
    return sorted(found)
