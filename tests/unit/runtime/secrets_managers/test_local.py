"""The ``local`` secrets manager on a real file: 0600, atomic, locked, and a damaged file
reported and kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlrig.exceptions import CorruptFileError, InputError, NotFoundError, StoreError
from mlrig.runtime.records import SecretsManager
from mlrig.runtime.registry import RuntimeContext, implementation
from mlrig.runtime.secrets_managers.local import LocalSecretsManager


def manager(tmp_path: Path, **config: str) -> LocalSecretsManager:
    context = RuntimeContext("vault", "local", "default", tmp_path / "data")
    built = implementation("secrets_manager", "local").from_config(config, context)
    assert isinstance(built, LocalSecretsManager)
    return built


def test_put_get_names_delete(tmp_path: Path) -> None:
    secrets = manager(tmp_path)
    assert isinstance(secrets, SecretsManager)
    assert secrets.path == tmp_path / "data" / "secrets.yaml"
    secrets.check()
    assert secrets.names() == []
    secrets.put("aws", {"key": "AKIA1", "secret": "s3cr3t"})
    secrets.put("db", {"password": "pw"})
    assert secrets.names() == ["aws", "db"]
    assert secrets.get("aws") == {"key": "AKIA1", "secret": "s3cr3t"}
    secrets.put("aws", {"key": "AKIA2"})  # replaces the whole secret
    assert secrets.get("aws") == {"key": "AKIA2"}
    secrets.delete("db")
    assert secrets.names() == ["aws"]
    with pytest.raises(NotFoundError, match="holds no secret 'db'"):
        secrets.get("db")
    with pytest.raises(NotFoundError, match="holds no secret 'db'"):
        secrets.delete("db")


def test_the_file_is_private_and_written_atomically(tmp_path: Path) -> None:
    secrets = manager(tmp_path, secrets_file=str(tmp_path / "s" / "vault.yaml"))
    secrets.put("aws", {"key": "v"})
    path = tmp_path / "s" / "vault.yaml"
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    secrets.put("aws", {"key": "w"})
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["vault.yaml", "vault.yaml.lock"]


@pytest.mark.parametrize("text", ["secrets: [\n", "version: 1\nsecrets: [1, 2]\n",
                                  "version: 1\nsecrets:\n  a:\n    k: [1]\n", "[]\n",
                                  "version: 99\nsecrets: {}\n"])
def test_a_damaged_file_is_reported_with_its_path_and_never_overwritten(
        tmp_path: Path, text: str) -> None:
    path = tmp_path / "vault.yaml"
    path.write_text(text)
    secrets = manager(tmp_path, secrets_file=str(path))
    for call in (secrets.check, secrets.names, lambda: secrets.get("a"),
                 lambda: secrets.put("a", {"k": "v"}), lambda: secrets.delete("a")):
        with pytest.raises(CorruptFileError) as info:
            call()
        assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_text() == text


def test_a_linked_secrets_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("version: 1\nsecrets: {}\n")
    os.symlink(real, tmp_path / "vault.yaml")
    secrets = manager(tmp_path, secrets_file=str(tmp_path / "vault.yaml"))
    for call in (secrets.names, lambda: secrets.put("a", {"k": "v"})):
        with pytest.raises(StoreError, match="symbolic link"):
            call()
    assert real.read_text() == "version: 1\nsecrets: {}\n"


@pytest.mark.parametrize(("name", "values"), [
    ("bad name", {"k": "v"}), (".hidden", {"k": "v"}), ("a/b", {"k": "v"}),
    ("ok", {}), ("ok", {"bad key": "v"}), ("ok", {"k.x": "v"}), ("ok", {"k": 1}),
])
def test_bad_names_keys_and_values_are_refused(tmp_path: Path, name: str,
                                               values: dict[str, object]) -> None:
    secrets = manager(tmp_path)
    with pytest.raises(InputError):
        secrets.put(name, values)  # type: ignore[arg-type]
    assert not secrets.path.exists()


WRITER = """
import sys
from pathlib import Path
from mlrig.runtime.secrets_managers.local import LocalSecretsManager
manager = LocalSecretsManager(Path(sys.argv[1]))
for i in range(25):
    manager.put(f"{sys.argv[2]}-{i}", {"value": str(i)})
"""


def test_writers_in_parallel_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "vault.yaml"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{n}"])
             for n in range(3)]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0]
    assert len(LocalSecretsManager(path).names()) == 75
