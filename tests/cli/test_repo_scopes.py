"""Scopes through the CLI: set writes the narrowest persistent scope, banners, status,
use --shell, init, refusals, and the commands that repair a broken choice."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from mlrig.testing.files import data_files
from mlrig.testing.plugin import Run as Result
from mlrig.testing.plugin import mlrig_command


def read_yaml(path: Path) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(path.read_text())


@pytest.fixture
def two_profiles(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("profile", "create", "other").exit_code == 0
    assert cli("--profile", "other", "stack", "register", "dev", "-o", "default",
               "-m", "default", "-a", "default").exit_code == 0


@pytest.fixture
def repo(tmp_path: Path, cli, two_profiles) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "project"
    root.mkdir()
    result = cli("init", "--path", str(root))
    assert result.exit_code == 0, result.output
    return root


def test_init_prints_what_it_set_and_refuses_twice(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    root.mkdir()
    result = cli("init", "--path", str(root))
    assert result.exit_code == 0
    assert f"mlrig repository initialized at {root}." in result.stdout
    assert "local active profile was initialized to 'default'" in result.stdout
    assert "local active stack to 'default'" in result.stdout
    config = read_yaml(root / ".mlrig" / "config.yaml")
    assert config == {"version": 1, "active_profile": "default", "active_stack": "default"}
    again = cli("init", "--path", str(root))
    assert again.exit_code == 1
    assert "Found existing mlrig repository" in again.stderr
    assert read_yaml(root / ".mlrig" / "config.yaml") == config


def test_set_inside_repository_writes_repository_only(  # type: ignore[no-untyped-def]
        cli, repo: Path, config_dir: Path, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    before = read_yaml(config_dir / "config.yaml")
    result = cli("profile", "set", "other")
    assert result.exit_code == 0, result.output
    assert "Active profile changed to: 'other'" in result.stdout
    assert read_yaml(config_dir / "config.yaml") == before
    assert read_yaml(repo / ".mlrig" / "config.yaml")["active_profile"] == "other"
    assert cli("stack", "set", "dev").exit_code == 0
    assert read_yaml(repo / ".mlrig" / "config.yaml")["active_stack"] == "dev"
    assert read_yaml(config_dir / "config.yaml") == before
    banner = cli("stack", "list").stderr
    assert "Running with active profile: 'other' (local)" in banner
    assert "Running without an active repository root." not in banner


def test_set_global_inside_repository_writes_global_only(  # type: ignore[no-untyped-def]
        cli, repo: Path, config_dir: Path, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    repo_before = read_yaml(repo / ".mlrig" / "config.yaml")
    result = cli("profile", "set", "--global", "other")
    assert result.exit_code == 0
    assert "Active global profile changed to: 'other'" in result.stdout
    assert read_yaml(config_dir / "config.yaml")["active_profile"] == "other"
    assert read_yaml(repo / ".mlrig" / "config.yaml") == repo_before
    # the repository still wins inside it
    assert cli("profile", "current").stdout.strip() == "default"


def test_stack_set_needs_existing_stack_of_that_profile(cli, two_profiles) -> None:  # type: ignore[no-untyped-def]
    result = cli("stack", "set", "dev")  # 'dev' is in profile 'other', not 'default'
    assert result.exit_code == 1
    assert "Stack 'dev' does not exist in profile 'default'" in result.stderr
    assert cli("--profile", "other", "stack", "set", "dev").exit_code == 0
    assert cli("--profile", "other", "stack", "current").stdout.strip() == "dev"


def test_banner_scopes(cli, repo: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert "(global)" in cli("stack", "list").stderr
    assert "(flag)" in cli("--profile", "other", "stack", "list").stderr
    monkeypatch.setenv("MLRIG_ACTIVE_PROFILE", "other")
    assert "Running with active profile: 'other' (environment)" in cli("stack", "list").stderr
    monkeypatch.delenv("MLRIG_ACTIVE_PROFILE")
    monkeypatch.chdir(repo)
    plain = cli("stack", "list").stderr
    assert "Running with active profile: 'default' (local)" in plain
    verbose = cli("--verbose", "stack", "list").stderr
    assert str(repo / ".mlrig" / "config.yaml") in verbose


def test_banner_goes_to_stderr_and_data_to_stdout(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("stack", "list", "-o", "json")
    assert "Running with" in result.stderr
    assert json.loads(result.stdout)["stacks"][0]["name"] == "default"


def test_status_table_and_json(cli, repo: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(repo)
    monkeypatch.setenv("MLRIG_ACTIVE_STACK", "default")
    data = json.loads(cli("status", "-o", "json").stdout)["status"]
    assert data["profile"]["scope"] == "local"
    assert data["profile"]["source"] == str(repo / ".mlrig" / "config.yaml")
    assert {"scope": "global", "name": "default", "source": data["config_path"]} in \
        data["profile"]["overrides"]
    assert data["stack"]["scope"] == "environment"
    assert data["stack"]["source"] == "MLRIG_ACTIVE_STACK"
    assert [o["scope"] for o in data["stack"]["overrides"]] == ["local", "global"]
    assert data["repository"] == str(repo)
    table = cli("status").stdout
    assert "PROFILE" in table and "STACK" in table and "environment" in table
    assert "overrides" in table


@pytest.mark.parametrize("command", [
    ("profile", "list"), ("profile", "set", "default"), ("status",), ("stack", "list"),
])
def test_repair_commands_work_with_missing_profile(cli, monkeypatch, command) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLRIG_ACTIVE_PROFILE", "ghost")
    result = cli(*command)
    if command == ("stack", "list"):
        # nothing to list in a profile that does not exist: it fails naming the scope
        assert result.exit_code == 1
        assert "'ghost'" in result.stderr and "environment" in result.stderr
    else:
        assert result.exit_code == 0, result.output


def test_missing_stack_fails_every_other_command(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLRIG_ACTIVE_STACK", "ghost")
    result = cli("orchestrator", "list")
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert "'ghost'" in line and "environment" in line and "MLRIG_ACTIVE_STACK" in line
    assert "Traceback" not in result.output
    for repair in (("stack", "list"), ("status",), ("stack", "set", "default")):
        assert cli(*repair).exit_code == 0, repair


def test_delete_refuses_pointers(cli, repo: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the repository pins profile 'default' / stack 'default'; the global config too
    result = cli("profile", "delete", "default", "-y")
    assert result.exit_code == 1 and "globally active" in result.stderr
    monkeypatch.chdir(repo)
    assert cli("profile", "set", "--global", "other").exit_code == 0
    result = cli("profile", "delete", "default", "-y")
    assert result.exit_code == 1
    assert "active profile of the repository" in result.stderr
    assert str(repo / ".mlrig" / "config.yaml") in result.stderr
    monkeypatch.setenv("MLRIG_ACTIVE_PROFILE", "other")
    # inside the repository (which pins profile 'default'), setting a stack of the
    # environment's profile must name the conflict instead of writing the repository
    mismatch = cli("stack", "set", "dev")
    assert mismatch.exit_code == 1 and "--global" in mismatch.stderr
    assert cli("stack", "set", "--global", "dev").exit_code == 0
    result = cli("stack", "delete", "dev", "-y")
    assert result.exit_code == 1 and "global configuration" in result.stderr
    assert "dev" in cli("stack", "list").stdout


def test_use_shell_prints_export_lines(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("profile", "use", "--shell", "--shell-type", "bash", "default")
    assert result.stdout.strip().splitlines() == [
        "export MLRIG_ACTIVE_PROFILE=default;", "unset MLRIG_ACTIVE_STACK;"]
    fish = cli("profile", "use", "--shell", "--shell-type", "fish", "default").stdout
    assert "set -gx MLRIG_ACTIVE_PROFILE 'default';" in fish
    stack = cli("stack", "use", "--shell", "--shell-type", "zsh", "default").stdout
    assert stack.strip() == "export MLRIG_ACTIVE_STACK=default;"
    missing = cli("profile", "use", "--shell", "ghost")
    assert missing.exit_code == 1 and missing.stdout == ""


def _bash(script: str, env: dict[str, str]) -> Result:
    mlrig = " ".join(mlrig_command())
    proc = subprocess.run(["bash", "-c", script.replace("mlrig", mlrig)],
                          capture_output=True, text=True, env=env, timeout=60)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_two_shells_are_independent(cli, two_profiles) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ)
    shell_a = _bash('eval "$(mlrig profile use --shell other)"; mlrig profile current; '
                    'mlrig stack list >/dev/null; '
                    'eval "$(mlrig stack use --shell dev)"; mlrig stack current', env)
    assert shell_a.exit_code == 0, shell_a.stderr
    assert shell_a.stdout.split() == ["other", "dev"]
    shell_b = _bash("mlrig profile current; mlrig stack current", env)
    assert shell_b.stdout.split() == ["default", "default"]
    assert "(global)" in _bash("mlrig stack list", env).stderr


def test_flag_affects_one_command_only(mlrig_exe, cli, two_profiles) -> None:  # type: ignore[no-untyped-def]
    flagged = mlrig_exe("--profile", "other", "--stack", "dev", "stack", "get")
    assert flagged.stdout.strip() == "The active stack is: 'dev'"
    assert mlrig_exe("profile", "current").stdout.strip() == "default"
    assert mlrig_exe("stack", "current").stdout.strip() == "default"


# ---------------------------------------------------------------- profile set in a repository
@pytest.fixture
def pinned_repo(mlrig_exe, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A repository pinning profile 'p' with its stack 's' (p's own active stack: default)."""
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    assert mlrig_exe("--profile", "p", "stack", "register", "s", "-o", "default", "-m",
                     "default", "-a", "default").exit_code == 0
    repo = tmp_path / "repo"
    repo.mkdir()
    assert mlrig_exe("profile", "set", "p", cwd=repo).exit_code == 0  # global: no repo yet
    assert mlrig_exe("init", cwd=repo).exit_code == 0
    assert mlrig_exe("stack", "set", "s", cwd=repo).exit_code == 0
    return repo


def test_setting_the_pinned_profile_again_changes_nothing(  # type: ignore[no-untyped-def]
        mlrig_exe, pinned_repo: Path, config_dir: Path) -> None:
    before = data_files(pinned_repo), data_files(config_dir)
    result = mlrig_exe("profile", "set", "p", cwd=pinned_repo)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Profile 'p' is already active.\n"
    assert (data_files(pinned_repo), data_files(config_dir)) == before
    assert mlrig_exe("stack", "current", cwd=pinned_repo).stdout == "s\n"


def test_switching_profile_in_a_repository_says_which_stack(  # type: ignore[no-untyped-def]
        mlrig_exe, pinned_repo: Path) -> None:
    result = mlrig_exe("profile", "set", "default", cwd=pinned_repo)
    assert result.exit_code == 0, result.stderr
    assert "Active profile changed to: 'default'" in result.stdout
    assert "This repository now uses stack 'default': the active stack of profile " \
        "'default'." in result.stdout
    assert mlrig_exe("stack", "current", cwd=pinned_repo).stdout == "default\n"
    back = mlrig_exe("profile", "set", "p", cwd=pinned_repo)
    assert "This repository now uses stack 'default': the active stack of profile 'p'." \
        in back.stdout
    # an environment variable still choosing another stack is pointed out
    shadowed = mlrig_exe("profile", "set", "default", cwd=pinned_repo,
                         env={"MLRIG_ACTIVE_STACK": "s"})
    assert "MLRIG_ACTIVE_STACK" in shadowed.stderr and "'s'" in shadowed.stderr
