"""mlrig.testing as an author of a store or a flavor uses it: a separate pytest run (in a
subprocess) of a suite that only installs mlrig, whose fixtures come from mlrig's pytest11
entry point, and that subclasses the shipped contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlrig.testing.clients import add_local_artifact_store, add_stack, make_client, quiet_client
from mlrig.testing.files import assert_all_yaml_parses, data_files, diff, snapshot
from mlrig.testing.runs import assert_one_line_error, heavy, run_mlrig_in
from mlrig.testing.stores import contents
from mlrig.testing.tables import PROFILE_HEADER, STACK_HEADER, parse_table

AUTHOR_SUITE = '''
import pytest

from mlrig.stores.local import LocalStore
from mlrig.testing.contract import StoreContract
from mlrig.testing.flavors import FlavorContract
from mlrig.flavors.builtin.artifact_stores import LocalArtifactStore


def test_nothing_changed_on_a_refusal(mlrig_config_dir, mlrig_run):
    from mlrig.testing.files import diff, snapshot
    from mlrig.testing.runs import assert_one_line_error

    assert mlrig_run("stack", "list").exit_code == 0
    before = snapshot(mlrig_config_dir)
    refused = mlrig_run("stack", "describe", "nope")
    assert "'nope'" in assert_one_line_error(refused.exit_code, refused.stdout, refused.stderr)
    assert diff(before, snapshot(mlrig_config_dir)) == []


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


def test_snapshot_and_diff_see_every_change(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.yaml").write_text("version: 1\n")
    (root / "sub" / "b.txt").write_text("b")
    (root / ".lock").write_text("")
    (root / "x.cache.json").write_text("{}")
    before = snapshot(root)
    assert ".lock" not in before and "sub/" in before
    assert ".lock" in snapshot(root, skip_locks=False)
    assert diff(before, snapshot(root)) == []
    (root / "a.yaml").write_text("version: 2\n")
    (root / "sub" / "b.txt").unlink()
    (root / "c").write_text("c")
    (root / ".lock").write_text("held")  # no data: not a change
    assert diff(before, snapshot(root)) == ["+ c", "- sub/b.txt", "~ a.yaml"]
    assert set(data_files(root)) == {"a.yaml", "c"}  # no locks, no read caches, no dirs
    assert assert_all_yaml_parses(root) == 1
    (root / "bad.yaml").write_text("- a list\n")
    with pytest.raises(AssertionError, match="not a mapping"):
        assert_all_yaml_parses(root)


def test_one_line_error_accepts_a_refusal_and_nothing_else(config_dir: Path) -> None:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0  # the default profile
    refused = run_mlrig_in(config_dir, "stack", "describe", "nope")
    line = assert_one_line_error(refused.exit_code, refused.stdout, refused.stderr)
    assert line.startswith("Error: ") and "'nope'" in line
    for code, stderr in ((0, "Error: x\n"), (1, "Error: x\nError: y\n"),
                         (1, "Traceback (most recent call last):\nError: x\n"),
                         (1, "Error: x\nsomething else\n"),
                         (1, "Error: unexpected KeyError\n"), (1, "")):
        with pytest.raises(AssertionError):
            assert_one_line_error(code, "", stderr)


def test_tables_of_the_real_executable(config_dir: Path) -> None:
    profiles = parse_table(run_mlrig_in(config_dir, "profile", "list").stdout)
    assert profiles[0] == PROFILE_HEADER and [row[1] for row in profiles[1:]] == ["default"]
    stacks = parse_table(run_mlrig_in(config_dir, "stack", "list").stdout)
    assert stacks[0] == STACK_HEADER
    with pytest.raises(AssertionError):
        parse_table("no table here\n")


def test_clients_and_contents(config_dir: Path) -> None:
    client = make_client()
    assert any("default profile" in message for _, message in client.events)  # type: ignore[attr-defined]
    add_local_artifact_store(client)
    add_stack(client)
    found = contents(client)
    assert ("dev", [("artifact_store", "lake"), ("metadata_store", "default"),
                    ("orchestrator", "default")]) in found["stacks"]
    assert contents(quiet_client(config_dir)) == found
    assert contents(make_client(initialize=False)) == found


def test_heavy_names_whole_packages_only() -> None:
    assert heavy(["json", "sqlalchemy", "sqlalchemy.orm", "mlrig.stores.sql",
                  "mlrig.stores.sql_url", "httpx._client", "mlrig.cli"]) == [
        "httpx._client", "mlrig.stores.sql", "sqlalchemy", "sqlalchemy.orm"]
    assert heavy(["json", "mine.x"], packages=("mine",)) == ["mine.x"]
