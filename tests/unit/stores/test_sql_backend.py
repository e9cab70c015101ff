"""The SQL backend's PostgreSQL fast path imports psycopg2 without Python's ``ssl`` (psycopg2
falls back to libpq's own OpenSSL locking), and everything still works: the connection, and
``ssl`` for whoever imports it afterwards."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_THEN_CONNECT = """
import json, sys
from mlrig.stores.sql_backend import _import_psycopg2
if "ssl" in sys.modules:  # this interpreter's start-up imported it (a .pth file)
    print("ssl at start-up")
    sys.exit(0)
psycopg2 = _import_psycopg2()
assert "ssl" not in sys.modules, "ssl was imported"
with psycopg2.connect(**json.loads(sys.argv[1])) as conn, conn.cursor() as cur:
    cur.execute("SELECT 41 + 1")
    assert cur.fetchone() == (42,)
conn.close()
import ssl
assert ssl.create_default_context() is not None
print("ok")
"""

_SSL_FIRST = """
import ssl, sys
from mlrig.stores.sql_backend import _import_psycopg2
psycopg2 = _import_psycopg2()
assert sys.modules["ssl"] is ssl and psycopg2.__version__
print("ok")
"""


def _run(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_psycopg2_without_ssl_connects_and_leaves_ssl_importable(pg_url: str) -> None:
    from mlrig.stores.sql_fast import postgres_params

    params = postgres_params(pg_url)
    assert params is not None
    out = _run(_THEN_CONNECT, json.dumps(params))
    if out == "ssl at start-up":
        pytest.skip("this interpreter imports ssl at start-up")
    assert out == "ok"


def test_an_ssl_already_imported_is_left_as_it_is() -> None:
    assert _run(_SSL_FIRST) == "ok"


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u@127.0.0.1:5433/db",
     {"dbname": "db", "host": "127.0.0.1", "port": 5433, "user": "u"}),
    ("postgresql+psycopg2://us%40er:p%3Aw%25d@127.0.0.1/d%2Fb",
     {"dbname": "d/b", "host": "127.0.0.1", "user": "us@er", "password": "p:w%d"}),
    ("postgresql://u:@[::1]:5432/db?sslmode=require&application_name=a%20b",
     {"dbname": "db", "host": "::1", "port": 5432, "user": "u", "password": "",
      "sslmode": "require", "application_name": "a b"}),
    ("postgresql://u@127.0.0.1/db?host=/tmp", None),  # libpq and SQLAlchemy differ: SqlStore's
    ("postgresql://u@127.0.0.1:x/db", None),
    ("mysql://u@127.0.0.1/db", None),
    ("postgresql://u@127.0.0.1/", None),
])
def test_postgres_params_decode_the_url_as_sqlalchemy_does(
        url: str, expected: dict[str, object] | None) -> None:
    from mlrig.stores.sql_fast import postgres_params

    assert postgres_params(url) == expected


def test_a_plain_postgresql_url_is_read_without_urllib() -> None:
    code = ("import sys\nif 'urllib.parse' in sys.modules: print('at start-up'); sys.exit()\n"
            "from mlrig.stores.sql_fast import postgres_params\n"
            "assert postgres_params('postgresql://u:pw@127.0.0.1:5433/db')['password'] == 'pw'\n"
            "print('urllib.parse' in sys.modules)")
    out = _run(code)
    if out == "at start-up":
        pytest.skip("this interpreter imports urllib.parse at start-up")
    assert out == "False"
