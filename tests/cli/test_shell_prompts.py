"""``mlrig profile current`` / ``mlrig stack current`` (answered by :mod:`mlrig.prompt` from
the files) give what the full command gives, in every scope, on local, SQLite and rest
profiles: the same name, or the same error.

The full command is the real click application (``mlrig.cli.app.run``) in its own
interpreter; the prompt's is the real ``mlrig`` executable. Where the prompt answers by
itself (no store to open), the test also checks that it loaded neither the client nor
SQLAlchemy nor the server's or HTTP libraries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrig.testing.clients import quiet_client
from mlrig.testing.runs import IMPORTS_WRAPPER, env_for, heavy, run_mlrig_in

FULL = "import sys; from mlrig.cli.app import run; sys.exit(run(sys.argv[1:]))"


def full_command(config_dir: Path, cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-c", FULL, *args], capture_output=True, text=True,
                          env=env_for(config_dir, **env), cwd=cwd, timeout=60,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


def prompt_modules(config_dir: Path, cwd: Path, out: Path, *args: str, **env: str
                   ) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", IMPORTS_WRAPPER, str(out), *args],
                          capture_output=True, text=True, env=env_for(config_dir, **env),
                          cwd=cwd, timeout=60)
    assert out.exists(), proc.stderr
    return list(json.loads(out.read_text())["modules"])


@pytest.fixture(params=["local", "sqlite", "rest"])
def world(request: pytest.FixtureRequest, config_dir: Path, tmp_path: Path
          ) -> Iterator[tuple[str, Path, Path]]:
    """Profile ``p`` (active, on the store type of the param) with stacks ``default`` and
    ``dev``; a second profile ``q``; a repository ``repo`` (not initialised yet)."""
    c = quiet_client(config_dir)
    c.config()
    kind = request.param
    server_cm = None
    if kind == "local":
        c.create_profile("p")
    elif kind == "sqlite":
        c.create_profile("p", store_type="sql")
    else:
        from mlrig.testing.server import served

        server_cm = served(tmp_path / "srv")
        server = server_cm.__enter__()
        token = tmp_path / "token"
        token.write_text(server.admin_token)
        token.chmod(0o600)
        c.create_profile("p", store_type="rest", url=server.url,
                         options={"token_file": str(token)})
    c.set_profile("p", global_=True)
    c = quiet_client(config_dir)
    c.register_component("artifact_store", "lake", "local", {"path": str(tmp_path / "lake")})
    c.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                             "artifact_store": "lake"})
    c.create_profile("q")
    c.close()
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    try:
        yield kind, config_dir, repo
    finally:
        if server_cm is not None:
            server_cm.__exit__(None, None, None)


def same_as_full(config_dir: Path, cwd: Path, what: str, **env: str) -> tuple[int, str]:
    prompt = run_mlrig_in(config_dir, what, "current", cwd=cwd, **env)
    code, out, err = full_command(config_dir, cwd, what, "current", **env)
    assert (prompt.exit_code, prompt.stdout, prompt.stderr) == (code, out, err)
    return code, out.strip() if code == 0 else err


def answered_alone(config_dir: Path, cwd: Path, tmp_path: Path, what: str, **env: str
                   ) -> None:
    modules = prompt_modules(config_dir, cwd, tmp_path / f"{what}.json", what, "current",
                             **env)
    assert "mlrig.prompt" in modules
    assert "mlrig.client" not in modules and "pathlib" not in modules
    assert heavy(modules) == []


def test_global_scope(world: tuple[str, Path, Path], tmp_path: Path) -> None:
    _, config_dir, repo = world
    assert same_as_full(config_dir, repo, "profile") == (0, "p")
    assert same_as_full(config_dir, repo, "stack") == (0, "default")
    for what in ("profile", "stack"):
        answered_alone(config_dir, repo, tmp_path, what)
    quiet_client(config_dir).set_stack("dev", global_=True)
    assert same_as_full(config_dir, repo, "stack") == (0, "dev")
    answered_alone(config_dir, repo, tmp_path, "stack")


def test_environment_scope(world: tuple[str, Path, Path], tmp_path: Path) -> None:
    kind, config_dir, repo = world
    assert same_as_full(config_dir, repo, "stack", MLRIG_ACTIVE_STACK="dev") == (0, "dev")
    assert same_as_full(config_dir, repo, "stack", MLRIG_ACTIVE_STACK="default") == (
        0, "default")
    answered_alone(config_dir, repo, tmp_path, "stack", MLRIG_ACTIVE_STACK="default")
    if kind == "local":  # a local store is looked at directly
        answered_alone(config_dir, repo, tmp_path, "stack", MLRIG_ACTIVE_STACK="dev")
    code, err = same_as_full(config_dir, repo, "stack", MLRIG_ACTIVE_STACK="nope")
    assert code == 1 and "The active stack 'nope' set by the environment scope" in err
    assert same_as_full(config_dir, repo, "profile", MLRIG_ACTIVE_PROFILE="q") == (0, "q")
    answered_alone(config_dir, repo, tmp_path, "profile", MLRIG_ACTIVE_PROFILE="q")
    code, err = same_as_full(config_dir, repo, "profile", MLRIG_ACTIVE_PROFILE="nope")
    assert code == 1 and "The active profile 'nope' set by the environment scope" in err
    code, err = same_as_full(config_dir, repo, "profile", MLRIG_ACTIVE_PROFILE="bad/name")
    assert code != 0 and "MLRIG_ACTIVE_PROFILE" in err
    code, err = same_as_full(config_dir, repo, "stack", MLRIG_LOCK_TIMEOUT="soon")
    assert code != 0 and "MLRIG_LOCK_TIMEOUT" in err


def test_repository_scope(world: tuple[str, Path, Path], tmp_path: Path) -> None:
    _, config_dir, repo = world
    c = quiet_client(config_dir, cwd=repo)
    c.init_repository(repo)
    c = quiet_client(config_dir, cwd=repo)
    c.set_stack("dev")
    for cwd in (repo, repo / "sub"):
        assert same_as_full(config_dir, cwd, "profile") == (0, "p")
        assert same_as_full(config_dir, cwd, "stack") == (0, "dev")
        answered_alone(config_dir, cwd, tmp_path, "profile")
    assert same_as_full(config_dir, tmp_path, "stack",
                        MLRIG_REPOSITORY_PATH=str(repo)) == (0, "dev")
    code, err = same_as_full(config_dir, tmp_path, "stack",
                             MLRIG_REPOSITORY_PATH=str(tmp_path / "lake"))
    assert code != 0 and "MLRIG_REPOSITORY_PATH" in err
    # the repository names a stack that another command deleted meanwhile
    c = quiet_client(config_dir, cwd=tmp_path)
    c.set_stack("dev", global_=True)
    c.rename_stack("dev", "dev2")  # moves the global pointer, not this repository's
    assert same_as_full(config_dir, tmp_path, "stack") == (0, "dev2")
    code, err = same_as_full(config_dir, repo, "stack")
    assert code == 1 and "The active stack 'dev' set by the local scope" in err
    # a repository pinned to another profile: its stack does not count under this one
    quiet_client(config_dir, cwd=repo).set_stack("dev2")
    assert same_as_full(config_dir, repo, "stack", MLRIG_ACTIVE_PROFILE="q") == (
        0, "default")


def test_a_missing_profile_in_the_global_scope_and_the_first_run(
        config_dir: Path, tmp_path: Path) -> None:
    assert not config_dir.exists()
    first = run_mlrig_in(config_dir, "stack", "current", cwd=tmp_path)
    assert first.exit_code == 0 and first.stdout == "default\n"
    assert "Created and activated default profile." in first.stderr
    text = (config_dir / "config.yaml").read_text()
    (config_dir / "config.yaml").write_text(
        text.replace("active_profile: default", "active_profile: gone"))
    code, err = same_as_full(config_dir, tmp_path, "profile")
    assert code == 1 and "The active profile 'gone' set by the global scope" in err


def test_a_corrupt_configuration_is_reported_as_by_every_command(
        config_dir: Path, tmp_path: Path) -> None:
    """A file the full parser refuses is never answered from: its copy was never checked."""
    quiet_client(config_dir).config()
    path = config_dir / "config.yaml"
    path.write_text(path.read_text().replace("store_type: local", "store_type: floppy"))
    quiet_client_error = full_command(config_dir, tmp_path, "stack", "list")
    assert quiet_client_error[0] != 0
    code, err = same_as_full(config_dir, tmp_path, "profile")
    assert code != 0 and "malformed" in err


def test_a_local_stack_deleted_through_another_profile_sharing_the_store(
        config_dir: Path, tmp_path: Path) -> None:
    """Two profiles on one local store: the stack one of them records is deleted through the
    other; the prompt sees the store, not the pointer."""
    c = quiet_client(config_dir)
    c.config()
    c.register_component("artifact_store", "lake", "local", {"path": str(tmp_path / "lake")})
    c.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                             "artifact_store": "lake"})
    url = c.config().profiles["default"].store_url
    c.create_profile("twin", url=url)
    c.set_profile("twin", global_=True)
    c = quiet_client(config_dir)
    c.set_stack("dev", global_=True)
    assert same_as_full(config_dir, tmp_path, "stack") == (0, "dev")
    c = quiet_client(config_dir, profile="default")
    c.delete_stack("dev")
    code, err = same_as_full(config_dir, tmp_path, "stack")
    assert code == 1 and "The active stack 'dev' set by the global scope" in err


def test_the_prompt_never_trusts_an_unchecked_copy(config_dir: Path, tmp_path: Path) -> None:
    """A JSON copy written before copies were checked is checked by the next full read."""
    quiet_client(config_dir).config()
    cache = config_dir / ".config.yaml.cache.json"
    record = json.loads(cache.read_text())
    assert record["checked"] is True
    del record["checked"]
    cache.write_text(json.dumps(record))
    modules = prompt_modules(config_dir, tmp_path, tmp_path / "m.json", "profile", "current")
    assert "mlrig.client" in modules  # not trusted: the full command answered
    assert json.loads(cache.read_text())["checked"] is True
    assert "mlrig.client" not in prompt_modules(config_dir, tmp_path, tmp_path / "n.json",
                                                "profile", "current")


def test_the_default_config_dir_is_platformdirs_own(tmp_path: Path) -> None:
    from platformdirs import user_config_dir

    from mlrig.prompt import _Resolver

    if not sys.platform.startswith("linux"):
        pytest.skip("the prompt asks platformdirs itself elsewhere")
    for value in ("", " ", str(tmp_path / "xdg")):
        env = {"XDG_CONFIG_HOME": value, "HOME": str(tmp_path)}
        old = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(env)
            expected = user_config_dir("mlrig", appauthor=False)
            assert _Resolver(env, None).config_dir() == expected
        finally:
            os.environ.clear()
            os.environ.update(old)


def test_the_prompt_uses_the_full_resolution_s_file_names() -> None:
    from mlrig import prompt
    from mlrig.config import global_config, repository
    from mlrig.core import intents
    from mlrig.fsutil import MAX_FILE_BYTES
    from mlrig.stores import local

    assert (prompt.CONFIG_FILE, prompt.CONFIG_VERSION) == (
        global_config.CONFIG_FILE, global_config.CONFIG_VERSION)
    assert prompt.PENDING_DIR == intents.PENDING_DIR
    assert (prompt.REPO_DIR, prompt.REPO_CONFIG_VERSION) == (
        repository.REPO_DIR, repository.REPO_CONFIG_VERSION)
    assert (prompt.LOCAL_MARKER, prompt.LOCAL_MARKER_TEXT, prompt.LOCAL_JOURNAL,
            prompt.LOCAL_STACKS, prompt.LOCAL_FORMAT_VERSION) == (
        local._MARKER, local._MARKER_TEXT, local._JOURNAL, local._STACKS,
        local.FORMAT_VERSION)
    assert prompt.MAX_FILE_BYTES == MAX_FILE_BYTES


def same_status(config_dir: Path, cwd: Path, **env: str) -> str:
    fast = run_mlrig_in(config_dir, "status", cwd=cwd, **env)
    code, out, err = full_command(config_dir, cwd, "status", **env)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (code, out, err)
    return out


def test_status_of_a_local_profile_in_every_scope(config_dir: Path, tmp_path: Path) -> None:
    """``mlrig status`` of a local profile is drawn from the files (mlrig.prompt), and says
    what the full command says: the scopes, what they override, a missing name."""
    c = quiet_client(config_dir)
    c.config()
    c.register_component("artifact_store", "lake", "local", {"path": str(tmp_path / "lake")})
    c.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                             "artifact_store": "lake"})
    c.create_profile("q")
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    assert "default" in same_status(config_dir, repo)
    modules = prompt_modules(config_dir, repo, tmp_path / "s.json", "status")
    assert "mlrig.client" not in modules and "click" not in modules
    # of an all-local configuration: neither the records' dataclasses nor pathlib
    assert [m for m in ("mlrig.models", "dataclasses", "pathlib", "mlrig.stores.local")
            if m in modules] == []
    assert "(MISSING)" in same_status(config_dir, repo, MLRIG_ACTIVE_STACK="nope")
    assert "(MISSING)" in same_status(config_dir, repo, MLRIG_ACTIVE_PROFILE="nope")
    assert "overrides" in same_status(config_dir, repo, MLRIG_ACTIVE_STACK="dev")
    quiet_client(config_dir, cwd=repo).init_repository(repo)
    quiet_client(config_dir, cwd=repo).set_stack("dev")
    for cwd in (repo, repo / "sub"):
        out = same_status(config_dir, cwd)
        assert "local" in out and "repository: " in out
    assert "q" in same_status(config_dir, repo / "sub", MLRIG_ACTIVE_PROFILE="q")
    assert "local" in same_status(config_dir, tmp_path, MLRIG_REPOSITORY_PATH=str(repo))
    # a file others may read: the warning (printed by the full command) is the same
    lake = next((config_dir / "profiles").rglob("lake.yaml"))
    lake.chmod(0o644)  # a component file, found by the store's own layout
    fast = run_mlrig_in(config_dir, "status", cwd=repo)
    assert f"'{lake}' has mode 644, wider than 600" in fast.stderr
    assert (fast.exit_code, fast.stdout, fast.stderr) == full_command(config_dir, repo,
                                                                       "status")
    lake.chmod(0o600)
    (config_dir / "config.yaml").chmod(0o644)
    fast = run_mlrig_in(config_dir, "status", cwd=repo)
    assert "wider than 600" in fast.stderr
    assert (fast.exit_code, fast.stdout, fast.stderr) == full_command(config_dir, repo,
                                                                       "status")


def test_status_of_a_sqlite_profile(config_dir: Path, tmp_path: Path) -> None:
    """On SQLite the stack is looked up with sqlite3: no SQLAlchemy, no click, the same
    table; a database to upgrade or read-only is left to the full command."""
    c = quiet_client(config_dir)
    c.config()
    c.create_profile("s", store_type="sql")
    c.set_profile("s", global_=True)
    c.close()
    assert "default" in same_status(config_dir, tmp_path)
    modules = prompt_modules(config_dir, tmp_path, tmp_path / "s.json", "status")
    assert "mlrig.stores.sql_fast" in modules
    assert "click" not in modules and heavy(modules) == []
    assert "(MISSING)" in same_status(config_dir, tmp_path, MLRIG_ACTIVE_STACK="nope")


def test_status_of_a_postgres_profile(config_dir: Path, tmp_path: Path, pg_url: str) -> None:
    """On PostgreSQL the stack is looked up with psycopg2: no SQLAlchemy, no click, the same
    table as the full command; a store that cannot be reached is the full command's
    error."""
    from mlrig.testing.sql import with_password

    c = quiet_client(config_dir)
    c.config()
    c.create_profile("p", store_type="sql", url=pg_url)
    c.set_profile("p", global_=True)
    c.close()
    assert "default" in same_status(config_dir, tmp_path)
    modules = prompt_modules(config_dir, tmp_path, tmp_path / "s.json", "status")
    assert "mlrig.stores.sql_fast" in modules and "psycopg2" in modules
    assert "click" not in modules
    assert [m for m in modules if m.split(".")[0] in ("sqlalchemy", "psycopg")] == []
    # nor what only a local store or a SQLite file needs (pathlib, fsutil, urllib.parse)
    assert [m for m in ("pathlib", "mlrig.fsutil", "urllib.parse", "sqlite3")
            if m in modules] == []
    assert "(MISSING)" in same_status(config_dir, tmp_path, MLRIG_ACTIVE_STACK="nope")
    config = config_dir / "config.yaml"
    config.write_text(config.read_text().replace(pg_url, with_password(pg_url, "wrong-pw")))
    same_status(config_dir, tmp_path)  # the full command's answer: its error line
    failed = run_mlrig_in(config_dir, "status", cwd=tmp_path)
    assert failed.exit_code == 1 and "password authentication failed" in failed.stderr
    assert "wrong-pw" not in failed.stderr
