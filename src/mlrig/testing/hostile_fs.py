"""Real hostile file systems: read-only mounts, full disks (for a store's tests, as for
mlrig's reliability tests).

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
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlrig.testing.clients import quiet_client
from mlrig.testing.runs import Run, assert_one_line_error, env_for, mlrig_command, run_mlrig_in
from mlrig.testing.stores import store_of

_READ_ONLY_SCRIPT = (
    'for d in "$@"; do [ "$d" = -- ] && break; '
    'mount --bind "$d" "$d" && mount -o remount,ro,bind "$d" || exit 97; done; '
    'while [ "$1" != -- ]; do shift; done; shift; exec "$@"'
)


@functools.cache
def _namespace_prefix() -> tuple[str, ...] | None:
    """The ``unshare`` command line that gives us a private mount namespace, if any does."""
    candidates: list[tuple[str, ...]] = [("unshare", "--mount", "--propagation", "private")]
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
         *mlrig_command(), *args],
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
        [*mlrig_command(), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
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


# ----------------------------------------------------------------------------- a world
GUARD = 30  # seconds: a command that blocks fails the test instead of hanging it


@dataclass
class World:
    root: Path  # everything the test owns
    config: Path
    store: Path | None  # the default profile's store directory (local stores)
    work: Path  # a repository (mlrig init)
    outside: Path  # a directory outside every root, where links point
    skip: tuple[str, ...] = ()  # names left out of snapshots (besides locks and caches)

    def snapshot(self) -> Snapshot:
        """Everything under the root but lock files and read caches (they hold no data)."""
        return {k: v for k, v in fs_snapshot(self.root).items()
                if not k.endswith(".cache.json")
                and os.path.basename(k.rstrip("/")) not in ("config.lock", ".lock", *self.skip)}


READS: list[list[str]] = [["profile", "list"], ["stack", "list"], ["stack", "describe", "dev"],
                          ["artifact-store", "list"], ["status"], ["stack", "current"]]


def make_world(tmp_path: Path, config_dir: Path) -> World:
    c = quiet_client(config_dir)
    c.config()
    c.register_component("artifact_store", "lake", "local", {"path": str(tmp_path / "lake")})
    c.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                             "artifact_store": "lake"})
    profile = c.get_profile()
    store = (Path(store_of(c).root)  # type: ignore[attr-defined]
             if profile.store_type == "local" else None)
    c.close()
    work = Path.cwd()
    assert run_mlrig_in(config_dir, "init", cwd=work).exit_code == 0
    for args in READS:  # lock files and read caches exist, as after real use
        assert run_mlrig_in(config_dir, *args, cwd=work).exit_code == 0, args
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not mlrig's\n")
    return World(tmp_path, config_dir, store, work, outside)


#: progress lines a command may print before it meets the hostile file
PROGRESS = ("Initializing profile `", "Initializing mlrig repository at ")


def one_error_line(code: int, stdout: str, stderr: str) -> str:
    """Exit 1 and one ``Error:`` line (see ``assert_one_line_error``), after progress."""
    stderr = "".join(line for line in stderr.splitlines(keepends=True)
                     if not line.startswith(PROGRESS))
    return assert_one_line_error(code, stdout, stderr, codes=(1,))


def run_in(w: World, args: list[str], read_only: list[Path] | None = None) -> Run:
    """The real executable in the world's repository; with ``read_only``, those
    directories are on a read-only mount for it."""
    if read_only is not None:
        return run_read_only(read_only, w.config, *args, cwd=w.work, timeout=GUARD)
    return run_mlrig_in(w.config, *args, cwd=w.work, timeout=GUARD)


def refused(w: World, args: list[str], *names: Path | str,
            read_only: list[Path] | None = None) -> str:
    """``args`` fails cleanly, naming each of ``names``, and changes nothing."""
    before = w.snapshot()
    result = run_in(w, args, read_only)
    line = one_error_line(result.exit_code, result.stdout, result.stderr)
    for name in names:
        assert str(name) in line, (args, line)
    assert changes(before, w.snapshot()) == [], args
    return line


def works(w: World, args: list[str], read_only: list[Path] | None = None) -> Run:
    """``args`` succeeds without an error (or, unless asked for, a warning)."""
    result = run_in(w, args, read_only)
    assert result.exit_code == 0, (args, result.stderr)
    assert "Error" not in result.stderr, (args, result.stderr)
    return result


