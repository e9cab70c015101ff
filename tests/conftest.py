"""Shared fixtures: every test runs against its own config dir and working directory.

Helpers a store or flavor author would want too live in :mod:`mlrig.testing` (running the
real executable, snapshots of a tree, clients, tables, SQL databases); the fixtures here
are this suite's own. No test module imports another (tests/unit/test_test_layout.py).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.testing.clients import make_client
from mlrig.testing.plugin import Run, isolate, run_mlrig

# pytester: runs a suite the way a store or flavor author's would (tests/unit/test_testing.py);
# mlrig.testing.sql: SQLite files and databases on real PostgreSQL/MariaDB servers;
# mlrig.testing.s3: a real S3-compatible server on loopback (s3_server, s3_bucket, s3_path)
pytest_plugins = ["pytester", "mlrig.testing.sql", "mlrig.testing.s3"]

PLUGIN_SRC = Path(__file__).resolve().parent / "plugin_pkg"


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
    """Run the CLI in-process: ``cli("stack", "list")`` -> Run."""
    from mlrig.cli.app import run

    def invoke(*args: str) -> Run:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def mlrig_exe():  # type: ignore[no-untyped-def]
    """Run the real ``mlrig`` executable in a subprocess: ``mlrig_exe("profile", "list")``."""

    return run_mlrig


@pytest.fixture
def client(config_dir: Path) -> Client:
    """An in-process client on the isolated config dir (events collected, not printed)."""
    return make_client()


def _offline_build_possible() -> bool:
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tests/plugin_pkg`` installed by pip into a private directory (once per worker).

    ``--target`` keeps it out of the environment running the tests: only tests that ask
    for the ``plugin`` fixture see it. The package is copied first so that the build leaves
    nothing behind in the source tree.
    """
    work = tmp_path_factory.mktemp("plugin")
    source = work / "src"
    shutil.copytree(PLUGIN_SRC, source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--target", str(target)]
    if _offline_build_possible():
        command.append("--no-build-isolation")
    proc = subprocess.run([*command, str(source)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert any(target.glob("mlrig_test_plugin-*.dist-info/entry_points.txt"))
    return target


@pytest.fixture
def plugin(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test plugin is importable here and in subprocesses (PYTHONPATH)."""
    from mlrig import flavors

    monkeypatch.syspath_prepend(str(plugin_site))
    existing = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(plugin_site) + (os.pathsep + existing
                                                         if existing else ""))
    flavors.forget_plugins()
    yield plugin_site
    flavors.forget_plugins()
