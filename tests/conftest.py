"""Shared fixtures: every test runs against its own config dir and working directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MLRIG_VARS = (
    "MLRIG_CONFIG_PATH", "MLRIG_ACTIVE_PROFILE", "MLRIG_ACTIVE_STACK", "MLRIG_REPOSITORY_PATH",
    "MLRIG_DEFAULT_STORE_TYPE", "MLRIG_DEBUG", "MLRIG_LOCK_TIMEOUT",
)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stderr + self.stdout


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh config dir (MLRIG_CONFIG_PATH) and a working dir outside any repository."""
    for var in MLRIG_VARS:
        if var == "MLRIG_DEFAULT_STORE_TYPE" and os.environ.get("MLRIG_TEST_KEEP_STORE_TYPE"):
            continue
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "config"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("MLRIG_CONFIG_PATH", str(config))
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(work)
    yield config


@pytest.fixture
def config_dir(isolated: Path) -> Path:
    return isolated


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the CLI in-process: ``cli("stack", "list")`` -> Result."""
    from mlrig.cli.app import run

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def mlrig_command() -> list[str]:
    exe = shutil.which("mlrig")
    return [exe] if exe else [sys.executable, "-m", "mlrig"]


@pytest.fixture
def mlrig_exe():  # type: ignore[no-untyped-def]
    """Run the real ``mlrig`` executable in a subprocess: ``mlrig_exe("profile", "list")``."""

    def invoke(*args: str, env: dict[str, str] | None = None, cwd: str | Path | None = None,
               input: str | None = None, timeout: float = 60) -> Result:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(
            [*mlrig_command(), *args], capture_output=True, text=True, env=full_env,
            cwd=cwd, input=input, timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return invoke
