"""A database server that accepts the connection and then never answers.

Each connection attempt has one overall deadline (10 s, or the URL's ``connect_timeout``)
on every driver: PyMySQL's own timeout covers only the TCP connect, so its handshake is
bounded by mlrig. The listeners here are real sockets on 127.0.0.1 (no traffic leaves the
machine): one that never sends a byte, one that dribbles a byte now and then so that no
single read ever times out. Every command must end with one error line, change nothing and
show no password; the subprocess timeout is only a guard against a hang.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrig.testing.files import diff, snapshot
from mlrig.testing.runs import Run, error_lines, run_mlrig_in

SECRET = "Silent-Pw-8812"
#: far above every deadline involved: only a hang reaches it
GUARD = 120


class Listener:
    """Accepts on 127.0.0.1; ``dribble`` sends one byte of a never-ending MySQL greeting
    packet every so often instead of staying silent."""

    def __init__(self, dribble: float | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.dribble = dribble
        self.accepted = 0
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self._held.append(conn)
            if self.dribble is not None:
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        # a packet header announcing 16 MB, then its body one byte at a time
        data = b"\xff\xff\xff\x00" + b"\x0a" * 1000
        for byte in data:
            if self._stop.wait(self.dribble):
                return
            try:
                conn.send(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture
def dribbling() -> Iterator[Listener]:
    listener = Listener(dribble=0.5)
    yield listener
    listener.close()


@pytest.fixture
def ready(config_dir: Path) -> Path:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    return config_dir


def assert_gave_up(result: Run) -> str:
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert not errors[0].startswith("Error: unexpected "), errors[0]
    assert SECRET not in result.stdout + result.stderr
    return errors[0]


@pytest.mark.parametrize("scheme", ["mysql", "postgresql"])
def test_profile_create_gives_up_on_a_silent_server(ready: Path, tmp_path: Path,
                                                    silent: Listener, scheme: str) -> None:
    """The reproduction: the default deadline, through `profile create`."""
    before = snapshot(tmp_path)
    url = f"{scheme}://u:{SECRET}@127.0.0.1:{silent.port}/db"
    result = run_mlrig_in(ready, "profile", "create", "team", "-t", "sql", "--url", url,
                       timeout=GUARD)
    line = assert_gave_up(result)
    assert f"127.0.0.1:{silent.port}" in line
    assert silent.accepted >= 1  # it really connected, and then waited
    assert diff(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("scheme", ["mysql+pymysql", "mariadb", "postgresql+psycopg"])
def test_the_url_connect_timeout_is_the_deadline(ready: Path, tmp_path: Path,
                                                 silent: Listener, scheme: str) -> None:
    before = snapshot(tmp_path)
    url = f"{scheme}://u:{SECRET}@127.0.0.1:{silent.port}/db?connect_timeout=2"
    for args in (["profile", "create", "team", "-t", "sql", "--url", url],
                 ["profile", "migrate", "default", "--to-store-type", "sql", "--url", url]):
        assert_gave_up(run_mlrig_in(ready, *args, timeout=GUARD))
    assert diff(before, snapshot(tmp_path)) == []


def test_a_server_that_dribbles_cannot_stretch_the_deadline(ready: Path, tmp_path: Path,
                                                            dribbling: Listener) -> None:
    """No single read waits long, yet the handshake never completes: the deadline covers
    the whole attempt, not each read."""
    before = snapshot(tmp_path)
    url = f"mysql://u:{SECRET}@127.0.0.1:{dribbling.port}/db?connect_timeout=3"
    # the whole greeting would take 500 s to arrive, far past the guard
    assert_gave_up(run_mlrig_in(ready, "profile", "create", "team", "-t", "sql", "--url", url,
                             timeout=GUARD))
    assert diff(before, snapshot(tmp_path)) == []


def test_an_existing_profile_on_a_silent_server(ready: Path, tmp_path: Path,
                                                silent: Listener) -> None:
    """Commands that use a profile (not only create it) give up the same way."""
    import yaml

    path = ready / "config.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, scheme in (("my", "mysql+pymysql"), ("pg", "postgresql+psycopg")):
        data["profiles"][name] = {
            "store_type": "sql", "active_stack": "default",
            "store_url": f"{scheme}://u:{SECRET}@127.0.0.1:{silent.port}/db?connect_timeout=2"}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert run_mlrig_in(ready, "profile", "list").exit_code == 0
    before = snapshot(tmp_path)
    for name in ("my", "pg"):
        for args in (["stack", "list"], ["artifact-store", "list"],
                     ["profile", "export", name, str(tmp_path / "out.yaml")]):
            assert_gave_up(run_mlrig_in(ready, "--profile", name, *args, timeout=GUARD))
    assert diff(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("value", ["0", "-1", "soon", "1e9", "99999999"])
def test_a_connect_timeout_that_never_gives_up_is_refused(ready: Path, tmp_path: Path,
                                                          silent: Listener,
                                                          value: str) -> None:
    before = snapshot(tmp_path)
    url = f"mysql://u@127.0.0.1:{silent.port}/db?connect_timeout={value}"
    result = run_mlrig_in(ready, "profile", "create", "team", "-t", "sql", "--url", url,
                       timeout=GUARD)
    assert "connect_timeout" in assert_gave_up(result)
    assert silent.accepted == 0  # refused before connecting
    assert diff(before, snapshot(tmp_path)) == []
