"""The rest store's HTTP client against a plain socket server on 127.0.0.1: a kept-alive
connection the server closed while idle is replaced, also for a write; an answer in chunks
is read whole."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mlrig.stores.rest import Http


@pytest.fixture
def one_request_per_connection() -> Iterator[tuple[str, list[str]]]:
    """Answers one request per connection, then closes it (as a keep-alive timeout does)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(4096)
                seen.append(head.split(b" ")[0].decode())
                answer = json.dumps({"n": len(seen)}).encode()
                if len(seen) % 2:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n"
                                 + answer)
                else:  # chunked, in two pieces
                    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    half = len(answer) // 2
                    for piece in (answer[:half], answer[half:]):
                        conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    conn.sendall(b"0\r\n\r\n")
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    stop.set()
    thread.join(5)
    listener.close()


def test_a_closed_idle_connection_is_replaced_for_writes_too(one_request_per_connection) -> None:  # type: ignore[no-untyped-def]
    url, seen = one_request_per_connection
    http = Http(url, "mlrig_token")
    status, body, _ = http.request("GET", "/a")
    assert (status, body) == (200, {"n": 1})
    time.sleep(0.3)  # the server has closed the connection meanwhile
    status, body, _ = http.request("POST", "/b", {"x": 1})
    assert (status, body) == (200, {"n": 2})  # chunked, read whole
    time.sleep(0.3)
    status, body, _ = http.request("DELETE", "/c")
    assert (status, body) == (200, {"n": 3})
    http.close()
    assert seen == ["GET", "POST", "DELETE"]  # each sent once
