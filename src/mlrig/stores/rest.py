"""The ``rest`` store type: a profile whose store is served by ``mlrig server``.

The core runs here, on the client, over this store exactly as over a local one, so every
command keeps its messages. The wire protocol (``/api/v1/store``) is small:

* ``GET /api/v1/store`` — a snapshot: every component, stack and flavor with its revision,
  and a revision per collection (``components:<type>``, ``stacks``, ``flavors``).
* ``POST /api/v1/store/transactions`` — one atomic batch: ``{"reads": {key: revision or
  null}, "ops": [...]}``. The server applies the operations in ONE transaction of the
  store it serves, after checking that everything the transaction read is still at the
  revision it read (else 409, naming who changed it and when).

A :class:`RestStore` transaction reads one snapshot, applies its operations to an
in-memory copy that enforces the same integrity rules as every store
(:mod:`mlrig.stores.integrity`), so errors surface at the operation and reads see the
transaction's own writes, and commits the batch when the block ends.

A revision is a digest of an object's stored content (computed by the server), so the
local and SQL stores keep their on-disk formats: an object changed and changed back has
its old revision again, which is right, as nothing the reader saw was lost.

HTTP is a small HTTP/1.1 client on the standard library's ``socket`` (and ``ssl``): cheap
to import, and every request has one deadline for connecting and answering.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
    InUseError,
    MlrigError,
    NotFoundError,
    StoreError,
)
from mlrig.models import Component, ComponentType, FlavorRecord, ProfileConfig, Stack
from mlrig.stores import integrity, paging

if TYPE_CHECKING:
    from mlrig.events import EventSink, Listener

API = "/api/v1"
TOKEN_ENV = "token_env"
TOKEN_FILE = "token_file"
CA_BUNDLE = "ca_bundle"
TIMEOUT = "timeout"
#: set by ``mlrig login --keyring`` only: the profile's token is in the system keyring under
#: this user name (service ``mlrig``)
TOKEN_KEYRING = "token_keyring"
KEYRING_SERVICE = "mlrig"
REST_OPTIONS = (TOKEN_ENV, TOKEN_FILE, CA_BUNDLE, TIMEOUT, TOKEN_KEYRING)
#: the deadline of one request (connect + send + answer), seconds
DEFAULT_TIMEOUT = 5.0
#: a secret value the server withheld from a caller without the ``secrets`` permission; sent
#: back unchanged in a write, the server keeps the value it has
SECRET_REF_PREFIX = "mlrig-secret-ref:"
_MAX_TOKEN_FILE = 64 * 1024
_MAX_ANSWER = 256 * 1024 * 1024


class UnreachableError(StoreError):
    """The server cannot be reached or does not answer in time. ``names_scope``: the
    session adds which profile it served and which scope chose that profile."""

    names_scope = True


class ConflictError(StoreError):
    """The server refused a write: something the transaction read was changed since by
    another writer, and nothing was applied (``stale``: the core may run the verb again)."""

    stale = True


#: error kinds of the API and the exception each becomes on the client
ERROR_KINDS: dict[str, type[MlrigError]] = {
    "not_found": NotFoundError,
    "exists": AlreadyExistsError,
    "in_use": InUseError,
    "input": InputError,
    "conflict": ConflictError,
    "unauthorized": StoreError,
    "forbidden": StoreError,
    "store": StoreError,
}


def error_kind(exc: MlrigError) -> str:
    """The API's name for the kind of an error (the inverse of :data:`ERROR_KINDS`)."""
    for kind, cls in (("not_found", NotFoundError), ("exists", AlreadyExistsError),
                      ("in_use", InUseError), ("input", InputError)):
        if isinstance(exc, cls):
            return kind
    return "store"


# -- revisions (computed by the server, compared by the server) ---------------------------
def revision_of(data: Any) -> str:
    """The revision of an object: a digest of its canonical JSON form."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


def component_key(type_: ComponentType, name: str) -> str:
    return f"component:{type_.value}:{name}"


def stack_key(name: str) -> str:
    return f"stack:{name}"


def flavor_key(type_: ComponentType, name: str) -> str:
    return f"flavor:{type_.value}:{name}"


def components_key(type_: ComponentType | None) -> str:
    return f"components:{type_.value if type_ is not None else '*'}"


STACKS_KEY = "stacks"
FLAVORS_KEY = "flavors"


def collection_revision(revisions: Mapping[str, str]) -> str:
    return revision_of(sorted(revisions.items()))


def snapshot_revisions(components: list[Component], stacks: list[Stack],
                       flavors: list[FlavorRecord]) -> dict[str, str]:
    """Every key a transaction may read, with its revision now (the server's side)."""
    revisions: dict[str, str] = {}
    by_type: dict[str, dict[str, str]] = {t.value: {} for t in ComponentType}
    for component in components:
        key = component_key(component.type, component.name)
        revisions[key] = revision_of(component.to_dict())
        by_type[component.type.value][key] = revisions[key]
    every: dict[str, str] = {}
    for type_value, members in by_type.items():
        revisions[f"components:{type_value}"] = collection_revision(members)
        every.update(members)
    revisions[components_key(None)] = collection_revision(every)
    stack_revs = {}
    for stack in stacks:
        stack_revs[stack_key(stack.name)] = revision_of(stack.to_dict())
    revisions.update(stack_revs)
    revisions[STACKS_KEY] = collection_revision(stack_revs)
    flavor_revs = {flavor_key(f.type, f.name): revision_of(f.to_dict()) for f in flavors}
    revisions.update(flavor_revs)
    revisions[FLAVORS_KEY] = collection_revision(flavor_revs)
    return revisions


# -- URLs and credentials ---------------------------------------------------------------
def canonical_rest_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]``, without a trailing slash."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"Invalid URL for store type 'rest': {text} ({exc}).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"Invalid URL for store type 'rest': {text} (use "
                         "http://HOST:PORT or https://HOST:PORT).")
    if parts.username is not None or parts.password is not None or parts.query \
            or parts.fragment:
        raise InputError(
            "Invalid URL for store type 'rest': it must not carry a user, a password, a "
            "query or a fragment.",
            hint="Give the token with --token-env VARIABLE or --token-file FILE, or run "
                 "'mlrig login'.",
            library_hint="Give the token with the option token_env or token_file, or call "
                         "client.login().")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}{path}"


def validate_rest_options(url: str, options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(REST_OPTIONS))
    if unknown:
        raise InputError(f"The option(s) {', '.join(unknown)} do not apply to store type "
                         "'rest' (it takes --token-env, --token-file, --ca-bundle and "
                         "--timeout).")
    if options.get(TOKEN_ENV) and options.get(TOKEN_FILE):
        raise InputError("Give the token with --token-env or --token-file, not both.")
    result: dict[str, Any] = {}
    if options.get(TOKEN_ENV):
        variable = str(options[TOKEN_ENV])
        if not variable.replace("_", "").isalnum() or variable[0].isdigit():
            raise InputError(f"Invalid environment variable name for --token-env: "
                             f"'{variable}'.")
        result[TOKEN_ENV] = variable
    for key in (TOKEN_FILE, CA_BUNDLE):
        if options.get(key):
            result[key] = str(Path(str(options[key])).expanduser().absolute())
    if options.get(TOKEN_KEYRING):
        result[TOKEN_KEYRING] = str(options[TOKEN_KEYRING])
    if options.get(TIMEOUT) is not None:
        try:
            seconds = float(options[TIMEOUT])
        except (TypeError, ValueError):
            seconds = -1.0
        if not 0.1 <= seconds <= 3600:
            raise InputError(f"Invalid --timeout '{options[TIMEOUT]}': give seconds between "
                             "0.1 and 3600.")
        result[TIMEOUT] = seconds
    if CA_BUNDLE in result and not url.startswith("https://"):
        raise InputError("--ca-bundle applies to an https:// URL only.")
    if CA_BUNDLE in result and not Path(result[CA_BUNDLE]).is_file():
        raise InputError(f"The CA bundle '{result[CA_BUNDLE]}' is not a file.")
    return result


def read_token_file(path: Path, url: str, emit: Listener | None = None) -> str:
    from mlrig.fsutil import read_bytes

    try:
        raw, info = read_bytes(path, _MAX_TOKEN_FILE)
        value = raw.decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        cause = ("it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError)
                 else exc.strerror or str(exc))
        raise StoreError(f"Cannot connect to the mlrig server at {url}: cannot read its "
                         f"token file '{path}' ({cause}).",
                         hint="Run 'mlrig login' to store a token.",
                library_hint="Call client.login() to store a token.") from None
    if stat.S_IMODE(info.st_mode) & 0o077 and emit is not None and os.name == "posix":
        from mlrig.events import TokenFileReadable

        emit(TokenFileReadable(str(path), stat.S_IMODE(info.st_mode)))
    return value


def keyring_call(method: str, url: str, user: str, *args: str) -> Any:
    """``keyring.<method>('mlrig', user, *args)`` on the system keyring (the ``keyring``
    library, imported only for a profile whose token is there); one line when there is no
    keyring or it refuses."""
    try:
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError
    except ImportError:
        raise StoreError(f"The token for the mlrig server at {url} is in the system keyring, "
                         "but the 'keyring' library is not installed.",
                         hint="Install it (pip install 'mlrig[keyring]') or run 'mlrig "
                              "login' again without --keyring.",
                         library_hint="Install it (pip install 'mlrig[keyring]') or call "
                                      "client.login() again without keyring=True.") from None
    try:
        return getattr(keyring, method)(KEYRING_SERVICE, user, *args)
    except PasswordDeleteError:
        return None  # nothing kept under that name: nothing to forget
    except KeyringError as exc:
        raise StoreError(f"The system keyring ({type(keyring.get_keyring()).__name__}) "
                         f"refused to {method.replace('_', ' ')} for the mlrig server at {url}"
                         f" ({type(exc).__name__}).") from None


def resolve_token(url: str, options: Mapping[str, Any], env: Mapping[str, str],
                  emit: Listener | None = None) -> str:
    variable = options.get(TOKEN_ENV)
    if variable:
        value = env.get(str(variable))
        if not value:
            raise StoreError(f"Cannot connect to the mlrig server at {url}: the environment "
                             f"variable {variable}, which holds its token, is not set.")
        return value.strip()
    if options.get(TOKEN_FILE):
        token = read_token_file(Path(str(options[TOKEN_FILE])), url, emit)
        if token:
            return token
    if options.get(TOKEN_KEYRING):
        token = keyring_call("get_password", url, str(options[TOKEN_KEYRING]))
        if token:
            return str(token).strip()
    raise StoreError(f"The mlrig server at {url} needs a token, and this profile has none.",
                     hint="Give it a token an admin created ('mlrig login PROFILE', or "
                          "--token-env/--token-file of 'profile create'), or log in as a "
                          "user ('mlrig login PROFILE --user NAME', or --user of 'profile "
                          "create').",
                     library_hint="Call client.login(PROFILE, TOKEN) with a token an admin "
                                  "created, or pass user= and password= to "
                                  "client.create_profile().")


# -- HTTP ----------------------------------------------------------------------------------
#: ``socket.TCP_QUICKACK`` on Linux (looked up without importing :mod:`socket` early)
_QUICKACK: int | None = 12 if sys.platform.startswith("linux") else None


class _Closed(ConnectionError):
    """The server closed a kept-alive connection before answering."""


class Http:
    """HTTP/1.1 over one kept-alive socket, every request with one deadline (connect, send
    and answer together). Written on :mod:`socket` (and :mod:`ssl` for https) rather than
    :mod:`http.client`, whose imports (the ``email`` package) cost a CLI command more than
    the whole request to a server on this host."""

    def __init__(self, url: str, token: str | None, *, ca_bundle: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url)
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._host_header = parts.netloc
        self._prefix = parts.path
        self._token = token
        self._ca_bundle = ca_bundle
        self.timeout = timeout
        self._sock: Any = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
            self._buffer = b""

    def _connect(self, deadline: float) -> Any:
        import socket

        sock = socket.create_connection((self._host, self._port),
                                        timeout=max(deadline - time.monotonic(), 0.05))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._https:
            import ssl

            context = ssl.create_default_context(cafile=self._ca_bundle)
            sock.settimeout(max(deadline - time.monotonic(), 0.05))
            sock = context.wrap_socket(sock, server_hostname=self._host)
        return sock

    def request(self, method: str, path: str, body: Any = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        """``(status, parsed JSON body, headers)``; UnreachableError if the server cannot be
        reached or does not answer before the deadline."""
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        sent = {"Host": self._host_header, "Accept": "application/json",
                "Content-Length": str(len(data)), **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        if self._token:
            sent["Authorization"] = f"Bearer {self._token}"
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in sent.items()) + "\r\n"
        payload = head.encode("latin-1") + data
        deadline = time.monotonic() + self.timeout
        # a kept-alive connection the server closed meanwhile is retried once on a new
        # one, for reads only: a write might have been applied
        reused = self._sock is not None
        for attempt in (1, 2):
            try:
                return self._once(payload, deadline)
            except _Closed:
                self.close()
                if attempt == 1 and reused and method == "GET":
                    continue
                raise self._unreachable("the connection was closed") from None
            except OSError as exc:
                self.close()
                raise self._error(exc) from None
        raise AssertionError("unreachable")

    def _unreachable(self, cause: str) -> StoreError:
        return UnreachableError(f"Cannot reach the mlrig server at {self.url} ({cause}).",
                                hint="Check that it runs ('mlrig server status' on its host) "
                                     "and that the URL is right.",
                                library_hint="Check that the server runs and that the URL "
                                             "is right.")

    def _error(self, exc: OSError) -> StoreError:
        import ssl

        if isinstance(exc, ssl.SSLCertVerificationError):
            return StoreError(
                f"Cannot connect to the mlrig server at {self.url}: its certificate is not "
                f"trusted ({exc.verify_message}).",
                hint="Give the profile the CA bundle that signed it (--ca-bundle).",
                library_hint="Give the profile the CA bundle that signed it (the option "
                             "ca_bundle).")
        if isinstance(exc, TimeoutError):
            return self._unreachable(f"no answer within {self.timeout:g} seconds")
        return self._unreachable(exc.strerror or str(exc) or type(exc).__name__)

    def _recv(self, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._sock.settimeout(remaining)
        if _QUICKACK is not None:  # no delayed ACK: a server that sends its head and body
            with contextlib.suppress(OSError):  # apart (Nagle) would wait ~40 ms for it
                self._sock.setsockopt(6, _QUICKACK, 1)  # IPPROTO_TCP
        chunk: bytes = self._sock.recv(65536)
        if not chunk:
            raise _Closed
        return chunk

    def _peer_closed(self) -> bool:
        """Whether the server closed the kept-alive connection while it was idle (its
        keep-alive timeout): then a request of any method goes on a new one, safely, as the
        server never saw it."""
        import select

        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not readable or self._buffer:
            return False
        if self._https:
            return True  # readable while idle: the server's close_notify, or its end
        try:
            import socket

            return not self._sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def _once(self, payload: bytes, deadline: float) -> tuple[int, Any, dict[str, str]]:
        if self._sock is not None and self._peer_closed():
            self.close()
        if self._sock is None:
            self._sock = self._connect(deadline)
        self._sock.settimeout(max(deadline - time.monotonic(), 0.05))
        self._sock.sendall(payload)
        buffer = self._buffer
        while b"\r\n\r\n" not in buffer:
            buffer += self._recv(deadline)
            if len(buffer) > 1 << 20:
                raise StoreError(f"The server at {self.url} sent an oversized answer head.")
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise StoreError(f"The server at {self.url} does not speak HTTP.") from None
        answer_headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            answer_headers[key.strip().lower()] = value.strip()
        if "chunked" in answer_headers.get("transfer-encoding", "").lower():
            raw, buffer = self._chunked(buffer, deadline)
        else:
            length = int(answer_headers.get("content-length") or 0)
            if length > _MAX_ANSWER:
                raise StoreError(f"The server at {self.url} sent an oversized answer.")
            while len(buffer) < length:
                buffer += self._recv(deadline)
            raw, buffer = buffer[:length], buffer[length:]
        self._buffer = buffer
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed, answer_headers

    def _chunked(self, buffer: bytes, deadline: float) -> tuple[bytes, bytes]:
        body = b""
        while True:
            while b"\r\n" not in buffer:
                buffer += self._recv(deadline)
            size_line, _, buffer = buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            while len(buffer) < size + 2:
                buffer += self._recv(deadline)
            body, buffer = body + buffer[:size], buffer[size + 2:]
            if size == 0:
                return body, buffer
            if len(body) > _MAX_ANSWER:
                raise StoreError(f"The server at {self.url} sent an oversized answer.")


def raise_for(status: int, body: Any, url: str) -> None:
    """The error an answer carries, raised as the exception mlrig raises locally."""
    if 200 <= status < 300:
        return
    message = body.get("error") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        raise StoreError(f"The mlrig server at {url} answered HTTP {status} without an "
                         "mlrig error; is it an mlrig server?")
    hint = body.get("hint") if isinstance(body.get("hint"), str) else None
    library = body.get("library_hint")
    kind = str(body.get("kind") or "store")
    raise ERROR_KINDS.get(kind, StoreError)(
        message, hint, library_hint=library if isinstance(library, str) else None)


# -- the in-memory state of a transaction --------------------------------------------------
class Snapshot:
    """What ``GET /api/v1/store`` returned."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        try:
            self.components = {
                (c.type, c.name): c for c in (Component.from_dict(d)
                                              for d in body["components"])}
            self.stacks = {str(d["name"]): Stack.from_dict(str(d["name"]), d["components"])
                           for d in body["stacks"]}
            self.flavors = [FlavorRecord.from_dict(d) for d in body["flavors"]]
            self.revisions: dict[str, str] = dict(body["revisions"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"The mlrig server sent a malformed store snapshot ({exc}).") \
                from None


def _copy(component: Component) -> Component:
    return Component(component.type, component.name, component.flavor,
                     json.loads(json.dumps(component.config)), component.id)


class RestView:
    """Reads of one snapshot; a transaction notes what it read (with the revision)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snap = snapshot
        self._components = dict(snapshot.components)
        self._stacks = {n: Stack(n, dict(s.components)) for n, s in snapshot.stacks.items()}
        self._flavors = list(snapshot.flavors)
        self.reads: dict[str, str | None] = {}
        self._touched: set[str] = set()

    def _read(self, key: str) -> None:
        if key not in self._touched and key not in self.reads:
            self.reads[key] = self._snap.revisions.get(key)

    def get_component(self, type_: ComponentType, name: str) -> Component | None:
        self._read(component_key(type_, name))
        found = self._components.get((type_, name))
        return _copy(found) if found is not None else None

    def list_components(self, type_: ComponentType | None = None) -> list[Component]:
        self._read(components_key(type_))
        found = [c for c in self._components.values() if type_ is None or c.type is type_]
        order = {t: i for i, t in enumerate(ComponentType)}
        return [_copy(c) for c in sorted(found, key=lambda c: (order[c.type], c.name))]

    def get_stack(self, name: str) -> Stack | None:
        self._read(stack_key(name))
        found = self._stacks.get(name)
        return Stack(found.name, dict(found.components)) if found is not None else None

    def list_stacks(self) -> list[Stack]:
        self._read(STACKS_KEY)
        return [Stack(s.name, dict(s.components)) for s in self._stacks.values()]

    def page_components(self, type_: ComponentType | None = None, *,
                        after: tuple[ComponentType, str] | None = None, limit: int,
                        name_contains: str | None = None, flavor: str | None = None
                        ) -> list[Component]:
        # the snapshot is in memory already: a page is cut from it (reading the whole
        # listing, as far as a transaction's read set is concerned)
        return paging.component_page(self.list_components(type_), type_, after=after,
                                     limit=limit, name_contains=name_contains, flavor=flavor)

    def page_stacks(self, *, after: str | None = None, limit: int,
                    name_contains: str | None = None) -> list[Stack]:
        return paging.stack_page(self.list_stacks(), after=after, limit=limit,
                                 name_contains=name_contains)

    def list_flavors(self, type_: ComponentType | None = None) -> list[FlavorRecord]:
        self._read(FLAVORS_KEY)
        return [f for f in self._flavors if type_ is None or f.type is type_]

    def stacks_using(self, type_: ComponentType, name: str) -> list[str]:
        return integrity.stacks_using(self.list_stacks(), type_, name)


class RestTransaction(RestView):
    """A transaction: operations applied to the in-memory copy (with the integrity rules of
    every store) and recorded for the one batch request of the commit."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__(snapshot)
        self.ops: list[dict[str, Any]] = []

    def _touch(self, *keys: str) -> None:
        self._touched.update(keys)

    def create_component(self, component: Component) -> None:
        if self.get_component(component.type, component.name) is not None:
            raise integrity.component_exists_error(component.type, component.name)
        self._components[(component.type, component.name)] = _copy(component)
        self._touch(component_key(component.type, component.name))
        self.ops.append({"op": "create_component", "component": component.to_dict()})

    def update_component(self, component: Component, old_name: str | None = None) -> None:
        old = integrity.check_component_update(self, component, old_name)
        if old != component.name:
            del self._components[(component.type, old)]
            integrity.repoint_stacks(self._stacks.values(), component.type, old,
                                     component.name)
        self._components[(component.type, component.name)] = _copy(component)
        self._touch(component_key(component.type, old),
                    component_key(component.type, component.name))
        self.ops.append({"op": "update_component", "component": component.to_dict(),
                         "old_name": old})

    def delete_component(self, type_: ComponentType, name: str) -> None:
        if self.get_component(type_, name) is None:
            raise integrity.component_missing_error(type_, name)
        integrity.check_component_unused(self, type_, name)
        del self._components[(type_, name)]
        self._touch(component_key(type_, name))
        self.ops.append({"op": "delete_component", "type": type_.value, "name": name})

    def create_stack(self, stack: Stack) -> None:
        if self.get_stack(stack.name) is not None:
            raise integrity.stack_exists_error(stack.name)
        integrity.check_stack_references(self, stack)
        self._stacks[stack.name] = Stack(stack.name, dict(stack.components))
        self._touch(stack_key(stack.name))
        self.ops.append({"op": "create_stack", "name": stack.name,
                         "components": stack.to_dict()})

    def update_stack(self, stack: Stack, old_name: str | None = None) -> None:
        old = integrity.check_stack_update(self, stack, old_name)
        self._stacks = integrity.replace_stack(self._stacks, stack, old)
        self._touch(stack_key(old), stack_key(stack.name))
        self.ops.append({"op": "update_stack", "name": stack.name, "old_name": old,
                         "components": stack.to_dict()})

    def delete_stack(self, name: str) -> None:
        if self.get_stack(name) is None:
            raise integrity.stack_missing_error(name)
        del self._stacks[name]
        self._touch(stack_key(name))
        self.ops.append({"op": "delete_stack", "name": name})

    def create_flavor(self, flavor: FlavorRecord) -> None:
        if any(f.type is flavor.type and f.name == flavor.name for f in self.list_flavors()):
            raise integrity.flavor_exists_error(flavor)
        self._flavors.append(flavor)
        self.ops.append({"op": "create_flavor", "flavor": flavor.to_dict()})

    def delete_flavor(self, type_: ComponentType, name: str) -> None:
        kept = [f for f in self.list_flavors() if not (f.type is type_ and f.name == name)]
        if len(kept) == len(self._flavors):
            raise integrity.flavor_missing_error(type_, name)
        self._flavors = kept
        self.ops.append({"op": "delete_flavor", "type": type_.value, "name": name})


def apply_op(txn: Any, op: Mapping[str, Any]) -> None:
    """Apply one operation of a batch to a store transaction (the server's side)."""
    kind = op.get("op")
    if kind == "create_component":
        txn.create_component(Component.from_dict(dict(op["component"])))
    elif kind == "update_component":
        txn.update_component(Component.from_dict(dict(op["component"])),
                             old_name=str(op["old_name"]))
    elif kind == "delete_component":
        txn.delete_component(ComponentType(op["type"]), str(op["name"]))
    elif kind == "create_stack":
        txn.create_stack(Stack.from_dict(str(op["name"]), dict(op["components"])))
    elif kind == "update_stack":
        txn.update_stack(Stack.from_dict(str(op["name"]), dict(op["components"])),
                         old_name=str(op["old_name"]))
    elif kind == "delete_stack":
        txn.delete_stack(str(op["name"]))
    elif kind == "create_flavor":
        txn.create_flavor(FlavorRecord.from_dict(dict(op["flavor"])))
    elif kind == "delete_flavor":
        txn.delete_flavor(ComponentType(op["type"]), str(op["name"]))
    else:
        raise InputError(f"Unknown operation {kind!r} in a transaction.")


# -- the store -------------------------------------------------------------------------------
class RestStore:
    """A profile's store behind an mlrig server (see the module docstring)."""

    type = "rest"

    def __init__(self, url: str, options: Mapping[str, Any] | None = None, *,
                 env: Mapping[str, str] | None = None, on_event: EventSink | None = None,
                 events: Listener | None = None,
                 token: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = canonical_rest_url(url)
        self.options = dict(options or {})
        self._env = os.environ if env is None else env
        self._on_event = on_event
        self._events = events
        self._token = token
        self._timeout = timeout
        self._http: Http | None = None

    def _emit(self, event: Any) -> None:
        from mlrig.events import listener_for

        listener_for(self._on_event, self._events)(event)

    def http(self) -> Http:
        if self._http is None:
            token = self._token or resolve_token(self.url, self.options, self._env,
                                                  emit=self._emit)
            self._http = Http(self.url, token, ca_bundle=self.options.get(CA_BUNDLE),
                              timeout=float(self.options.get(TIMEOUT) or self._timeout))
        return self._http

    def call(self, method: str, path: str, body: Any = None,
             headers: Mapping[str, str] | None = None) -> Any:
        status, answer, _ = self.http().request(method, API + path, body, headers)
        raise_for(status, answer, self.url)
        return answer

    # -- lifecycle -----------------------------------------------------------------------
    def is_initialized(self) -> bool:
        """The server serves an initialised store (it initialises it when it starts)."""
        answer = self.call("GET", "/store/status")
        return bool(answer.get("initialized"))

    def initialize(self) -> None:
        self.call("POST", "/store/initialize", {})

    def needs_repair(self) -> bool:
        return False  # the server repairs its store before it answers

    def hold_writers(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # nothing of a rest store lives in mlrig's own dir

    def destroy(self, spare: Path | None = None) -> None:
        return None  # the server's store is not this profile's to remove

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    # -- access --------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return Snapshot(self.call("GET", "/store"))

    @contextlib.contextmanager
    def read(self) -> Iterator[RestView]:
        yield RestView(self.snapshot())

    @contextlib.contextmanager
    def write(self) -> Iterator[RestTransaction]:
        txn = RestTransaction(self.snapshot())
        yield txn
        if txn.ops:
            self.call("POST", "/store/transactions", {"reads": txn.reads, "ops": txn.ops})


class RestBackend:
    """The ``rest`` store type: a store served by ``mlrig server`` (:class:`RestStore`)."""

    type = "rest"

    def canonical_url(self, url: str) -> str:
        return canonical_rest_url(url)

    def default_url(self, directory: Path) -> str:
        raise InputError("A profile of store type 'rest' needs the server's URL (--url).")

    def validate_options(self, url: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return validate_rest_options(url, options)

    def location(self, url: str) -> Path | None:
        return None

    def lives_in(self, url: str, directory: Path) -> bool:
        return False

    def relocated_url(self, url: str, old_dir: Path, new_dir: Path) -> str:
        return url

    def staging(self, url: str, directory: Path, token: str) -> tuple[Path, str, Path] | None:
        return None

    def private_paths(self, url: str) -> list[tuple[Path, int]]:
        return []

    def open(self, profile: ProfileConfig, *, env: Mapping[str, str] | None,
             events: Listener | None) -> RestStore:
        return RestStore(profile.store_url, profile.options, env=env, events=events)
