"""The ``local`` artifact store on a real directory: content-addressed, atomic, idempotent,
and never led outside its directory by a symbolic link."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mlrig.exceptions import InputError, MlrigError, NotFoundError, StoreError
from mlrig.runtime.artifact_stores import digest_of
from mlrig.runtime.artifact_stores.local import LocalArtifactStore
from mlrig.runtime.records import ArtifactStore
from mlrig.runtime.registry import RuntimeContext, implementation
from mlrig.testing.hostile_fs import fill, small_disk


def store_at(path: Path, name: str = "lake") -> LocalArtifactStore:
    context = RuntimeContext(name, "local", "default", path.parent / "data")
    store = implementation("artifact_store", "local").from_config({"path": str(path)}, context)
    assert isinstance(store, LocalArtifactStore)
    return store


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_put_get_has_round_trip_under_the_content_address(tmp_path: Path) -> None:
    store = store_at(tmp_path / "lake")
    assert isinstance(store, ArtifactStore)
    data = b"the model weights"
    key = digest_of(data)
    hexdigest = key.removeprefix("sha256:")
    assert not store.has(key)
    uri = store.put(key, data)
    expected = (tmp_path / "lake").resolve() / "artifacts" / "sha256" / hexdigest[:2] / hexdigest
    assert uri == str(expected) == store.uri(key)
    assert expected.read_bytes() == data
    assert expected.stat().st_mode & 0o077 == 0
    assert store.has(key)
    assert store.get(key) == data
    assert store.identity == f"local:{(tmp_path / 'lake').resolve()}"


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = store_at(tmp_path / "lake")
    data = os.urandom(4096)
    key = digest_of(data)
    first = store.put(key, data)
    inode = os.stat(first).st_ino
    assert store.put(key, data) == first
    assert os.stat(first).st_ino == inode  # not written again
    objects = [p for p in (tmp_path / "lake").rglob("*") if p.is_file()]
    assert objects == [Path(first)]


def test_identity_names_the_resolved_path(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert store_at(tmp_path / "alias").identity == f"local:{(tmp_path / 'real').resolve()}"
    assert store_at(tmp_path / "real").identity == store_at(tmp_path / "alias").identity


def test_a_relative_path_is_refused_not_resolved_against_the_cwd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with pytest.raises(InputError, match="has the relative path 'lake'") as info:
        store_at(Path("lake"))
    assert "artifact-store update lake --path=" in (info.value.hint or "")
    assert list(cwd.iterdir()) == []


def test_bad_keys_and_wrong_content_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = store_at(tmp_path / "lake")
    for key in ("sha256:../../../etc/passwd", "md5:abc", "sha256:" + "A" * 64, "", "x" * 500):
        with pytest.raises(InputError, match="Invalid artifact key") as info:
            store.put(key, b"x")
        assert "\n" not in str(info.value) and len(str(info.value)) < 250
    with pytest.raises(InputError, match="their digest is"):
        store.put(digest_of(b"other"), b"data")
    assert not (tmp_path / "lake").exists() or not any((tmp_path / "lake").rglob("*.*"))


def test_a_missing_artifact_is_not_found(tmp_path: Path) -> None:
    store = store_at(tmp_path / "lake")
    with pytest.raises(NotFoundError, match="holds no artifact 'sha256:"):
        store.get(digest_of(b"never stored"))


def test_a_damaged_object_is_reported_not_returned(tmp_path: Path) -> None:
    store = store_at(tmp_path / "lake")
    key = digest_of(b"good bytes")
    path = Path(store.put(key, b"good bytes"))
    path.write_bytes(b"bad bytes!")  # same size: put would not notice, get must
    with pytest.raises(StoreError, match="is damaged"):
        store.get(key)
    path.write_bytes(b"short")  # another size: a put repairs it
    store.put(key, b"good bytes")
    assert store.get(key) == b"good bytes"


def test_a_linked_artifacts_directory_is_refused_and_not_written_through(tmp_path: Path
                                                                          ) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "lake").mkdir()
    os.symlink(elsewhere, tmp_path / "lake" / "artifacts")
    store = store_at(tmp_path / "lake")
    key = digest_of(b"payload")
    with pytest.raises(StoreError, match="symbolic link"):
        store.put(key, b"payload")
    with pytest.raises(StoreError, match="symbolic link"):
        store.check()
    assert list(elsewhere.iterdir()) == []


def test_a_linked_object_is_refused_for_reads_and_writes(tmp_path: Path) -> None:
    store = store_at(tmp_path / "lake")
    data = b"payload"
    key = digest_of(data)
    target = Path(store.uri(key))
    target.parent.mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(data)
    os.symlink(secret, target)
    for call in (lambda: store.get(key), lambda: store.has(key),
                 lambda: store.put(key, data)):
        with pytest.raises(StoreError, match="symbolic link"):
            call()
    assert target.is_symlink() and secret.read_bytes() == data


def test_concurrent_puts_of_the_same_bytes_leave_one_complete_object(tmp_path: Path) -> None:
    store = store_at(tmp_path / "lake")
    data = os.urandom(1 << 20)
    key = digest_of(data)
    errors: list[BaseException] = []

    def put() -> None:
        try:
            store_at(tmp_path / "lake").put(key, data)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.get(key) == data
    assert temp_files(tmp_path / "lake") == []


WRITER = """
import os, sys
from pathlib import Path
from mlrig.runtime.artifact_stores import digest_of
from mlrig.runtime.artifact_stores.local import LocalArtifactStore
store = LocalArtifactStore(Path(sys.argv[1]))
print("ready", flush=True)
while True:
    data = os.urandom(4 << 20)
    store.put(digest_of(data), data)
"""


def test_a_writer_killed_mid_write_leaves_only_complete_objects(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    # kill it while an object is being written: once some objects are stored and a
    # temporary file of the next one exists
    deadline, torn = time.monotonic() + 60, False
    while time.monotonic() < deadline:
        files = [p for p in root.rglob("*") if p.is_file()]
        if any(p.name.endswith(".tmp") for p in files) and len(files) > 2:
            proc.send_signal(signal.SIGKILL)
            torn = True
            break
        time.sleep(0.0005)
    if not torn:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert torn, "never saw the writer in the middle of a write"
    objects = [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".tmp")]
    assert objects, "the writer stored nothing before it was killed"
    store = LocalArtifactStore(root)
    for path in objects:
        key = f"sha256:{path.name}"
        assert store.get(key)  # get verifies the digest: a torn object would fail here


def test_check_creates_the_directory_and_leaves_nothing_behind(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "lake"
    store = store_at(root)
    store.check()
    assert root.is_dir() and root.stat().st_mode & 0o077 == 0
    assert [p.name for p in root.rglob("*")] == ["artifacts"]


def test_check_names_the_path_when_it_cannot_be_used(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for path in (blocker, blocker / "lake"):
        with pytest.raises(MlrigError) as info:
            store_at(path).check()
        message = str(info.value)
        assert str(path.resolve()) in message and "'lake'" in message
        assert "\n" not in message
    assert blocker.read_text() == "not a directory"


def test_a_full_disk_fails_the_put_in_one_line_and_leaves_no_partial_object(
        tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        store = store_at(disk / "lake")
        store.check()
        fill(disk)
        os.unlink(disk / "filler")
        big = os.urandom(2 << 20)  # more than the whole disk
        key = digest_of(big)
        with pytest.raises(StoreError) as info:
            store.put(key, big)
        assert "\n" not in str(info.value) and str(disk) in str(info.value)
        assert not store.has(key)
        assert temp_files(disk / "lake") == []
