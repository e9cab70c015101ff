"""Fixtures of the lifecycle tests: clients, file snapshots and the test plugin package."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrig.client import Client
from mlrig.testing.stores import store_of

PLUGIN_SRC = Path(__file__).resolve().parents[1] / "plugin_pkg"


def quiet(*_: str) -> None:
    return None


def make_client(**kwargs: Any) -> Client:
    """An in-process client on the isolated config dir (events collected, not printed)."""
    events: list[tuple[str, str]] = []
    client = Client(on_event=lambda level, message: events.append((level, message)),
                    **kwargs)
    client.events = events  # type: ignore[attr-defined]
    client.config()
    return client


def snapshot(root: Path) -> dict[str, bytes]:
    """Every data file under ``root`` (not locks or read caches)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json")
            and p.name not in (".lock", "config.lock")}


def contents(client: Client, profile: str | None = None) -> dict[str, Any]:
    """Stacks, components (with ids) and custom flavors of a profile, comparable with ==."""
    with store_of(client, profile).read() as view:
        return {
            "stacks": sorted((s.name, sorted((t.value, n) for t, n in s.components.items()))
                             for s in view.list_stacks()),
            "components": sorted((c.type.value, c.name, c.flavor, c.id, repr(sorted(
                c.config.items()))) for c in view.list_components()),
            "flavors": sorted((f.type.value, f.name, f.source) for f in view.list_flavors()),
        }


@pytest.fixture
def client(config_dir: Path) -> Client:
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


def lake(client: Client, name: str = "lake", path: str = "/data/lake") -> None:
    client.register_component("artifact_store", name, "local", {"path": path})


def dev_stack(client: Client, name: str = "dev", artifact_store: str = "lake",
              **extra: str) -> None:
    client.register_stack(name, {"orchestrator": "default", "metadata_store": "default",
                                 "artifact_store": artifact_store, **extra})
