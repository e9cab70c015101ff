"""Credentials in a store URL: never shown, wherever the URL appears.

A driver takes a password from more places than ``user:password@``: libpq reads
``?password=`` and ``?sslpassword=``, PyMySQL ``?passwd=`` and ``?password=``, and SQLAlchemy
percent-decodes the keys first (``?pass%77ord=``). mlrig refuses such URLs when a profile is
created or migrated (pointing to ``--password-env`` / ``--password-file``), and masks them in
everything it shows for profiles written before that (a hand-edited or older
``config.yaml``): tables, JSON/YAML output, describe, status, prompts, connection errors.
The secret is looked for anywhere in the output and in every file written.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlrig.stores import mask_url, url_secrets
from mlrig.testing.files import diff, snapshot
from mlrig.testing.runs import Run, assert_one_line_error, error_lines, run_mlrig_in

SECRET = "Qv7-hunter2-Zk"


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def query_urls(port: int) -> list[str]:
    """URLs that carry SECRET where some driver would take it as a credential."""
    return [
        f"postgresql://mlrig@127.0.0.1:{port}/db?password={SECRET}",
        f"postgresql+psycopg://127.0.0.1:{port}/db?user=a&password={SECRET}",
        f"postgresql://mlrig@127.0.0.1:{port}/db?sslmode=require&sslpassword={SECRET}",
        f"postgresql://mlrig@127.0.0.1:{port}/db?pass%77ord={SECRET}",
        f"postgresql://mlrig@127.0.0.1:{port}/db?%70assword={SECRET}&application_name=x",
        f"mysql://127.0.0.1:{port}/db?user=a&passwd={SECRET}",
        f"mysql+pymysql://a@127.0.0.1:{port}/db?password={SECRET}",
        f"mariadb://a@127.0.0.1:{port}/db?PASSWORD={SECRET}",
        f"mysql://a@127.0.0.1:{port}/db?ssl_key_password={SECRET}",
    ]


def assert_not_leaked(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, text[-2000:]


# ------------------------------------------------------------------------ the mask itself
@pytest.mark.parametrize("url", [
    *query_urls(5432),
    f"postgresql://u:{SECRET}@h/db",
    f"postgresql://u:{SECRET}@h/db?password={SECRET}",
    f"postgresql://u:pa@{SECRET}@h/db",          # an unencoded '@' in the password
    f"postgresql://u:pa?{SECRET}@h/db",          # a '?' in the password
    f"mysql://u:{SECRET}@h:3306/db?x=a@b",
    f"postgresql://u@h/db?password={SECRET}&password={SECRET}x",
    f"postgresql://u@h/db?oauth_client_secret={SECRET}",
    f"postgresql:/u:{SECRET}@h/db",              # not even a valid URL
    f"postgresql://u@h/db?pass+word={SECRET}",
    f"postgresql://u@h/db?pass%2577ord={SECRET}",  # encoded twice
])
def test_the_mask_hides_every_credential_a_driver_would_read(url: str) -> None:
    shown = mask_url(url)
    assert SECRET not in shown
    assert "***" in shown
    assert any(SECRET in secret for secret in url_secrets(url))


@pytest.mark.parametrize("url", ["postgresql://u@h:5432/db?sslmode=require&passfile=/p",
                                 "sqlite:////tmp/x.db", "file:///tmp/store",
                                 "mysql://u@127.0.0.1:3306/db?charset=utf8mb4"])
def test_the_mask_leaves_urls_without_credentials_alone(url: str) -> None:
    assert mask_url(url) == url


# ------------------------------------------------------------------------ refused when given
@pytest.mark.parametrize("index", range(len(query_urls(1))))
def test_a_password_in_the_query_string_is_refused(config_dir: Path, tmp_path: Path,
                                                    index: int) -> None:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    url = query_urls(closed_port())[index]
    before = snapshot(tmp_path)
    for args in (["profile", "create", "team", "--store-type", "sql", "--url", url],
                 ["profile", "migrate", "default", "--to-store-type", "sql", "--url", url]):
        result = run_mlrig_in(config_dir, *args, timeout=60)
        line = assert_one_line_error(result.exit_code, result.stdout, result.stderr, codes=(1,))
        assert "--password-env" in line and "--password-file" in line
        assert_not_leaked(result.stdout, result.stderr)
    assert diff(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------------ masked when kept
def add_profiles(config_dir: Path, urls: dict[str, str]) -> None:
    """Profiles as an older mlrig (or a hand edit) may have left them in config.yaml."""
    path = config_dir / "config.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, url in urls.items():
        data["profiles"][name] = {"store_type": "sql", "store_url": url,
                                  "active_stack": "default"}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert run_mlrig_in(config_dir, "profile", "list").exit_code == 0  # rebuilds the read cache


def assert_one_error(result: Run) -> str:
    """Exit 1, one ``Error:`` line (progress lines may come before it), no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert not errors[0].startswith("Error: unexpected "), errors[0]
    return errors[0]


@pytest.fixture
def legacy(config_dir: Path) -> dict[str, str]:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    urls = {f"legacy{i}": url for i, url in enumerate(query_urls(closed_port()))}
    add_profiles(config_dir, urls)
    return urls


def test_kept_query_passwords_are_masked_in_every_listing(config_dir: Path, tmp_path: Path,
                                                          legacy: dict[str, str]) -> None:
    before = snapshot(tmp_path)
    outputs = []
    for args in (["profile", "list"], ["profile", "list", "-o", "json"],
                 ["profile", "list", "-o", "yaml"], ["status"], ["status", "-o", "json"],
                 *(["profile", "describe", name, *extra] for name in legacy
                   for extra in ([], ["-o", "json"]))):
        result = run_mlrig_in(config_dir, *args)
        assert result.exit_code == 0, (args, result.stderr)
        outputs += [result.stdout, result.stderr]
    assert_not_leaked(*outputs)
    listed = run_mlrig_in(config_dir, "profile", "list", "-o", "json").stdout
    assert listed.count("***") >= len(legacy)
    assert diff(before, snapshot(tmp_path)) == []


def test_kept_query_passwords_are_masked_when_the_store_is_used(
        config_dir: Path, tmp_path: Path, legacy: dict[str, str]) -> None:
    """Connection errors (the server refuses), the delete prompt, export and migrate."""
    before = snapshot(tmp_path)
    for name in legacy:
        for args in (["--profile", name, "stack", "list"],
                     ["--profile", name, "status"],
                     ["profile", "export", name, str(tmp_path / "out.yaml")],
                     ["profile", "migrate", name, "--to-store-type", "local"],
                     ["--profile", name, "artifact-store", "list"]):
            result = run_mlrig_in(config_dir, *args, timeout=60)
            assert "Traceback" not in result.stderr
            assert_not_leaked(result.stdout, result.stderr)
        prompt = run_mlrig_in(config_dir, "profile", "delete", name, input="n\n")
        assert_not_leaked(prompt.stdout, prompt.stderr)
    # config.yaml keeps the URL as it was written (mode 0600), and so does its read cache;
    # nothing else mlrig wrote may hold the secret
    written = {k: v for k, v in snapshot(tmp_path).items()
               if not k.endswith(("config.yaml", ".config.yaml.cache.json"))}
    assert_not_leaked(*(v.decode("utf-8", "replace") for v in written.values() if v))
    assert diff(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------------ real servers
def _server(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set (scripts/start-postgres.sh, start-mariadb.sh)")
    return url


@pytest.mark.parametrize("variable", ["MLRIG_TEST_POSTGRES_URL", "MLRIG_TEST_MYSQL_URL"])
def test_a_kept_query_password_connects_and_is_never_shown(
        config_dir: Path, tmp_path: Path, variable: str) -> None:
    """Against a real server: the password in the query string works (the driver reads
    it), a wrong one fails with a one-line error; neither is ever shown."""
    from sqlalchemy.engine import make_url

    server = make_url(_server(variable))
    key = "password" if server.get_backend_name() == "postgresql" else "passwd"
    base = server.set(password=None)
    good = base.update_query_dict({key: server.password or ""})
    wrong = base.update_query_dict({key: SECRET})
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    add_profiles(config_dir, {"good": good.render_as_string(hide_password=False),
                              "wrong": wrong.render_as_string(hide_password=False)})
    listed = run_mlrig_in(config_dir, "profile", "list", "-o", "json")
    assert f"{key}=***" in listed.stdout and f"{key}={server.password}" not in listed.stdout
    before = snapshot(tmp_path)
    result = run_mlrig_in(config_dir, "--profile", "wrong", "stack", "list", timeout=90)
    assert_one_error(result)
    assert_not_leaked(result.stdout, result.stderr)
    assert diff(before, snapshot(tmp_path)) == []
    # the good one really reaches the server: an empty database is "no mlrig store"
    reached = run_mlrig_in(config_dir, "--profile", "good", "stack", "list", timeout=90)
    assert "password authentication failed" not in reached.stderr
    assert "Access denied" not in reached.stderr
    assert f"{key}={server.password}" not in reached.stdout + reached.stderr


# ------------------------------------------------------------------------ a silent server
@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_a_password_in_the_url_is_masked_in_a_timeout_error(
        config_dir: Path, tmp_path: Path, silent_port: int, scheme: str) -> None:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    before = snapshot(tmp_path)
    url = f"{scheme}://mlrig:{SECRET}@127.0.0.1:{silent_port}/db?connect_timeout=2"
    result = run_mlrig_in(config_dir, "profile", "create", "team", "-t", "sql", "--url", url,
                       timeout=60)
    assert_one_error(result)
    assert_not_leaked(result.stdout, result.stderr)
    assert diff(before, snapshot(tmp_path)) == []
