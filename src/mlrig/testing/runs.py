"""Helpers shared by the reliability tests: the real executable, snapshots, parse checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlrig.client import Client

# lock files are created on first use by readers too; they hold no data
LOCK_NAMES = {".lock", "config.lock"}

# the informational lines commands print on stderr before doing their work
BANNER_PREFIXES = ("Running without an active repository root.", "Running with active ")


def mlrig_argv() -> list[str]:
    """The real console script (not a version manager's shim), else ``python -m mlrig``."""
    beside = Path(sys.executable).with_name("mlrig")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("mlrig")
    return [found] if found else [sys.executable, "-m", "mlrig"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def env_for(config_dir: Path, **extra: str) -> dict[str, str]:
    """The test's environment (the autouse fixture has cleared the scope variables; a
    ``store_type`` fixture may have set MLRIG_DEFAULT_STORE_TYPE) for ``config_dir``."""
    env = dict(os.environ)
    env["MLRIG_CONFIG_PATH"] = str(config_dir)
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_mlrig(config_dir: Path, *args: str, cwd: Path | None = None, timeout: float = 60,
              input: str | None = None, **extra_env: str) -> Run:
    """The real executable; ``timeout`` guards against a hang (it is no speed limit)."""
    proc = subprocess.run(
        [*mlrig_argv(), *args], capture_output=True, text=True, timeout=timeout,
        env=env_for(config_dir, **extra_env), cwd=cwd,
        stdin=subprocess.DEVNULL if input is None else None, input=input,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def quiet(*_: str) -> None:
    return None


def client(config_dir: Path, **kwargs: Any) -> Client:
    return Client(config_dir, on_event=quiet, **kwargs)


def snapshot(root: Path, *, skip_locks: bool = True) -> dict[str, bytes | None]:
    """Every file (content) and directory (``None``) under ``root``, by relative path."""
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
    changes = [f"+ {k}" for k in after.keys() - before.keys()]
    changes += [f"- {k}" for k in before.keys() - after.keys()]
    changes += [f"~ {k}" for k in before.keys() & after.keys() if before[k] != after[k]]
    return sorted(changes)


def assert_all_yaml_parses(root: Path) -> int:
    """Every ``*.yaml`` under ``root`` is a mapping with an integer version; returns the count."""
    count = 0
    for path in root.rglob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict), f"{path} is not a mapping"
        assert isinstance(data.get("version"), int), f"{path} has no version"
        count += 1
    return count


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def assert_one_line_error(code: int, stdout: str, stderr: str, codes: tuple[int, ...] = (1, 2)
                          ) -> str:
    """Exit 1 or 2, exactly one ``Error:`` line, nothing else but the banner, no traceback."""
    assert code in codes, f"exit code {code}\nstdout: {stdout!r}\nstderr: {stderr!r}"
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    errors = error_lines(stderr)
    assert len(errors) == 1, f"expected one error line, got: {stderr!r}"
    others = [line for line in stderr.splitlines()
              if not line.startswith("Error:") and not line.startswith(BANNER_PREFIXES)]
    assert others == [], f"unexpected stderr lines: {others!r}"
    assert not errors[0].startswith("Error: unexpected "), f"an internal error: {errors[0]!r}"
    return errors[0]
