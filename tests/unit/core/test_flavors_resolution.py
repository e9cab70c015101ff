"""One flavor resolution order for lookup and listing (profile, then plugin, then built-in);
a duplicate inside one source is an error; a broken plugin is reported, not dropped.

The plugins here are real installed distributions: a ``*.dist-info`` directory with its
``entry_points.txt`` on ``PYTHONPATH``, found by ``importlib.metadata`` as ``pip`` would
leave it, used by the real ``mlrig`` executable."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

FLAVORS = '''
from pydantic import BaseModel, ConfigDict

from mlrig.flavors.base import Flavor
from mlrig.models import ComponentType


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bucket: str = "plugin"


class ShadowLocal(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "local"
    CONFIG = Config
    DESCRIPTION = "A plugin's local artifact store."


class TwinA(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "twin"
    CONFIG = Config


class TwinB(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "twin"
    CONFIG = Config
'''


def install(site: Path, name: str, entry_points: dict[str, str]) -> None:
    """A distribution as pip leaves it: metadata and entry points in ``site``."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[mlrig.flavors]\n{lines}\n")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "resolution_plugin.py").write_text(textwrap.dedent(FLAVORS))
    return site


def env_with(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_lookup_and_listing_agree(mlrig_exe: Any, site: Path) -> None:
    install(site, "shadow_plugin", {"shadow": "resolution_plugin:ShadowLocal"})
    env = env_with(site)
    listed = mlrig_exe("artifact-store", "flavor", "list", "-o", "json", env=env)
    assert listed.exit_code == 0, listed.stderr
    flavors = json.loads(listed.stdout)["flavors"]
    local = [f for f in flavors if f["flavor"] == "local"]
    assert [f["origin"] for f in local] == ["plugin", "built-in"]  # the order of lookup
    # the flavor a component gets is the first one listed: the plugin's (its schema)
    registered = mlrig_exe("artifact-store", "register", "p", "-f", "local",
                           "--bucket=b", env=env)
    assert registered.exit_code == 0, registered.stderr
    refused = mlrig_exe("artifact-store", "register", "q", "-f", "local", "--path=/x",
                        env=env)
    assert refused.exit_code == 1 and "path" in refused.stderr


def test_a_duplicate_inside_one_source_is_an_error(mlrig_exe: Any, site: Path) -> None:
    install(site, "twin_plugin", {"twin-a": "resolution_plugin:TwinA",
                                  "twin-b": "resolution_plugin:TwinB"})
    env = env_with(site)
    for args in (("artifact-store", "flavor", "list"),
                 ("artifact-store", "register", "t", "-f", "twin")):
        result = mlrig_exe(*args, env=env)
        assert result.exit_code == 1, (args, result.stdout)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "twin" in errors[0], result.stderr
        assert "resolution_plugin.TwinA" in errors[0] and "resolution_plugin.TwinB" in errors[0]
    # other types are not affected
    assert mlrig_exe("orchestrator", "flavor", "list", env=env).exit_code == 0


def test_a_broken_plugin_is_reported(mlrig_exe: Any, site: Path) -> None:
    install(site, "broken_plugin", {"ghost": "no_such_module_for_mlrig:Flavor"})
    env = env_with(site)
    listed = mlrig_exe("artifact-store", "flavor", "list", env=env)
    assert listed.exit_code == 0, listed.stderr
    assert "local" in listed.stdout  # the rest still works
    warnings = [line for line in listed.stderr.splitlines() if line.startswith("Warning:")]
    assert any("'ghost'" in w and "no_such_module_for_mlrig" in w for w in warnings), \
        listed.stderr
