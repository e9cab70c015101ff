"""The ``s3`` artifact store on a real S3-compatible server on 127.0.0.1 (SeaweedFS, or
moto's server where only that is installed), and the ``gcs``/``azure`` flavors' drivers."""

from __future__ import annotations

import importlib.util
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrig.exceptions import InputError, MlrigError, NotFoundError, StoreError
from mlrig.runtime.artifact_stores import digest_of
from mlrig.runtime.artifact_stores.fsspec_store import S3ArtifactStore
from mlrig.runtime.records import ArtifactStore
from mlrig.runtime.registry import RuntimeContext, implementation
from mlrig.testing.s3 import S3Server


def s3_store(server: S3Server, path: str, **extra: Any) -> S3ArtifactStore:
    config = {"path": path, "endpoint_url": server.endpoint_url, "region": "us-east-1",
              "key": server.access_key, "secret": server.secret_key, **extra}
    context = RuntimeContext("lake", "s3", "default", Path("/nonexistent"))
    store = implementation("artifact_store", "s3").from_config(config, context)
    assert isinstance(store, S3ArtifactStore)
    return store


def split(path: str) -> tuple[str, str]:
    bucket, _, prefix = path.removeprefix("s3://").partition("/")
    return bucket, prefix


def test_put_get_has_round_trip(s3_server: S3Server, s3_path: str) -> None:
    store = s3_store(s3_server, s3_path)
    assert isinstance(store, ArtifactStore)
    data = b"weights " * 1000
    key = digest_of(data)
    hexdigest = key.removeprefix("sha256:")
    assert not store.has(key)
    uri = store.put(key, data)
    assert uri == store.uri(key) == f"{s3_path}/artifacts/sha256/{hexdigest[:2]}/{hexdigest}"
    assert store.has(key) and store.get(key) == data
    bucket, prefix = split(s3_path)
    assert s3_server.objects(bucket, prefix) == {
        f"{prefix}/artifacts/sha256/{hexdigest[:2]}/{hexdigest}": data}
    assert store.identity == f"s3:{s3_server.endpoint_url}/{bucket}/{prefix}"


def test_the_same_bytes_are_stored_once_even_from_many_threads(s3_server: S3Server,
                                                               s3_path: str) -> None:
    data = os.urandom(1 << 20)
    key = digest_of(data)
    errors: list[BaseException] = []

    def put() -> None:
        try:
            s3_store(s3_server, s3_path).put(key, data)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = s3_store(s3_server, s3_path)
    store.put(key, data)
    bucket, prefix = split(s3_path)
    assert list(s3_server.objects(bucket, prefix).values()) == [data]
    assert store.get(key) == data


def test_bad_keys_and_wrong_content_are_refused(s3_server: S3Server, s3_path: str) -> None:
    store = s3_store(s3_server, s3_path)
    with pytest.raises(InputError, match="Invalid artifact key"):
        store.put("sha256:../../x", b"x")
    with pytest.raises(InputError, match="their digest is"):
        store.put(digest_of(b"other"), b"data")
    bucket, prefix = split(s3_path)
    assert s3_server.objects(bucket, prefix) == {}


def test_missing_and_damaged_objects(s3_server: S3Server, s3_path: str) -> None:
    store = s3_store(s3_server, s3_path)
    with pytest.raises(NotFoundError, match="holds no artifact 'sha256:"):
        store.get(digest_of(b"never stored"))
    key = digest_of(b"good")
    store.put(key, b"good")
    bucket, _ = split(s3_path)
    object_key = store.uri(key).removeprefix(f"s3://{bucket}/")
    s3_server.client().put_object(Bucket=bucket, Key=object_key, Body=b"evil")
    with pytest.raises(StoreError, match="is damaged"):
        store.get(key)


def test_check_passes_and_leaves_nothing(s3_server: S3Server, s3_path: str) -> None:
    s3_store(s3_server, s3_path).check()
    bucket, prefix = split(s3_path)
    assert s3_server.objects(bucket, prefix) == {}


def test_check_of_a_missing_bucket_names_it_and_the_endpoint(s3_server: S3Server) -> None:
    store = s3_store(s3_server, "s3://mlrig-no-such-bucket/p")
    with pytest.raises(StoreError) as info:
        store.check()
    message = str(info.value)
    assert "'mlrig-no-such-bucket'" in message and s3_server.endpoint_url in message
    assert "'lake'" in message and "\n" not in message
    assert s3_server.secret_key not in message


def test_wrong_credentials_fail_the_check_without_showing_them(s3_server: S3Server,
                                                               s3_path: str) -> None:
    if not s3_server.checks_credentials:
        pytest.skip("moto's server accepts any credentials")
    wrong = "Wr0ng-" + s3_server.secret_key[::-1]
    store = s3_store(s3_server, s3_path, secret=wrong)
    for call in (store.check, lambda: store.put(digest_of(b"x"), b"x")):
        with pytest.raises(StoreError) as info:
            call()
        message = str(info.value)
        assert split(s3_path)[0] in message and s3_server.endpoint_url in message
        assert wrong not in message and s3_server.secret_key not in message
        assert "\n" not in message


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP port on 127.0.0.1 that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_check_of_an_endpoint_that_never_answers_gives_up_instead_of_hanging(
        s3_server: S3Server, silent_endpoint: str) -> None:
    store = s3_store(s3_server, "s3://bucket/p", endpoint_url=silent_endpoint)
    finished: list[BaseException] = []
    worker = threading.Thread(target=lambda: finished.append(_raised(store.check)),
                              daemon=True)
    worker.start()
    worker.join(timeout=60)  # a hang guard, far above the check's own timeouts
    assert not worker.is_alive(), "check() hung on an endpoint that never answers"
    assert isinstance(finished[0], StoreError)
    assert silent_endpoint in str(finished[0]) and "'bucket'" in str(finished[0])


def test_check_of_a_closed_port_is_one_line(s3_server: S3Server) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    store = s3_store(s3_server, "s3://bucket/p", endpoint_url=closed)
    started = time.monotonic()
    with pytest.raises(StoreError) as info:
        store.check()
    assert time.monotonic() - started < 60  # a hang guard
    assert closed in str(info.value) and "\n" not in str(info.value)


def _raised(call: Any) -> BaseException:
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError("no error")


def test_no_secret_in_repr_and_a_pickled_store_works_in_another_process(
        s3_server: S3Server, s3_path: str) -> None:
    store = s3_store(s3_server, s3_path)
    assert s3_server.secret_key not in repr(store)
    data = b"from another process"
    store.put(digest_of(data), data)
    script = ("import pickle, sys\n"
              "store = pickle.loads(sys.stdin.buffer.read())\n"
              f"sys.stdout.buffer.write(store.get({digest_of(data)!r}))\n")
    proc = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(store),
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data


def test_no_credential_in_the_log_even_with_the_root_logger_at_debug(
        s3_server: S3Server, s3_path: str) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler, level = Keep(level=logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        store = s3_store(s3_server, s3_path)
        data = b"logged?"
        store.check()
        store.put(digest_of(data), data)
        assert store.get(digest_of(data)) == data
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in records)
    assert s3_server.secret_key not in text
    assert not [r for r in records if r.name.startswith(("botocore", "aiobotocore"))
                and r.levelno < logging.INFO]


@pytest.mark.parametrize("path", ["bucket/p", "gs://bucket", "s3://", "s3:///p"])
def test_a_path_that_is_no_s3_path_is_refused(s3_server: S3Server, path: str) -> None:
    with pytest.raises(InputError, match="must start with 's3://'"):
        s3_store(s3_server, path)


@pytest.mark.parametrize(("flavor", "driver", "path"), [("gcs", "gcsfs", "gs://bucket/p"),
                                                        ("azure", "adlfs", "az://box/p")])
def test_a_missing_driver_is_one_line_naming_the_extra(flavor: str, driver: str,
                                                       path: str) -> None:
    if importlib.util.find_spec(driver) is not None:
        pytest.skip(f"{driver} is installed here")
    context = RuntimeContext("lake", flavor, "default", Path("/x"))
    with pytest.raises(MlrigError) as info:
        implementation("artifact_store", flavor).from_config({"path": path}, context)
    assert f"pip install 'mlrig[{flavor}]'" in str(info.value)
    assert f"'{driver}'" in str(info.value) and "\n" not in str(info.value)


#: Azurite's published development account key (a well-known test value)
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")


@pytest.mark.parametrize("flavor", ["gcs", "azure"])
def test_gcs_and_azure_checks_of_an_endpoint_that_never_answers_are_bounded(
        flavor: str, silent_endpoint: str) -> None:
    """Where their drivers are installed (not by the test extra: no emulator of them
    installs from PyPI, so this is what can be run for real here)."""
    pytest.importorskip("gcsfs" if flavor == "gcs" else "adlfs",
                        reason=f"the {flavor} driver is not installed")
    config = ({"path": "gs://bucket/p", "token": "anon", "endpoint_url": silent_endpoint}
              if flavor == "gcs" else
              {"path": "az://box/p", "connection_string":
               "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
               f"AccountKey={AZURITE_KEY};BlobEndpoint={silent_endpoint}/devstoreaccount1;"})
    context = RuntimeContext("lake", flavor, "default", Path("/x"))
    store = implementation("artifact_store", flavor).from_config(config, context)
    finished: list[BaseException] = []
    worker = threading.Thread(target=lambda: finished.append(_raised(store.check)),
                              daemon=True)
    worker.start()
    worker.join(timeout=60)  # a hang guard
    assert not worker.is_alive()
    message = str(finished[0])
    assert isinstance(finished[0], StoreError) and silent_endpoint in message
    assert AZURITE_KEY not in message and AZURITE_KEY not in repr(store)
