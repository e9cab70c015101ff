"""Faults: a server that is down or never answers, oversized and malformed requests, a
server killed during writes."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

from mlrig.exceptions import StoreError
from mlrig.models import Component, ComponentType
from mlrig.stores.rest import Http, RestStore
from mlrig.testing.server import free_port, served

A = ComponentType.ARTIFACT_STORE


def _error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    return str(line)


def test_server_down_is_one_line_with_the_url_and_the_scope(server, token, member) -> None:  # type: ignore[no-untyped-def]
    from mlrig.server import runner

    eve = member("eve")
    env = {"EVE": token("eve", "editor")}
    assert eve("profile", "create", "team", "-t", "rest", "--url", server.url,
               "--token-env", "EVE", env=env).exit_code == 0
    assert eve("profile", "set", "team").exit_code == 0
    runner.down(server.config_dir)
    started = time.monotonic()
    line = _error_line(eve("stack", "list", env=env))
    assert time.monotonic() - started < 10
    assert f"Cannot reach the mlrig server at {server.url}" in line
    assert "for profile 'team', chosen by the global scope" in line
    line = _error_line(eve("stack", "list", env={**env, "MLRIG_ACTIVE_PROFILE": "team"}))
    assert "chosen by the environment scope" in line


def test_a_listener_that_never_answers_gives_one_line_within_seconds(  # type: ignore[no-untyped-def]
        member, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accepts and keeps connections open, never says a word
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        gina = member("gina")
        assert gina("profile", "list").exit_code == 0
        started = time.monotonic()
        result = gina("profile", "create", "team", "-t", "rest", "--url", url,
                      "--token-env", "G", env={"G": "mlrig_0123456789ab_" + "x" * 43})
        elapsed = time.monotonic() - started
        line = _error_line(result)
        assert f"Cannot reach the mlrig server at {url} (no answer within 5 seconds)" in line
        assert elapsed < 12
        assert not (gina.config_dir / "profiles" / "team").exists()
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_oversized_and_malformed_requests_harm_nothing(server) -> None:  # type: ignore[no-untyped-def]
    with RestStore(server.url, token=server.admin_token).write() as txn:
        txn.create_component(Component(A, "lake", "local", {"path": "/a"}))
    http = Http(server.url, server.admin_token, timeout=30)
    big = {"reads": {}, "ops": [{"op": "create_component", "component": Component(
        A, "big", "local", {"path": "/b", "blob": "x" * (17 * 1024 * 1024)}).to_dict()}]}
    try:
        status, answer, _ = http.request("POST", "/api/v1/store/transactions", big)
        assert status == 413 and "larger than" in answer["error"]
    except StoreError:
        pass  # the server may close the connection before reading a refused body
    http.close()
    for body in ({"ops": "nope"}, {"reads": {}, "ops": [{"op": "explode"}]},
                 {"reads": {}, "ops": [{"op": "create_component", "component": {"x": 1}}]},
                 {"reads": {"component:nope:x": None}, "ops": []}):
        status, answer, _ = http.request("POST", "/api/v1/store/transactions", body)
        assert status == 422, (body, answer)
        assert isinstance(answer["error"], str) and "\n" not in answer["error"]
    status, answer, _ = http.request("GET", "/api/v1/stacks?limit=0")
    assert status == 422
    http.close()
    with RestStore(server.url, token=server.admin_token).read() as view:
        assert [c.name for c in view.list_components()] == ["lake"]


def test_a_server_killed_during_writes_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    from mlrig.server import runner
    from mlrig.server.settings import ServerSettings

    acknowledged: list[str] = []
    with served(tmp_path) as server:
        token = server.admin_token
        store_url, config_dir = server.store_url, server.config_dir
        port = int(server.url.rsplit(":", 1)[1])
        stop = threading.Event()

        def write() -> None:
            store = RestStore(server.url, token=token)
            index = 0
            while not stop.is_set():
                name = f"c{index}"
                index += 1
                try:
                    with store.write() as txn:
                        txn.create_component(Component(A, name, "local", {"path": f"/{name}"}))
                    acknowledged.append(name)
                except StoreError:
                    time.sleep(0.05)

        thread = threading.Thread(target=write)
        thread.start()
        time.sleep(1.0)
        os.killpg(server.pid, signal.SIGKILL)  # no shutdown: mid-write, maybe
        time.sleep(0.3)
        restarted = runner.up(config_dir, ServerSettings("local", store_url), port=port)
        assert restarted.admin_token is None  # the same store, the same users
        time.sleep(1.0)
        stop.set()
        thread.join(30)
        with RestStore(server.url, token=token).read() as view:
            names = {c.name for c in view.list_components()}
        assert set(acknowledged) <= names
        assert len(acknowledged) > 3
        # nothing half-applied: every component there is whole
        for name in names:
            with RestStore(server.url, token=token).read() as view:
                found = view.get_component(A, name)
                assert found is not None and found.config == {"path": f"/{name}"}
    assert free_port() > 0
