"""mlrig.testing as an author of a store or a flavor uses it: a separate pytest run (in a
subprocess) of a suite that only installs mlrig, whose fixtures come from mlrig's pytest11
entry point, and that subclasses the shipped contracts."""

from __future__ import annotations

from typing import Any

AUTHOR_SUITE = '''
import pytest

from mlrig.stores.local import LocalStore
from mlrig.testing.contract import StoreContract
from mlrig.testing.flavors import FlavorContract
from mlrig.flavors.builtin.artifact_stores import LocalArtifactStore


def test_the_fixtures(mlrig_config_dir, mlrig_client, mlrig_run):
    client = mlrig_client()
    assert [p.name for p in client.list_profiles()] == ["default"]
    assert any("Created and activated default profile." in m for _, m in client.events)
    assert (mlrig_config_dir / "config.yaml").is_file()
    listed = mlrig_run("stack", "list", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert '"default"' in listed.stdout


class TestMyStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = LocalStore(str(tmp_path / "store"))
        store.initialize()
        yield store
        store.close()


class TestMyFlavor(FlavorContract):
    flavor = LocalArtifactStore
    valid_config = {"path": "/srv/artifacts"}
'''


def test_an_author_suite_runs_on_the_plugin(pytester: Any) -> None:
    pytester.makepyfile(test_author=AUTHOR_SUITE)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes["passed"] > 20
