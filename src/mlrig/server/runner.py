"""Start, stop and report the server of this host's config dir.

Its files live in ``<config dir>/server/``: ``settings.json`` (what it serves, 0600),
``server.json`` (pid, URL, start time: the pid file), ``server.log`` (uvicorn's log,
which carries request lines only: never a header, a body or a token).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from mlrig.exceptions import InputError, StoreError
from mlrig.server import require_server_libraries
from mlrig.server.settings import SETTINGS_ENV, ServerSettings
from mlrig.stores import mask_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8237
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def server_dir(config_dir: Path) -> Path:
    return config_dir / "server"


def _pid_file(config_dir: Path) -> Path:
    return server_dir(config_dir) / "server.json"


def log_file(config_dir: Path) -> Path:
    return server_dir(config_dir) / "server.log"


def settings_file(config_dir: Path) -> Path:
    return server_dir(config_dir) / "settings.json"


def store_of_url(url: str) -> tuple[str, str]:
    """``(store type, canonical URL)`` of a ``--store`` URL: a path or ``file://`` URL is a
    local store, a database URL (``sqlite:///``, ``postgresql://`` ...) a SQL one."""
    from mlrig.stores import canonical_url

    scheme = url.partition("://")[0].lower() if "://" in url else ""
    store_type = "local" if scheme in ("", "file") else "sql"
    if scheme in ("http", "https"):
        raise InputError("A server serves a store itself (a path, file:// or database URL), "
                         "not another server.")
    return store_type, canonical_url(store_type, url)


class Running(NamedTuple):
    pid: int
    url: str
    store: str  #: masked
    started: float
    store_type: str
    store_url: str
    cafile: str | None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a pid reused by another program is not our server
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
    except OSError:
        return True  # no /proc: trust kill(0)
    # python -m mlrig.server ..., or mlrig server up --foreground
    return b"mlrig.server" in args or (b"server" in args and b"--foreground" in args)


def running(config_dir: Path) -> Running | None:
    """The server started from this config dir, if it still runs."""
    path = _pid_file(config_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = Running(int(data["pid"]), str(data["url"]), str(data["store"]),
                        float(data["started"]), str(data.get("store_type") or ""),
                        str(data.get("store_url") or ""), data.get("cafile"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if _alive(found.pid) else None


def health(url: str, timeout: float = 2.0) -> str:
    """``ok``, or why not (the health route needs no token)."""
    import http.client
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False  # our own process, on this host
            context.verify_mode = ssl.CERT_NONE
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port or 443, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80,
                                              timeout=timeout)
        try:
            conn.request("GET", "/api/v1/health")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
    except OSError as exc:
        return f"unreachable ({exc.strerror or type(exc).__name__})"
    if response.status != 200:
        try:
            return f"failing ({json.loads(body).get('error')})"
        except ValueError:
            return f"failing (HTTP {response.status})"
    return "ok"


class Started(NamedTuple):
    url: str
    pid: int
    store: str
    admin_token: str | None


def _client_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def prepare(config_dir: Path, settings: ServerSettings) -> str | None:
    """Make the store if there is none, and on a store with no users its admin; returns the
    admin's one-time token (``None`` if the store has users already)."""
    require_server_libraries()
    from mlrig.server import auth
    from mlrig.server.accounts import open_accounts
    from mlrig.stores import open_store

    store = open_store(settings.profile())
    try:
        if not store.is_initialized():
            store.initialize()
        with store.read() as view:
            view.list_stacks()
    finally:
        store.close()
    accounts = open_accounts(settings.store_type, settings.store_url, settings.options)
    try:
        made = accounts.update(auth.bootstrap_admin)
    finally:
        accounts.close()
    from mlrig.fsutil import atomic_write, ensure_dir

    ensure_dir(server_dir(config_dir))
    atomic_write(settings_file(config_dir), settings.to_json())
    return made.token if made is not None else None


def command(config_dir: Path, *, host: str, port: int, workers: int,
            certfile: str | None, keyfile: str | None) -> list[str]:
    args = [sys.executable, "-m", "mlrig.server", "--settings", str(settings_file(config_dir)),
            "--host", host, "--port", str(port), "--workers", str(workers)]
    if certfile:
        args += ["--ssl-certfile", certfile, "--ssl-keyfile", str(keyfile)]
    return args


def check_tls(certfile: str | None, keyfile: str | None) -> None:
    if bool(certfile) != bool(keyfile):
        raise InputError("Give --ssl-certfile and --ssl-keyfile together.")
    for path in (certfile, keyfile):
        if path and not Path(path).is_file():
            raise InputError(f"The file '{path}' does not exist.")


def up(config_dir: Path, settings: ServerSettings, *, host: str = DEFAULT_HOST,
       port: int = DEFAULT_PORT, workers: int = 1, certfile: str | None = None,
       keyfile: str | None = None) -> Started:
    """Start the server in the background and wait until it answers."""
    check_tls(certfile, keyfile)
    if workers < 1:
        raise InputError("--workers must be at least 1.")
    found = running(config_dir)
    if found is not None:
        raise InputError(f"An mlrig server already runs from this config dir (pid "
                         f"{found.pid}, {found.url}).", hint="Stop it with 'mlrig server down'.",
                         library_hint="Stop it first.")
    token = prepare(config_dir, settings)
    scheme = "https" if certfile else "http"
    url = f"{scheme}://{_client_host(host)}:{port}"
    from mlrig.fsutil import ensure_dir

    ensure_dir(server_dir(config_dir))
    env = {**os.environ, SETTINGS_ENV: str(settings_file(config_dir))}
    log = log_file(config_dir)
    with open(log, "ab") as out:
        os.chmod(log, 0o600)
        proc = subprocess.Popen(
            command(config_dir, host=host, port=port, workers=workers, certfile=certfile,
                    keyfile=keyfile),
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
            start_new_session=True, close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT
    state = "not started"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StoreError(f"The mlrig server stopped at once (exit code {proc.returncode}): "
                             f"{last_line(log)}", hint=f"See its log: {log}")
        state = health(url, timeout=1.0)
        if state == "ok":
            break
        time.sleep(0.1)
    else:
        stop_pid(proc.pid)
        raise StoreError(f"The mlrig server did not answer at {url} within "
                         f"{START_TIMEOUT:g} seconds ({state}).", hint=f"See its log: {log}")
    write_pid(config_dir, proc.pid, url, settings, certfile)
    return Started(url, proc.pid, mask_url(settings.store_url), token)


def write_pid(config_dir: Path, pid: int, url: str, settings: ServerSettings,
              certfile: str | None) -> None:
    from mlrig.fsutil import atomic_write

    atomic_write(_pid_file(config_dir), json.dumps({
        "pid": pid, "url": url, "store": mask_url(settings.store_url), "started": time.time(),
        "store_type": settings.store_type, "store_url": settings.store_url,
        "cafile": None if certfile is None else str(Path(certfile).absolute())}))


def foreground(config_dir: Path, settings: ServerSettings, *, host: str, port: int,
               workers: int, certfile: str | None, keyfile: str | None,
               on_ready: Any = None) -> int:
    """Run the server in this process until it is stopped (containers, systemd)."""
    check_tls(certfile, keyfile)
    token = prepare(config_dir, settings)
    url = f"{'https' if certfile else 'http'}://{_client_host(host)}:{port}"
    if on_ready is not None:
        on_ready(url, token)
    write_pid(config_dir, os.getpid(), url, settings, certfile)
    os.environ[SETTINGS_ENV] = str(settings_file(config_dir))

    def stopped(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    # uvicorn shuts down gracefully on SIGTERM, then raises it again for the handler found
    # before it: this one, so that the pid file goes and the exit is a clean 0 (systemd)
    signal.signal(signal.SIGTERM, stopped)
    try:
        serve(host, port, workers, certfile, keyfile)
    finally:
        with contextlib.suppress(OSError):
            _pid_file(config_dir).unlink()
    return 0


def serve(host: str, port: int, workers: int, certfile: str | None,
          keyfile: str | None) -> None:
    import uvicorn

    uvicorn.run("mlrig.server.app:create_app_from_env", factory=True, host=host, port=port,
                workers=workers if workers > 1 else None, ssl_certfile=certfile,
                ssl_keyfile=keyfile, log_level="info", server_header=False,
                proxy_headers=False, timeout_keep_alive=30)


def stop_pid(pid: int) -> bool:
    """SIGTERM (the process group: uvicorn's workers too), then SIGKILL after a while."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not _alive(pid):
                return True
            time.sleep(0.05)
    return not _alive(pid)


def down(config_dir: Path) -> Running:
    found = running(config_dir)
    if found is None:
        with contextlib.suppress(OSError):
            _pid_file(config_dir).unlink()
        raise InputError("No mlrig server runs from this config dir.")
    if not stop_pid(found.pid):
        raise StoreError(f"The mlrig server (pid {found.pid}) does not stop.")
    with contextlib.suppress(OSError):
        _pid_file(config_dir).unlink()
    return found


def status(config_dir: Path) -> dict[str, Any]:
    found = running(config_dir)
    if found is None:
        return {"running": False, "url": None, "pid": None, "store": None,
                "uptime_seconds": None, "health": None}
    return {"running": True, "url": found.url, "pid": found.pid, "store": found.store,
            "uptime_seconds": round(time.time() - found.started, 1),
            "health": health(found.url)}


def last_line(path: Path) -> str:
    lines = tail(path, 20)
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return "(its log is empty)"


def tail(path: Path, count: int) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 256 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return text.splitlines()[-count:]
