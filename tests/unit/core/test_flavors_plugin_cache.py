"""The installed plugins' entry points are kept in mlrig's cache directory
(``entry_points.json`` in ``MLRIG_CACHE_PATH``), so that a component write or read of a
built-in flavor imports neither :mod:`importlib.metadata` nor pydantic; installing or
removing a plugin is seen on the next command. Real executable, real ``pip``-installed plugin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlrig.testing.runs import env_for, mlrig_command


def aged(path: Path) -> None:
    """Make ``path`` look unchanged for a minute (a cache is not written for a directory
    changed within its timestamps' granularity)."""
    then = time.time() - 60
    os.utime(path, (then, then))


def run(config_dir: Path, site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = mlrig_command()
    if len(command) == 1:  # the script: -X importtime lists what it imports
        command = [sys.executable, "-X", "importtime", *command]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60,
                          env=env_for(config_dir, PYTHONPATH=str(site)),
                          stdin=subprocess.DEVNULL)


def imported(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


def orchestrator_flavors(config_dir: Path, site: Path) -> set[str]:
    proc = run(config_dir, site, "orchestrator", "flavor", "list", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    return {f["flavor"] for f in json.loads(proc.stdout)["flavors"]}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    aged(site)
    return site


def test_a_plugin_installed_or_removed_later_is_seen(config_dir: Path, site: Path,
                                                      plugin_site: Path) -> None:
    cache = Path(os.environ["MLRIG_CACHE_PATH"]) / "entry_points.json"
    assert "airflow" not in orchestrator_flavors(config_dir, site)
    assert cache.is_file()
    for entry in plugin_site.iterdir():  # "pip install" into the directory
        (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, site / entry.name)
    assert "airflow" in orchestrator_flavors(config_dir, site)
    for entry in list(site.iterdir()):
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    assert "airflow" not in orchestrator_flavors(config_dir, site)


def test_a_builtin_component_write_imports_neither_metadata_nor_pydantic(
        config_dir: Path, site: Path) -> None:
    first = run(config_dir, site, "artifact-store", "register", "lake", "-f", "local",
                "--path=/srv/lake")
    assert first.returncode == 0, first.stderr
    if len(mlrig_command()) != 1:
        pytest.skip("no mlrig script to run with -X importtime")
    for args in (("artifact-store", "update", "lake", "--path=/srv/lake2"),
                 ("artifact-store", "register", "s3", "-f", "s3", "--path=s3://b/p"),
                 ("artifact-store", "list"), ("artifact-store", "describe", "lake")):
        proc = run(config_dir, site, *args)
        assert proc.returncode == 0, proc.stderr
        modules = imported(proc)
        # the write validated with the compiled schemas (pydantic-core's extension, loaded
        # alone, is not seen by -X importtime; tests/reliability/test_import_budget.py is)
        assert "mlrig.flavors.compiled" in modules or args[1] in ("list", "describe"), args
        assert {"importlib.metadata", "pydantic"} & modules == set(), args
    refused = run(config_dir, site, "artifact-store", "update", "lake", "--path= ")
    assert refused.returncode != 0
    assert "path: Value error, must not be empty" in refused.stderr


def test_a_corrupt_or_linked_cache_is_neither_trusted_nor_followed(
        config_dir: Path, site: Path, plugin_site: Path, tmp_path: Path) -> None:
    cache = Path(os.environ["MLRIG_CACHE_PATH"]) / "entry_points.json"
    for entry in plugin_site.iterdir():
        (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, site / entry.name)
    aged(site)
    assert "airflow" in orchestrator_flavors(config_dir, site)
    cache.write_text("{not json")
    assert "airflow" in orchestrator_flavors(config_dir, site)
    assert json.loads(cache.read_text())  # written anew
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("[]")
    cache.unlink()
    cache.symlink_to(elsewhere)
    assert "airflow" in orchestrator_flavors(config_dir, site)
    assert elsewhere.read_text() == "[]"
