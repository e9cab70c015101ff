"""Artifact stores in object storage, on fsspec: ``s3`` (s3fs), ``gcs`` (gcsfs) and
``azure`` (adlfs).

The bytes of ``sha256:<hex>`` are the object ``<bucket>/<prefix>/artifacts/sha256/<hex[:2]>/
<hex>``. An object store makes an object visible only once its upload is complete (a single
PUT, or the completion of a multipart upload), so a reader never sees a partial artifact;
``put`` of bytes already there is a no-op. ``get`` checks the bytes against their digest.

The driver is imported when the store is built, i.e. only by commands that run pipelines
(never on the CLI's read path); a missing driver is one line naming the extra to install.
Credentials arrive resolved (``{{NAME.KEY}}`` references are resolved by the core) and live
only in this object: they are in no error, no log line and no ``repr``, and a pickled store
(sent to a worker process) carries its config, never a live connection.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets as _random
from collections.abc import Mapping
from typing import Any, ClassVar

from mlrig.exceptions import InputError, MlrigError, NotFoundError, StoreError
from mlrig.runtime.artifact_stores import check_content, digest_of, relative_key_path
from mlrig.runtime.registry import RuntimeContext

#: seconds: a preflight never hangs on an unreachable endpoint
CHECK_CONNECT_TIMEOUT = 3.0
CHECK_READ_TIMEOUT = 5.0
#: seconds for each request of a preflight, all included (an upload waits for the server's
#: "100 Continue" with no read timeout of its own: a server that accepts connections and never
#: answers would hold it for ever)
CHECK_CALL_TIMEOUT = 5.0
#: seconds, for the artifact transfers of a run (big objects take long, a dead peer not)
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0
#: an upload may take this long plus one second per MiB before it is given up
PUT_TIMEOUT = 120.0
_MASK = "********"


class ObjectStoreArtifactStore:
    """What the fsspec stores share; a subclass says how to build its file system."""

    FLAVOR: ClassVar[str] = ""
    SCHEMES: ClassVar[tuple[str, ...]] = ()
    DRIVER: ClassVar[str] = ""  # the module of the fsspec driver
    EXTRA: ClassVar[str] = ""  # mlrig's extra that installs it
    SECRET_KEYS: ClassVar[tuple[str, ...]] = ()  # config keys never to show
    CREDENTIALS_HINT: ClassVar[str] = "Check the store's credentials and permissions."

    def __init__(self, config: Mapping[str, Any], name: str,
                 references: Mapping[str, str] | None = None) -> None:
        self.config = dict(config)
        self.name = name
        #: config key -> the secret reference its value came from: shown instead of it
        self.references = dict(references or {})
        path = str(self.config.get("path", ""))
        self.bucket, self.prefix = self._split(path)
        self._fs: Any = None
        self._pid = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: RuntimeContext
                    ) -> ObjectStoreArtifactStore:
        store = cls(config, context.component_name, context.references)
        store._driver()  # a missing driver is said when the stack is built, in one line
        return store

    # ------------------------------------------------------------------ the protocol
    @property
    def identity(self) -> str:
        return f"{self.FLAVOR}:{self.endpoint_label()}/{self.shown_root}"

    @property
    def root(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    @property
    def shown_root(self) -> str:
        """The root as shown and recorded: the reference ``path`` came from, if any."""
        return self.references.get("path", self.root)

    def uri(self, key: str) -> str:
        if "path" in self.references:
            return f"{self.references['path']}/{relative_key_path(key)}"
        return f"{self.SCHEMES[0]}://{self._object(key)}"

    def check(self) -> None:
        """The bucket answers within a few seconds and takes (and gives back) an object."""
        fs = self._filesystem(check=True)
        probe = f"{self.root}/.mlrig-check-{_random.token_hex(6)}"
        try:
            # a request without a body first: an endpoint that never answers fails it within
            # the read timeout
            _call(fs, "exists", probe, timeout=CHECK_CALL_TIMEOUT)
            _call(fs, "pipe_file", probe, b"mlrig preflight", timeout=CHECK_CALL_TIMEOUT)
            _call(fs, "rm_file", probe, timeout=CHECK_CALL_TIMEOUT)
        except PermissionError as exc:
            raise self._error(exc, "is refused by", advice=self.CREDENTIALS_HINT) from None
        except FileNotFoundError as exc:
            raise self._error(exc, "cannot write to") from None
        except Exception as exc:
            raise self._error(exc, "cannot reach") from None

    def has(self, key: str) -> bool:
        return self._size(self._object(key)) is not None

    def put(self, key: str, data: bytes) -> str:
        path = self._object(key)
        check_content(key, data, f"the artifact store '{self.name}'")
        if self._size(path) == len(data):
            return self.uri(key)  # the same bytes are stored once
        try:
            _call(self._filesystem(), "pipe_file", path, data,
                  timeout=PUT_TIMEOUT + len(data) / (1 << 20))
        except Exception as exc:
            raise self._error(exc, f"cannot write '{key}' to") from None
        return self.uri(key)

    def get(self, key: str) -> bytes:
        path = self._object(key)
        try:
            data: bytes = self._filesystem().cat_file(path)
        except FileNotFoundError:
            raise NotFoundError(f"The artifact store '{self.name}' ({self.location()}) holds "
                                f"no artifact '{key}'.") from None
        except Exception as exc:
            raise self._error(exc, f"cannot read '{key}' from") from None
        if digest_of(data) != key:
            raise StoreError(f"The artifact '{self.uri(key)}' is damaged: its "
                             "content does not match its digest.")
        return data

    # ------------------------------------------------------------------ for subclasses
    def endpoint_label(self) -> str:
        """Where requests go, for messages and the identity (no credentials in it)."""
        endpoint = self.shown("endpoint_url")
        return str(endpoint) if endpoint else "default"

    def shown(self, key: str) -> Any:
        """The config value of ``key`` as shown: its secret reference, if it was one."""
        return self.references.get(key, self.config.get(key))

    def shown_bucket(self) -> str:
        return f"'{self.references['path']}'" if "path" in self.references else (
            f"'{self.bucket}'")

    def location(self) -> str:
        return f"bucket {self.shown_bucket()} at endpoint '{self.endpoint_label()}'"

    def filesystem_options(self, check: bool) -> dict[str, Any]:
        raise NotImplementedError

    def tune(self, fs: Any, check: bool) -> None:
        """Adjust a new file system (attributes that are no constructor argument)."""

    # ------------------------------------------------------------------ helpers
    def _split(self, path: str) -> tuple[str, str]:
        for scheme in self.SCHEMES:
            if path.startswith(f"{scheme}://"):
                bucket, _, prefix = path[len(scheme) + 3:].partition("/")
                if bucket:
                    return bucket, prefix.strip("/")
        schemes = " or ".join(f"'{s}://'" for s in self.SCHEMES)
        raise InputError(f"The artifact store '{self.name}' has the path '{path[:200]}': it "
                         f"must start with {schemes} and name a bucket.")

    def _object(self, key: str) -> str:
        return f"{self.root}/{relative_key_path(key)}"

    def _driver(self) -> Any:
        try:
            return importlib.import_module(self.DRIVER)
        except ImportError:
            raise MlrigError(
                f"The artifact store '{self.name}' (flavor '{self.FLAVOR}') needs the "
                f"package '{self.DRIVER}', which is not installed.",
                hint=f"Run: pip install 'mlrig[{self.EXTRA}]'.") from None

    def _filesystem(self, check: bool = False) -> Any:
        """The driver's file system (one per process: a forked worker makes its own)."""
        if check:
            return self._build(check=True)
        if self._fs is None or self._pid != os.getpid():
            self._fs = self._build(check=False)
            self._pid = os.getpid()
        return self._fs

    def _build(self, check: bool) -> Any:
        options = self.filesystem_options(check)
        try:
            fs = self._driver_class()(skip_instance_cache=True, **options)
            self.tune(fs, check)
            return fs
        except MlrigError:
            raise
        except Exception as exc:
            raise self._error(exc, "cannot connect to") from None

    def _driver_class(self) -> Any:
        raise NotImplementedError

    def _size(self, path: str) -> int | None:
        try:
            info = self._filesystem().info(path)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._error(exc, "cannot read") from None
        size = info.get("size")
        return int(size) if size is not None else None

    def _error(self, exc: BaseException, doing: str, advice: str | None = None
               ) -> StoreError:
        # ``advice`` names no command: the same hint for the CLI and the library
        """One line naming the store, the bucket and the endpoint; never a credential."""
        return StoreError(f"The artifact store '{self.name}' {doing} {self.location()}: "
                          f"{self._reason(exc)}.", hint=advice, library_hint=advice)

    def _reason(self, exc: BaseException) -> str:
        if "Timeout" in type(exc).__name__ and not str(exc).strip():
            return "no answer in time (is the endpoint up, and the right one?)"
        text = " ".join(str(exc).split()) or type(exc).__name__
        for key in self.SECRET_KEYS:
            value = self.config.get(key)
            if isinstance(value, str) and value:
                text = text.replace(value, _MASK)
        hidden: dict[str, str] = {}
        for key, shown in self.references.items():
            value = self.config.get(key)
            if isinstance(value, str) and value.strip():
                hidden[value] = shown
        if "path" in self.references:  # the bucket and prefix it names, alone
            hidden.setdefault(self.root, self.references["path"])
            hidden.setdefault(self.bucket, self.references["path"])
        for value in sorted(hidden, key=len, reverse=True):
            text = text.replace(value, hidden[value])
        text = text.rstrip(".")
        if len(text) > 300:
            text = text[:297] + "..."
        return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text

    # ------------------------------------------------------------------ no secret shown
    def __repr__(self) -> str:
        path = self.references.get("path", f"{self.SCHEMES[0]}://{self.root}")
        return (f"{type(self).__name__}(name={self.name!r}, path='{path}', "
                f"endpoint={self.endpoint_label()!r})")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fs"] = None  # a live connection does not cross processes
        state["_pid"] = 0
        return state


def _quiet_debug_logs(*names: str) -> None:
    """The AWS SDK logs every request's headers at DEBUG (a session token among them): its
    loggers stop at INFO unless the user set their level, so a step that turns the root
    logger to DEBUG does not put a credential in its log file."""
    for name in names:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


def _call(fs: Any, method: str, *args: Any, timeout: float) -> Any:
    """``fs.<method>(*args)``, given up after ``timeout`` seconds (fsspec's async file
    systems cancel the request; a synchronous one has no such option)."""
    if getattr(fs, "async_impl", False):
        return getattr(fs, method)(*args, timeout=timeout)
    return getattr(fs, method)(*args)


class S3ArtifactStore(ObjectStoreArtifactStore):
    """An S3 bucket (AWS or any S3-compatible server: ``endpoint_url``)."""

    FLAVOR = "s3"
    SCHEMES = ("s3",)
    DRIVER = "s3fs"
    EXTRA = "s3"
    SECRET_KEYS = ("key", "secret", "token")
    CREDENTIALS_HINT = ("Check its 'key' and 'secret' (or the secrets they refer to) and the "
                        "bucket's permissions.")

    def _driver_class(self) -> Any:
        return self._driver().S3FileSystem

    def tune(self, fs: Any, check: bool) -> None:
        fs.retries = 1 if check else 5  # s3fs's own retries of transient errors
        _quiet_debug_logs("botocore", "aiobotocore")

    def endpoint_label(self) -> str:
        endpoint = self.shown("endpoint_url")
        if endpoint:
            return str(endpoint)
        region = self.shown("region")
        return f"AWS ({region})" if region else "AWS"

    def filesystem_options(self, check: bool) -> dict[str, Any]:
        client: dict[str, Any] = {}
        if self.config.get("endpoint_url"):
            client["endpoint_url"] = self.config["endpoint_url"]
        if self.config.get("region"):
            client["region_name"] = self.config["region"]
        connect, read = ((CHECK_CONNECT_TIMEOUT, CHECK_READ_TIMEOUT) if check
                         else (CONNECT_TIMEOUT, READ_TIMEOUT))
        botocore_config: dict[str, Any] = {
            "connect_timeout": connect, "read_timeout": read,
            "retries": {"max_attempts": 1 if check else 3},
        }
        if self.config.get("endpoint_url"):
            # an S3-compatible server: bucket in the path (no DNS name per bucket)
            botocore_config["s3"] = {"addressing_style": "path"}
        options: dict[str, Any] = {
            "client_kwargs": client, "config_kwargs": botocore_config,
            "use_listings_cache": False,
        }
        for key in ("key", "secret", "token"):
            if self.config.get(key):
                options[key] = self.config[key]
        return options


class GCSArtifactStore(ObjectStoreArtifactStore):
    """A Google Cloud Storage bucket (``gs://``), on gcsfs."""

    FLAVOR = "gcs"
    SCHEMES = ("gs", "gcs")
    DRIVER = "gcsfs"
    EXTRA = "gcs"
    SECRET_KEYS = ("token",)

    def _driver_class(self) -> Any:
        return self._driver().GCSFileSystem

    def filesystem_options(self, check: bool) -> dict[str, Any]:
        options: dict[str, Any] = {
            "timeout": CHECK_READ_TIMEOUT if check else READ_TIMEOUT,
            "retries": 1 if check else 6,
        }
        for key in ("project", "token", "endpoint_url"):
            if self.config.get(key):
                options[key] = self.config[key]
        return options


class AzureArtifactStore(ObjectStoreArtifactStore):
    """An Azure Blob Storage container (``az://container/prefix``), on adlfs."""

    FLAVOR = "azure"
    SCHEMES = ("az", "abfs")
    DRIVER = "adlfs"
    EXTRA = "azure"
    SECRET_KEYS = ("account_key", "connection_string", "sas_token", "client_secret")

    def _driver_class(self) -> Any:
        return self._driver().AzureBlobFileSystem

    def location(self) -> str:
        return f"container {self.shown_bucket()} at endpoint '{self.endpoint_label()}'"

    def endpoint_label(self) -> str:
        if self.config.get("account_name"):
            return f"account '{self.shown('account_name')}'"
        # the connection string holds the account key: only its endpoint or account is shown
        parts = dict(part.split("=", 1) for part in
                     str(self.config.get("connection_string") or "").split(";") if "=" in part)
        if parts.get("BlobEndpoint"):
            return parts["BlobEndpoint"]
        if parts.get("AccountName"):
            return f"account '{parts['AccountName']}'"
        return "default"

    def filesystem_options(self, check: bool) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for key in ("account_name", "account_key", "connection_string", "sas_token",
                    "tenant_id", "client_id", "client_secret"):
            if self.config.get(key):
                options[key] = self.config[key]
        if check:
            options["timeout"] = int(CHECK_READ_TIMEOUT)
            options["connection_timeout"] = int(CHECK_CONNECT_TIMEOUT)
        return options
