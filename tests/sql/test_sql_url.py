"""SQL URLs: canonical forms, refusals, masking, password options — and cheap to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlrig.exceptions import InputError, StoreError
from mlrig.stores import canonical_url, mask_url, store_options
from mlrig.stores.sql_url import canonical_sql_url, resolve_password, validate_options


@pytest.mark.parametrize(("given", "canonical"), [
    ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
    ("postgres://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"),
    ("postgresql+psycopg://u:p%40ss@h/db?sslmode=require",
     "postgresql+psycopg://u:p%40ss@h/db?sslmode=require"),
    ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
    ("mysql://u:p@h/db", "mysql+pymysql://u:p@h/db"),
    ("mariadb://u:p@h:3307/db", "mariadb+pymysql://u:p@h:3307/db"),
    ("mysql+pymysql://u@h/db?charset=utf8mb4", "mysql+pymysql://u@h/db?charset=utf8mb4"),
    ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
    ("sqlite+pysqlite:////abs/x.db", "sqlite:////abs/x.db"),
])
def test_canonical_forms(given: str, canonical: str) -> None:
    assert canonical_sql_url(given) == canonical
    assert canonical_url("sql", given) == canonical
    assert canonical_sql_url(canonical) == canonical  # stable


def test_relative_and_home_sqlite_paths_become_absolute(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert canonical_sql_url("sqlite:///rel/x.db") == f"sqlite:///{tmp_path}/rel/x.db"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert canonical_sql_url("sqlite:///~/y.db") == f"sqlite:///{tmp_path}/y.db"


@pytest.mark.parametrize(("url", "reason"), [
    ("bogus", "Could not parse"),
    ("", "Could not parse"),
    ("sqlite://", "needs a SQLite file"),
    ("sqlite:///:memory:", "needs a SQLite file"),
    ("oracle+cx_oracle://u:pw@h/db", "'oracle' is not supported"),
    ("mssql://u:pw@h/db", "'mssql' is not supported"),
    ("postgresql+asyncpg://u:pw@h/db", "for asyncio"),
    ("postgresql://u:pw@h", "name the database"),
    ("postgresql://u:pw@/db", "name the server"),
    ("mysql://u:pw@h/\x00", "NUL"),
])
def test_refused_urls_name_the_masked_url(url: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        canonical_sql_url(url)
    assert reason in caught.value.message
    assert ":pw@" not in caught.value.message


@pytest.mark.parametrize(("url", "masked"), [
    ("postgresql+psycopg://alice:s3cret@db/mlrig", "postgresql+psycopg://alice:***@db/mlrig"),
    ("postgresql+psycopg://alice:p%40ss@db/mlrig", "postgresql+psycopg://alice:***@db/mlrig"),
    ("mysql+pymysql://u:a:b@c@h:1/db", "mysql+pymysql://u:***@h:1/db"),
    ("postgresql+psycopg://alice@db/mlrig", "postgresql+psycopg://alice@db/mlrig"),
    ("sqlite:////x/y.db", "sqlite:////x/y.db"),
])
def test_masking(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_password_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://alice@db/mlrig"
    assert validate_options(url, {"password_env": "PW"}) == {"password_env": "PW"}
    monkeypatch.chdir(tmp_path)
    assert validate_options(url, {"password_file": "pw.txt"}) == {
        "password_file": str(tmp_path / "pw.txt")}
    assert store_options("sql", url, {"password_env": None, "password_file": ""}) == {}
    for options, reason in (
        ({"password_env": "A", "password_file": "b"}, "not both"),
        ({"password_env": "1BAD"}, "Invalid environment variable name"),
        ({"password_env": "A-B"}, "Invalid environment variable name"),
        ({"other": 1}, "Unknown option"),
    ):
        with pytest.raises(InputError, match=reason):
            validate_options(url, options)
    with pytest.raises(InputError, match="already contains a password"):
        validate_options("postgresql+psycopg://alice:pw@db/mlrig", {"password_env": "PW"})
    with pytest.raises(InputError, match="SQLite store has no password"):
        validate_options("sqlite:////x.db", {"password_env": "PW"})
    with pytest.raises(InputError, match="SQL stores only"):
        store_options("local", "file:///x", {"password_env": "PW"})


def test_resolve_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://alice@db/mlrig"
    assert resolve_password(url, {}, {}) is None
    assert resolve_password(url, {"password_env": "PW"}, {"PW": "x y\n"}) == "x y\n"
    secret = tmp_path / "pw"
    secret.write_text("line-one\r\n")
    secret.chmod(0o600)
    assert resolve_password(url, {"password_file": str(secret)}, {}) == "line-one"
    with pytest.raises(StoreError, match="PW, which holds its password, is not set"):
        resolve_password(url, {"password_env": "PW"}, {})


def test_checking_a_url_does_not_import_the_sql_store() -> None:
    code = ("import sys; import mlrig.stores.sql_url, mlrig.client; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'alembic', 'psycopg', 'pymysql') or m == 'mlrig.stores.sql'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
