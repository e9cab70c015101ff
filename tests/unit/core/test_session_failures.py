"""All or nothing: failures injected in the middle of copies, imports and renames, and
processes killed (SIGKILL) half-way, leave every target as it was or finish the operation."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.client import Client
from mlrig.core.session import Session
from mlrig.stores.local import LocalTransaction
from mlrig.testing.clients import add_local_artifact_store, add_stack, make_client
from mlrig.testing.files import data_files
from mlrig.testing.stores import contents


@pytest.fixture
def dev(client: Client) -> Client:
    add_local_artifact_store(client)
    client.register_component("container_registry", "reg", "default", {"uri": "r:5000"})
    add_stack(client, container_registry="reg")
    client.set_stack("dev")
    return client


def fail_on_call(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str,
                 n: int) -> Callable[[], None]:
    """Make ``owner.name`` raise on its n-th call; returns a function that restores it."""
    original: Callable[..., Any] = getattr(owner, name)
    calls = {"count": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == n:
            raise RuntimeError(f"injected failure in {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


def no_pending(config_dir: Path) -> bool:
    return not list((config_dir / "pending").glob("*.yaml"))


# ---------------------------------------------------------------------------- in-process
def test_failed_stack_copy_leaves_the_target_untouched(cli, dev: Client, config_dir: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch) -> None:
    assert cli("profile", "create", "other").exit_code == 0
    other_dir = config_dir / "profiles" / "other"
    before = data_files(other_dir)
    restore = fail_on_call(monkeypatch, LocalTransaction, "create_component", 2)
    result = cli("stack", "copy", "dev", "dev", "--to", "other", "--rename-conflicts")
    assert result.exit_code == 1 and "injected failure" in result.stderr
    assert data_files(other_dir) == before
    restore()
    assert cli("stack", "copy", "dev", "dev", "--to", "other", "--rename-conflicts"
               ).exit_code == 0


def test_failed_stack_import_leaves_the_profile_untouched(cli, dev: Client, config_dir: Path,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path, monkeypatch) -> None:
    bundle = tmp_path / "dev.yaml"
    assert cli("stack", "export", "dev", str(bundle)).exit_code == 0
    assert cli("profile", "create", "other").exit_code == 0
    other_dir = config_dir / "profiles" / "other"
    before = data_files(other_dir)
    fail_on_call(monkeypatch, LocalTransaction, "create_stack", 1)
    result = cli("--profile", "other", "stack", "import", str(bundle), "--rename-conflicts")
    assert result.exit_code == 1 and "injected failure" in result.stderr
    assert data_files(other_dir) == before


@pytest.mark.parametrize("where", ["create_component", "update_config"])
def test_failed_profile_copy_and_import_leave_nothing_behind(  # type: ignore[no-untyped-def]
        cli, dev: Client, config_dir: Path, tmp_path: Path, *, monkeypatch, where: str) -> None:
    bundle = tmp_path / "p.yaml"
    assert cli("profile", "export", "default", str(bundle), "--include-secrets").exit_code == 0
    before = data_files(config_dir)
    if where == "update_config":
        fail_on_call(monkeypatch, Session, "update_config", 1)  # the commit point
    else:
        fail_on_call(monkeypatch, LocalTransaction, "create_component", 3)
    copied = cli("profile", "copy", "default", "twin")
    assert copied.exit_code == 1 and "injected failure" in copied.stderr
    if where == "update_config":
        fail_on_call(monkeypatch, Session, "update_config", 1)
    else:
        fail_on_call(monkeypatch, LocalTransaction, "create_component", 3)
    imported = cli("profile", "import", str(bundle), "imp")
    assert imported.exit_code == 1 and "injected failure" in imported.stderr
    assert data_files(config_dir) == before
    assert sorted(p.name for p in (config_dir / "profiles").iterdir()) == ["default"]
    assert no_pending(config_dir)


def test_failed_profile_rename_moves_the_directory_back(cli, dev: Client, config_dir: Path,  # type: ignore[no-untyped-def]
                                                        monkeypatch) -> None:
    before = data_files(config_dir)
    restore = fail_on_call(monkeypatch, Session, "update_config", 1)
    result = cli("profile", "rename", "default", "main")
    assert result.exit_code == 1 and "injected failure" in result.stderr
    assert data_files(config_dir) == before
    assert no_pending(config_dir)
    restore()
    assert cli("stack", "describe", "dev").exit_code == 0


def test_failed_stack_rename_commit_changes_nothing(cli, dev: Client, config_dir: Path,  # type: ignore[no-untyped-def]
                                                    monkeypatch) -> None:
    before = data_files(config_dir)
    fail_on_call(monkeypatch, LocalTransaction, "commit", 1)
    result = cli("stack", "rename", "dev", "prod")
    assert result.exit_code == 1
    assert data_files(config_dir) == before
    assert no_pending(config_dir)


# ---------------------------------------------------------------------------- SIGKILL
KILLER = """
import os, signal, sys
{patch}
from mlrig.cli.app import run
sys.exit(run(sys.argv[1:]))
"""


def killed_run(config_dir: Path, patch: str, *args: str, cwd: Path | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLRIG_")}
    env["MLRIG_CONFIG_PATH"] = str(config_dir)
    code = KILLER.format(patch=textwrap.dedent(patch))
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode


def test_killed_stack_rename_is_finished_by_the_next_command(dev: Client,
                                                              config_dir: Path) -> None:
    patch = """
    import mlrig.core.intents as intents
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    intents.move_stack_pointers = die
    """
    assert killed_run(config_dir, patch, "stack", "rename", "dev", "prod") == -9
    # the store commit happened, the pointer did not move yet, the intent is there
    assert not no_pending(config_dir)
    config = yaml.safe_load((config_dir / "config.yaml").read_text())
    assert config["profiles"]["default"]["active_stack"] == "dev"
    fresh = make_client()  # any command: loading the configuration finishes the rename
    assert fresh.active_stack_name == "prod"
    assert no_pending(config_dir)
    assert any("interrupted rename" in m for _, m in fresh.events)  # type: ignore[attr-defined]


def test_killed_profile_rename_is_rolled_back(dev: Client, config_dir: Path) -> None:
    before = contents(dev)
    patch = """
    import mlrig.core.session as session
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    session.Session.update_config = die
    """
    assert killed_run(config_dir, patch, "profile", "rename", "default", "main") == -9
    assert (config_dir / "profiles" / "main").is_dir()  # moved, config not yet changed
    fresh = make_client()
    assert fresh.active_profile_name == "default"
    assert (config_dir / "profiles" / "default" / "store.yaml").is_file()
    assert not (config_dir / "profiles" / "main").exists()
    assert contents(fresh) == before
    assert no_pending(config_dir)


def test_killed_profile_rename_moves_the_run_data_back(dev: Client, config_dir: Path) -> None:
    data = config_dir / "local_stores" / "runs-default"
    (data / "logs" / ("a" * 32)).mkdir(parents=True)
    (data / "logs" / ("a" * 32) / "step.log").write_text("a log")
    patch = """
    import mlrig.core.session as session
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    session.Session.update_config = die
    """
    assert killed_run(config_dir, patch, "profile", "rename", "default", "main") == -9
    moved = config_dir / "local_stores" / "runs-main"
    assert moved.is_dir() and not data.exists()  # moved, config not yet changed
    fresh = make_client()
    assert fresh.active_profile_name == "default"
    assert (data / "logs" / ("a" * 32) / "step.log").read_text() == "a log"
    assert not moved.exists()
    assert no_pending(config_dir)


def test_killed_profile_delete_removes_the_run_data_on_the_next_command(
        dev: Client, config_dir: Path) -> None:
    dev.create_profile("other")
    data = config_dir / "local_stores" / "runs-other"
    (data / "logs" / ("b" * 32)).mkdir(parents=True)
    (data / "logs" / ("b" * 32) / "step.log").write_text("a log")
    (data / "secrets.yaml").write_text("version: 1\nsecrets: {}\n")
    patch = """
    import mlrig.core.profiles as profiles
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    profiles.remove_run_data = die
    """
    assert killed_run(config_dir, patch, "profile", "delete", "other", "-y") == -9
    assert data.is_dir() and not no_pending(config_dir)  # committed, not cleaned yet
    fresh = make_client()
    assert "other" not in fresh.config().profiles
    assert not data.exists()
    assert no_pending(config_dir)


def test_killed_profile_import_leaves_no_half_profile(cli, dev: Client, config_dir: Path,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    bundle = tmp_path / "p.yaml"
    assert cli("profile", "export", "default", str(bundle), "--include-secrets").exit_code == 0
    patch = """
    import mlrig.core.session as session
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    session.Session.update_config = die
    """
    assert killed_run(config_dir, patch, "profile", "import", str(bundle), "imp") == -9
    assert (config_dir / "profiles" / "imp").is_dir()  # built and moved into place
    fresh = make_client()
    assert "imp" not in fresh.config().profiles
    assert not (config_dir / "profiles" / "imp").exists()
    assert no_pending(config_dir)
    assert cli("profile", "import", str(bundle), "imp").exit_code == 0


def test_killed_stack_import_mid_commit_is_all_or_nothing(cli, dev: Client, config_dir: Path,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    bundle = tmp_path / "dev.yaml"
    assert cli("stack", "export", "dev", str(bundle)).exit_code == 0
    assert cli("profile", "create", "other").exit_code == 0
    patch = """
    import mlrig.stores.local as local
    from mlrig.fsutil import atomic_write
    def apply_one_then_die(root, writes):
        rel, content = next(iter(writes.items()))
        atomic_write(root / rel, content)
        os.kill(os.getpid(), signal.SIGKILL)
    local._apply = apply_one_then_die
    """
    code = killed_run(config_dir, patch, "--profile", "other", "stack", "import", str(bundle),
                      "--rename-conflicts")
    assert code == -9
    other = make_client(profile="other")
    stack = other.get_stack("dev")  # the journal was the commit point: finished on next use
    for type_, name in stack.components.items():
        assert other.get_component(type_, name) is not None
