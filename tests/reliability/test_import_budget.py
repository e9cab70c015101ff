"""Import budget: the commands prompts and scripts call most import nothing heavy.

Each command runs in a fresh interpreter (a subprocess: the test process has imported
everything already) through the same entry point as the ``mlrig`` executable; the wrapper
then writes ``sorted(sys.modules)`` to a file, so the command's own output is untouched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlrig.testing.runs import IMPORTS_WRAPPER, env_for, heavy, modules_imported_by

# what counts as heavy: mlrig.testing.runs.HEAVY_MODULES (SQL, HTTP and server libraries)


@pytest.fixture
def local_profile(config_dir: Path, tmp_path: Path) -> Path:
    """A config dir whose default profile (local store) exists, with a second stack."""
    from mlrig.testing.clients import quiet_client

    c = quiet_client(config_dir)
    c.config()
    c.register_component("artifact_store", "lake", "local", {"path": str(tmp_path / "lake")})
    c.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                             "artifact_store": "lake"})
    return config_dir


@pytest.mark.parametrize("args", [
    ("profile", "list"),
    ("stack", "list"),
    ("stack", "list", "-o", "json"),
    ("stack", "describe"),
    ("profile", "current"),
    ("stack", "current"),
    ("--help",),
])
def test_read_commands_on_a_local_profile_import_no_sql_http_or_server(
        local_profile: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    modules = modules_imported_by(local_profile, tmp_path, *args)
    assert "mlrig.cli" in modules  # the wrapper really ran the CLI
    assert heavy(modules) == []


def test_first_run_creating_the_default_profile_imports_no_sql(config_dir: Path,
                                                              tmp_path: Path) -> None:
    assert not config_dir.exists()
    modules = modules_imported_by(config_dir, tmp_path, "profile", "list")
    assert (config_dir / "config.yaml").is_file()
    assert heavy(modules) == []


def test_the_check_itself_sees_a_heavy_import(local_profile: Path, tmp_path: Path) -> None:
    """Guard against a wrapper that silently stops observing imports."""
    out = tmp_path / "modules.json"
    code = IMPORTS_WRAPPER.replace("from mlrig.cli import main",
                                   "import sqlalchemy\nfrom mlrig.cli import main")
    subprocess.run([sys.executable, "-c", code, str(out), "profile", "list"],
                   env=env_for(local_profile), cwd=tmp_path, capture_output=True, timeout=60)
    assert "sqlalchemy" in heavy(json.loads(out.read_text())["modules"])


@pytest.mark.parametrize("args", [("profile", "list"), ("profile", "current"), ("--help",)])
def test_commands_that_do_not_open_the_store_import_no_sql_on_a_sql_profile(
        config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        args: tuple[str, ...]) -> None:
    """These commands only read the global configuration: even when the active profile
    lives in SQLite they have no reason to load SQLAlchemy."""
    monkeypatch.setenv("MLRIG_DEFAULT_STORE_TYPE", "sql")
    from mlrig.testing.clients import quiet_client

    c = quiet_client(config_dir)
    assert c.config().profiles["default"].store_type == "sql"
    modules = modules_imported_by(config_dir, tmp_path, *args)
    assert heavy(modules) == []


@pytest.mark.parametrize("args", [("stack", "list"), ("stack", "list", "-o", "json"),
                                  ("stack", "describe"), ("profile", "list")])
def test_commands_on_a_rest_profile_import_no_server_sql_or_http_library(
        config_dir: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    """A rest profile's client is mlrig's own HTTP on the standard library's socket: the
    server's libraries (FastAPI, uvicorn), SQLAlchemy and HTTP packages stay out."""
    from mlrig.testing.clients import quiet_client
    from mlrig.testing.server import served

    with served(tmp_path / "srv") as server:
        c = quiet_client(config_dir)
        c.config()
        token_file = tmp_path / "token"
        token_file.write_text(server.admin_token)
        token_file.chmod(0o600)
        c.create_profile("team", store_type="rest", url=server.url,
                         options={"token_file": str(token_file)})
        c.set_profile("team")
        c.close()
        modules = modules_imported_by(config_dir, tmp_path, *args)
    assert "mlrig.stores.rest" in modules or args == ("profile", "list")
    assert heavy([*modules]) == []
    assert "http.client" not in modules and "email.parser" not in modules


@pytest.mark.parametrize("store_type", ["local", "sql"])
@pytest.mark.parametrize("args", [("profile", "current"), ("stack", "current")])
def test_prompt_commands_import_neither_the_client_nor_sql(
        config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_type: str,
        args: tuple[str, ...]) -> None:
    """Shell prompts run these on every prompt: they answer from the configuration and scope
    files (mlrig.prompt), opening no store, even when the profile lives in SQLite."""
    monkeypatch.setenv("MLRIG_DEFAULT_STORE_TYPE", store_type)
    from mlrig.testing.clients import quiet_client

    c = quiet_client(config_dir)
    assert c.config().profiles["default"].store_type == store_type
    c.close()
    monkeypatch.delenv("MLRIG_DEFAULT_STORE_TYPE")
    modules = modules_imported_by(config_dir, tmp_path, *args)
    assert "mlrig.prompt" in modules
    assert heavy(modules) == []
    assert [m for m in ("mlrig.client", "click", "rich", "yaml", "pathlib", "sqlite3",
                        "json", "re", "typing") if m in modules] == []


@pytest.mark.parametrize("args", [("stack", "list"), ("stack", "list", "-o", "json"),
                                  ("stack", "describe"), ("status",),
                                  ("artifact-store", "list")])
def test_reads_of_a_sqlite_profile_import_no_sqlalchemy(
        config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        args: tuple[str, ...]) -> None:
    """A SQLite profile at the head schema is read with the standard library's sqlite3
    (mlrig.stores.sql_fast): SQLAlchemy costs more than the queries."""
    monkeypatch.setenv("MLRIG_DEFAULT_STORE_TYPE", "sql")
    from mlrig.testing.clients import quiet_client

    c = quiet_client(config_dir)
    assert c.config().profiles["default"].store_type == "sql"
    c.close()
    monkeypatch.delenv("MLRIG_DEFAULT_STORE_TYPE")
    modules = modules_imported_by(config_dir, tmp_path, *args)
    assert "mlrig.stores.sql_fast" in modules
    assert heavy(modules) == []


@pytest.mark.parametrize("args", [
    ("artifact-store", "list"),
    ("artifact-store", "list", "-o", "json"),
    ("artifact-store", "describe", "lake"),
    ("metadata-store", "list"),
    ("stack", "describe", "dev"),
])
def test_component_reads_mask_secrets_without_pydantic(
        local_profile: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    """A built-in flavor's secret fields come from a table (kept equal to the schemas by
    tests/unit/test_flavors.py): listing and describing components loads no pydantic."""
    modules = modules_imported_by(local_profile, tmp_path, *args)
    assert "mlrig.cli" in modules
    assert not any(m == "pydantic" or m.startswith(("pydantic.", "pydantic_core"))
                   for m in modules)


@pytest.mark.parametrize("args", [
    ("artifact-store", "register", "shelf", "-f", "local", "--path=/srv/shelf"),
    ("artifact-store", "update", "lake", "--path=/srv/lake-2"),
])
def test_component_writes_validate_with_the_engine_alone(
        local_profile: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    """A built-in flavor's config is validated by pydantic-core's compiled extension:
    neither pydantic nor the package's schema-building helpers are imported."""
    modules = modules_imported_by(local_profile, tmp_path, *args)
    assert "mlrig.cli" in modules
    assert "pydantic_core._pydantic_core" in modules  # the write really validated
    assert not any(m == "pydantic" or m.startswith("pydantic.") for m in modules)
    assert "pydantic_core.core_schema" not in modules
