"""Shared fixtures: every test runs against its own config dir and working directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrig.testing.plugin import MLRIG_VARIABLES, Run, isolate, run_mlrig

# pytester: runs a suite the way a store or flavor author's would (tests/unit/test_testing.py)
pytest_plugins = ["pytester"]

MLRIG_VARS = MLRIG_VARIABLES
Result = Run


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh config dir (MLRIG_CONFIG_PATH) and a working dir outside any repository:
    the plugin's isolation (:func:`mlrig.testing.plugin.isolate`) for every test."""
    keep = ("MLRIG_DEFAULT_STORE_TYPE",) if os.environ.get("MLRIG_TEST_KEEP_STORE_TYPE") else ()
    yield isolate(tmp_path, monkeypatch, keep=keep)


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


@pytest.fixture
def mlrig_exe():  # type: ignore[no-untyped-def]
    """Run the real ``mlrig`` executable in a subprocess: ``mlrig_exe("profile", "list")``."""

    return run_mlrig
