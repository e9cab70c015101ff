"""The ``local`` secrets manager: secrets in one YAML file, readable by its owner only.

The file (``secrets_file`` of the component's config; by default ``secrets.yaml`` in the
profile's run-time data directory) looks like::

    version: 1
    secrets:
      aws:
        key: AKIA...
        secret: ...

Every change re-reads the file under an exclusive ``flock`` (``<file>.lock``) and replaces it
atomically with mode 0600 (:func:`mlrig.fsutil.write_yaml`): two commands changing secrets at
once both land, and a crash leaves the last good file. A file that cannot be parsed is
reported with its path and never overwritten; a symbolic link in its place is refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlrig.exceptions import CorruptFileError, NotFoundError, StoreError
from mlrig.fsutil import (
    PRIVATE_FILE_MODE,
    FileLock,
    ensure_dir,
    fs_error,
    read_yaml_mapping,
    write_yaml,
)
from mlrig.runtime.registry import RuntimeContext, local_path
from mlrig.runtime.secrets_managers import validate_secret_name, validate_secret_values

FORMAT_VERSION = 1
DEFAULT_FILE = "secrets.yaml"
_WHAT = "secrets file"


class LocalSecretsManager:
    """Secrets in the YAML file ``path`` (see the module's docstring)."""

    def __init__(self, path: Path, name: str = "local") -> None:
        self.path = path
        self.name = name
        self._lock = FileLock(path.with_name(path.name + ".lock"), root=path.parent,
                              purpose=f"the secrets file '{path}'")

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: RuntimeContext
                    ) -> LocalSecretsManager:
        raw = config.get("secrets_file")
        if isinstance(raw, str) and raw.strip():
            path = local_path(raw, context, "secrets_file", "secrets manager")
        else:
            path = context.data_dir / DEFAULT_FILE
        return cls(path, context.component_name)

    # ------------------------------------------------------------------ the protocol
    def check(self) -> None:
        """Preflight: the file can be read and parses (or is absent: no secrets yet). A run
        only reads secrets; a change says itself when the file cannot be written."""
        self._read()

    def names(self) -> Sequence[str]:
        return sorted(self._read())

    def get(self, name: str) -> Mapping[str, str]:
        secrets = self._read()
        if name not in secrets:
            raise NotFoundError(f"The secrets manager '{self.name}' holds no secret '{name}'.",
                                hint="Run 'mlrig secret list'.",
                                library_hint="client.list_secrets() lists them.")
        return dict(secrets[name])

    def put(self, name: str, values: Mapping[str, str]) -> None:
        validate_secret_name(name)
        clean = validate_secret_values(name, dict(values))
        with self._lock.exclusive():
            secrets = self._read()
            secrets[name] = clean
            self._write(secrets)

    def delete(self, name: str) -> None:
        with self._lock.exclusive():
            secrets = self._read()
            if name not in secrets:
                raise NotFoundError(
                    f"The secrets manager '{self.name}' holds no secret '{name}'.",
                    hint="Run 'mlrig secret list'.",
                    library_hint="client.list_secrets() lists them.")
            del secrets[name]
            self._write(secrets)

    def change(self, name: str,
               change: Callable[[Mapping[str, str] | None], Mapping[str, str] | None]) -> None:
        """Replace the secret ``name`` with ``change(its values or None)`` (``None``: delete
        it) under one lock: a check of what is there and the write that depends on it are
        one step (``mlrig secret register`` refuses a name taken meanwhile)."""
        validate_secret_name(name)
        with self._lock.exclusive():
            secrets = self._read()
            values = change(secrets.get(name))
            if values is None:
                secrets.pop(name, None)
            else:
                secrets[name] = validate_secret_values(name, dict(values))
            self._write(secrets)

    # ------------------------------------------------------------------ the file
    def _read(self) -> dict[str, dict[str, str]]:
        data = read_yaml_mapping(self.path, FORMAT_VERSION, _WHAT, follow=False)
        if data is None:
            return {}
        secrets = data.get("secrets", {})
        if secrets is None:
            return {}
        if not isinstance(secrets, dict) or not all(
            isinstance(name, str) and isinstance(values, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
            for name, values in secrets.items()
        ):
            raise CorruptFileError(
                f"The {_WHAT} '{self.path}' is not a mapping of secret names to keys and "
                "string values; mlrig will not overwrite it.",
                hint="Fix or remove the file, or restore it from a backup.",
            )
        return {name: dict(values) for name, values in secrets.items()}

    def _write(self, secrets: Mapping[str, Mapping[str, str]]) -> None:
        directory = self.path.parent
        if not directory.is_dir():
            ensure_dir(directory)
        try:
            existing = os.lstat(self.path)
        except FileNotFoundError:
            existing = None
        except OSError as exc:
            raise fs_error(exc, "write", self.path) from None
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            raise StoreError(f"The {_WHAT} '{self.path}' is not a regular file; mlrig will "
                             "not replace it.")
        document = {"version": FORMAT_VERSION,
                    "secrets": {name: dict(values) for name, values in sorted(secrets.items())}}
        write_yaml(self.path, document, mode=PRIVATE_FILE_MODE, root=directory)
