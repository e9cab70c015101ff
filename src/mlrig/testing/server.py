"""A real ``mlrig server`` on 127.0.0.1 for tests: ``with served(tmp_path) as server: ...``.

It runs the server the way ``mlrig server up`` does (a uvicorn process in the background,
its files under ``<config dir>/server/``) on a free loopback port, and stops it at the end.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    url: str
    admin_token: str
    config_dir: Path
    store_url: str
    pid: int

    def store(self, token: str | None = None) -> object:
        """A :class:`~mlrig.stores.rest.RestStore` on this server (the admin's token)."""
        from mlrig.stores.rest import RestStore

        return RestStore(self.url, token=token or self.admin_token,
                         options=self.client_options())

    def client_options(self) -> dict[str, str]:
        from mlrig.server.runner import running

        found = running(self.config_dir)
        return {"ca_bundle": found.cafile} if found is not None and found.cafile else {}


@contextlib.contextmanager
def served(tmp_path: Path, store_url: str | None = None, *, workers: int = 1,
           certfile: str | None = None, keyfile: str | None = None) -> Iterator[Served]:
    """A server on a new local store under ``tmp_path`` (or on ``store_url``)."""
    from mlrig.server import runner
    from mlrig.server.settings import ServerSettings

    config_dir = tmp_path / "server-config"
    url = store_url or (tmp_path / "served-store").as_uri()
    store_type, canonical = runner.store_of_url(url)
    started = runner.up(config_dir, ServerSettings(store_type, canonical),
                        port=free_port(), workers=workers, certfile=certfile,
                        keyfile=keyfile)
    assert started.admin_token is not None, "the store already had users"
    try:
        yield Served(started.url, started.admin_token, config_dir, canonical, started.pid)
    finally:
        with contextlib.suppress(Exception):
            runner.down(config_dir)


def make_token(server: Served, name: str, role: str, *extra: str, user: str | None = None
               ) -> str:
    """A new token, from ``mlrig server token create ... -o json`` (the real executable) on
    the served store; its user (``<role>-user`` unless named) is made if missing."""
    import json

    from mlrig.testing.runs import run_mlrig

    result = run_mlrig("server", "token", "create", name, "--role", role, "--user",
                       user or f"{role}-user", "--store", server.store_url, "-o", "json",
                       *extra, env={"MLRIG_CONFIG_PATH": str(server.config_dir)})
    assert result.exit_code == 0, result.output
    token = json.loads(result.stdout)["token"]["token"]
    assert isinstance(token, str) and token.startswith("mlrig_")
    return token


def write_token(path: Path, token: str) -> Path:
    """A token file as a member keeps one (mode 0600)."""
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path
