"""The server's FastAPI application: one store, every route under ``/api/v1``.

Every route but ``/api/v1/health`` and ``/api/v1/auth/login`` needs a token (``Authorization:
Bearer mlrig_...``) and names the permission it needs; a refusal is one line (401 without a
valid token, 403 naming the missing permission). Errors are JSON: ``{"error": <the line the
CLI prints>, "hint": ..., "kind": ...}`` with the status of their kind (404 not found, 409
exists / in use / stale revision, 413 too large, 422 malformed). OpenAPI is at ``/docs``.

Single objects: ``GET /stacks/{name}`` and ``/components/{type}/{name}`` carry the object's
revision as ``ETag``; ``PUT`` (create with ``If-None-Match: *``, replace with ``If-Match``)
and ``DELETE`` (``If-Match``) of the same paths change one object at the revision the
caller read: 412 when it changed since, 428 without a precondition.

Store routes (the ``rest`` store type's protocol, see :mod:`mlrig.stores.rest`):
``GET /store``, ``GET /store/status``, ``POST /store/initialize``,
``POST /store/transactions``. Document routes return what ``-o json`` prints:
``GET /stacks``, ``/stacks/{name}``, ``/components/{type}``, ``/components/{type}/{name}``,
``/flavors/{type}`` (lists paged with ``limit`` and ``cursor``, filtered with ``name``).
Admin routes: ``/users``, ``/tokens``, ``/audit``.

Each worker process serves its requests one at a time (store and accounts objects are not
shared between threads); several workers and several servers on one store work in
parallel and agree, as everything lives in the store.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as secrets_module
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mlrig import __version__
from mlrig.core.documents import document, stack_entry
from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
    InUseError,
    MlrigError,
    NotFoundError,
    StoreError,
)
from mlrig.models import Component, ComponentType, new_id
from mlrig.server import auth
from mlrig.server.accounts import Accounts, open_accounts, record_admin
from mlrig.server.settings import SETTINGS_ENV, ServerSettings
from mlrig.stores import mask_url, open_store
from mlrig.stores import rest as protocol
from mlrig.stores.base import Store, StoreView

SECRET_MASK = "********"
MAX_PAGE = 1000


class StaleError(StoreError):
    """A transaction read something that another writer changed since (HTTP 409)."""


class PreconditionFailed(StaleError):
    """A single-object write whose ``If-Match`` names another revision (HTTP 412)."""


class PreconditionRequired(InputError):
    """A single-object write without ``If-Match`` / ``If-None-Match: *`` (HTTP 428)."""


STATUS = [(auth.AuthError, 401), (auth.PermissionDenied, 403), (PreconditionFailed, 412),
          (PreconditionRequired, 428), (StaleError, 409),
          (NotFoundError, 404), (AlreadyExistsError, 409), (InUseError, 409),
          (InputError, 422), (StoreError, 503)]
KINDS = [(auth.AuthError, "unauthorized"), (auth.PermissionDenied, "forbidden"),
         (PreconditionRequired, "precondition_required"), (StaleError, "conflict")]


def error_body(exc: MlrigError) -> tuple[int, dict[str, Any]]:
    status = next((code for cls, code in STATUS if isinstance(exc, cls)), 500)
    kind = next((k for cls, k in KINDS if isinstance(exc, cls)), protocol.error_kind(exc))
    return status, {"error": exc.message, "hint": exc.hint,
                    "library_hint": exc.library_hint, "kind": kind}


# -- secrets ------------------------------------------------------------------------------
class SecretFields:
    """Which config fields of a component are secret, per (type, flavor), for one view: the
    profile's flavors are listed once and each flavor class is asked once."""

    def __init__(self, view: StoreView) -> None:
        self.view = view
        self._records: dict[ComponentType, Any] = {}
        self._found: dict[tuple[ComponentType, str], frozenset[str] | None] = {}

    def of(self, component: Component) -> frozenset[str] | None:
        key = (component.type, component.flavor)
        if key not in self._found:
            self._found[key] = self._lookup(component)
        return self._found[key]

    def _lookup(self, component: Component) -> frozenset[str] | None:
        from mlrig import flavors as registry

        try:
            if component.type not in self._records:
                self._records[component.type] = self.view.list_flavors(component.type)
            spec = registry.resolve(component.type, component.flavor,
                                    self._records[component.type])
            if spec.origin == "profile":
                # a source a client registered: the server never imports it (that would run
                # a module of a caller's choosing), so every value counts as secret
                return None
            found: frozenset[str] = spec.secret_fields()
        except Exception:  # a flavor the server cannot load: every value counts as secret
            return None
        return found


def hidden_config(secrets: SecretFields, component: Component, replace: Callable[[str], Any]
                  ) -> dict[str, Any]:
    secret = secrets.of(component)
    return {k: (replace(k) if (secret is None or k in secret) and v is not None else v)
            for k, v in component.config.items()}


def withheld(secrets: SecretFields, component: Component) -> Component:
    """The component as a caller without the ``secrets`` permission gets it: each secret
    value replaced by a reference that a write may send back unchanged."""
    config = hidden_config(secrets, component,
                           lambda k: f"{protocol.SECRET_REF_PREFIX}{component.id}:{k}")
    return Component(component.type, component.name, component.flavor, config, component.id)


def masked_entry(secrets: SecretFields, component: Component) -> dict[str, Any]:
    data = component.to_dict()
    data["config"] = hidden_config(secrets, component, lambda k: SECRET_MASK)
    return data


def resolve_refs(view: StoreView, data: dict[str, Any]) -> dict[str, Any]:
    """A component sent by a caller with secret references, with the values they stand for."""
    config = data.get("config")
    if not isinstance(config, dict) or not any(
            isinstance(v, str) and v.startswith(protocol.SECRET_REF_PREFIX)
            for v in config.values()):
        return data
    by_id = {c.id: c for c in view.list_components()}
    resolved = {}
    for key, value in config.items():
        if isinstance(value, str) and value.startswith(protocol.SECRET_REF_PREFIX):
            ref_id, _, ref_key = value[len(protocol.SECRET_REF_PREFIX):].partition(":")
            source = by_id.get(ref_id)
            # only into the same field of a component of the same type and flavor: a secret
            # never becomes the value of a field that is shown
            if source is None or ref_key != key or ref_key not in source.config \
                    or source.type.value != data.get("type") \
                    or source.flavor != data.get("flavor"):
                raise InputError(f"The value of '{key}' stands for a secret value that is "
                                 "gone or belongs to another field; give the value itself.")
            value = source.config[ref_key]
        resolved[key] = value
    return {**data, "config": resolved}


# -- revisions ----------------------------------------------------------------------------
def current_revision(view: StoreView, key: str) -> str | None:
    kind, _, rest = key.partition(":")
    if kind == "component":
        type_value, _, name = rest.partition(":")
        found = view.get_component(ComponentType(type_value), name)
        return protocol.revision_of(found.to_dict()) if found is not None else None
    if kind == "stack":
        stack = view.get_stack(rest)
        return protocol.revision_of(stack.to_dict()) if stack is not None else None
    if kind == "flavor":
        type_value, _, name = rest.partition(":")
        match = [f for f in view.list_flavors(ComponentType(type_value)) if f.name == name]
        return protocol.revision_of(match[0].to_dict()) if match else None
    if kind == "components":
        type_ = None if rest == "*" else ComponentType(rest)
        return protocol.collection_revision({
            protocol.component_key(c.type, c.name): protocol.revision_of(c.to_dict())
            for c in view.list_components(type_)})
    if key == protocol.STACKS_KEY:
        return protocol.collection_revision({protocol.stack_key(s.name):
                                             protocol.revision_of(s.to_dict())
                                             for s in view.list_stacks()})
    if key == protocol.FLAVORS_KEY:
        return protocol.collection_revision({protocol.flavor_key(f.type, f.name):
                                             protocol.revision_of(f.to_dict())
                                             for f in view.list_flavors()})
    raise InputError(f"Unknown key {key!r} in a transaction's reads.")


def describe_key(key: str) -> str:
    kind, _, rest = key.partition(":")
    if kind == "component":
        type_value, _, name = rest.partition(":")
        return f"The {type_value.replace('_', ' ')} '{name}'"
    if kind == "stack":
        return f"Stack '{rest}'"
    if kind == "flavor":
        return f"The flavor '{rest.partition(':')[2]}'"
    if kind == "components":
        return ("The components" if rest == "*"
                else f"The {rest.replace('_', ' ')}s")
    return f"The {key}"


def keys_of_op(op: Mapping[str, Any]) -> list[str]:
    kind = str(op.get("op"))
    if kind.endswith("_component"):
        component = op.get("component") or {}
        type_value = str(component.get("type") or op.get("type"))
        names = {str(component.get("name") or op.get("name")), str(op.get("old_name") or "")}
        return [f"component:{type_value}:{n}" for n in sorted(names) if n]
    if kind.endswith("_stack"):
        names = {str(op.get("name")), str(op.get("old_name") or "")}
        return [protocol.stack_key(n) for n in sorted(names) if n]
    flavor = op.get("flavor") or op
    return [f"flavor:{flavor.get('type')}:{flavor.get('name')}"]


def _touches(record: Mapping[str, Any], key: str) -> bool:
    keys = record.get("keys") or []
    if key in (protocol.STACKS_KEY, protocol.FLAVORS_KEY):
        return any(k.startswith(key[:-1]) for k in keys)
    if key.startswith("components:"):
        type_value = key.partition(":")[2]
        return any(k.startswith("component:" if type_value == "*"
                                else f"component:{type_value}:") for k in keys)
    return key in keys


def _object_state(view: StoreView, key: str) -> Any:
    kind, _, rest = key.partition(":")
    if kind == "component":
        type_value, _, name = rest.partition(":")
        found = view.get_component(ComponentType(type_value), name)
        return masked_entry(SecretFields(view), found) if found is not None else None
    if kind == "stack":
        stack = view.get_stack(rest)
        return stack.to_dict() if stack is not None else None
    type_value, _, name = rest.partition(":")
    match = [f.to_dict() for f in view.list_flavors(ComponentType(type_value))
             if f.name == name]
    return match[0] if match else None


# -- the application ----------------------------------------------------------------------
class Service:
    """What the routes do, over one store and its accounts (one per worker process)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.store: Store = open_store(settings.profile())
        self.accounts: Accounts = open_accounts(settings.store_type, settings.store_url,
                                                settings.options)

    def close(self) -> None:
        self.store.close()
        self.accounts.close()

    def principal(self, header: str | None) -> auth.Principal:
        principal, due = auth.authenticate(self.accounts.load(), header)
        if due is not None:
            self.accounts.update(lambda doc: auth.touch_token(doc, due))
        return principal

    # store protocol
    def initialized(self) -> bool:
        if self.accounts.load()["settings"].get("initialized"):
            return True
        with self.store.read() as view:
            return bool(view.list_stacks() or view.list_components() or view.list_flavors())

    def mark_initialized(self) -> None:
        def change(doc: dict[str, Any]) -> None:
            doc["settings"]["initialized"] = True

        self.accounts.update(change)

    def snapshot(self, principal: auth.Principal) -> dict[str, Any]:
        see_secrets = "secrets" in principal.permissions
        with self.store.read() as view:
            components = view.list_components()
            stacks = view.list_stacks()
            flavors = view.list_flavors()
            revisions = protocol.snapshot_revisions(components, stacks, flavors)
            secrets = SecretFields(view)
            shown = components if see_secrets else [withheld(secrets, c) for c in components]
            return {"components": [c.to_dict() for c in shown],
                    "stacks": [{"name": s.name, "components": s.to_dict()} for s in stacks],
                    "flavors": [f.to_dict() for f in flavors],
                    "revisions": revisions}

    def transaction(self, principal: auth.Principal, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("ops"), list) \
                or not isinstance(body.get("reads") or {}, dict):
            raise InputError("A transaction is {\"reads\": {...}, \"ops\": [...]}.")
        reads: dict[str, Any] = body.get("reads") or {}
        ops: list[Any] = body["ops"]
        stamp = auth.iso(auth.now())
        records: list[dict[str, Any]] = []
        txn_id = secrets_module.token_hex(8)
        recorded = False
        try:
            with self.store.write() as txn:
                for key, expected in reads.items():
                    if current_revision(txn, key) != expected:
                        raise self._stale(key)
                for op in ops:
                    if not isinstance(op, dict):
                        raise InputError("Every operation of a transaction is an object.")
                    keys = keys_of_op(op)
                    before = {k: _object_state(txn, k) for k in keys}
                    if "component" in op:
                        op = {**op, "component": resolve_refs(txn, dict(op["component"]))}
                    protocol.apply_op(txn, op)
                    after = {k: _object_state(txn, k) for k in keys}
                    records.append({"time": stamp, "user": principal.user,
                                    "token": principal.token, "txn": txn_id,
                                    "action": op["op"], "keys": keys,
                                    "before": before, "after": after})
                # recorded before the commit (with it, on a SQL store): a write that commits
                # is never missing from the log, whatever happens next
                self.accounts.append_audit_within(txn, records)
                recorded = bool(records)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"A malformed operation in a transaction ({exc}).") from None
        except BaseException:
            if recorded:
                self.accounts.abort_audit(txn_id)
            raise
        if records and not self.accounts.load()["settings"].get("initialized"):
            self.mark_initialized()
        return {"applied": len(records), "transaction": txn_id}

    # single objects: GET gives an ETag, PUT / DELETE need If-Match (or If-None-Match: *)
    def revision(self, key: str) -> str | None:
        with self.store.read() as view:
            return current_revision(view, key)

    def write_one(self, principal: auth.Principal, key: str, op: dict[str, Any], *,
                  if_match: str | None, if_none_match: str | None) -> str | None:
        """Apply one operation on the object ``key`` if it is at the revision the caller
        read; the object's new revision (``None`` once deleted)."""
        expected = precondition(if_match, if_none_match)
        try:
            self.transaction(principal, {"reads": {key: expected}, "ops": [op]})
        except StaleError as exc:
            raise PreconditionFailed(exc.message, hint="Read it again (GET) and retry with "
                                                       "its new ETag.") from None
        return self.revision(key)

    def put_component(self, principal: auth.Principal, type_: ComponentType, name: str,
                      body: Any, *, if_match: str | None, if_none_match: str | None
                      ) -> str | None:
        if not isinstance(body, dict) or not isinstance(body.get("flavor"), str) \
                or not isinstance(body.get("config", {}), dict):
            raise InputError("A component is {\"flavor\": ..., \"config\": {...}}.")
        from mlrig.names import validate_name

        validate_name("component", name)
        key = protocol.component_key(type_, name)
        with self.store.read() as view:
            existing = view.get_component(type_, name)
            config = self._validated(view, type_, name, body["flavor"],
                                     dict(body.get("config") or {}))
        component = Component(type_, name, body["flavor"], config,
                              existing.id if existing is not None else new_id()).to_dict()
        op: dict[str, Any] = (
            {"op": "create_component", "component": component} if existing is None
            else {"op": "update_component", "component": component, "old_name": name})
        return self.write_one(principal, key, op, if_match=if_match,
                              if_none_match=if_none_match)

    @staticmethod
    def _validated(view: StoreView, type_: ComponentType, name: str, flavor: str,
                   config: dict[str, Any]) -> dict[str, Any]:
        """The config checked by the flavor's schema (a flavor registered in the profile by
        a client is never imported here: its config is kept as sent, as the CLI does when
        it cannot load one)."""
        from mlrig import flavors as registry

        spec = registry.resolve(type_, flavor, view.list_flavors(type_))
        if spec.origin == "profile":
            return config
        if any(isinstance(v, str) and v.startswith(protocol.SECRET_REF_PREFIX)
               for v in config.values()):
            return config  # a withheld secret sent back: resolved (and checked) on write
        return spec.validate_config(config, f"{type_.display_name} '{name}'")

    def put_stack(self, principal: auth.Principal, name: str, body: Any, *,
                  if_match: str | None, if_none_match: str | None) -> str | None:
        components = body.get("components") if isinstance(body, dict) else None
        if not isinstance(components, dict) or not all(
                isinstance(v, str) for v in components.values()):
            raise InputError("A stack is {\"components\": {TYPE: NAME, ...}}.")
        from mlrig.names import validate_name

        validate_name("stack", name)
        parts = {ComponentType.parse(t).value: n for t, n in components.items()}
        key = protocol.stack_key(name)
        with self.store.read() as view:
            exists = view.get_stack(name) is not None
        op = ({"op": "update_stack", "name": name, "components": parts, "old_name": name}
              if exists else {"op": "create_stack", "name": name, "components": parts})
        return self.write_one(principal, key, op, if_match=if_match,
                              if_none_match=if_none_match)

    def _stale(self, key: str) -> StaleError:
        last = next((r for r in reversed(self.accounts.audit(limit=5000))
                     if _touches(r, key)), None)
        who = (f" by '{last['user']}' at {last['time']}" if last is not None else "")
        return StaleError(f"{describe_key(key)} was changed{who} after this command read it; "
                          "nothing was changed.", hint="Run the command again.")

    # documents
    def stacks(self, name: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
        after = page_start(limit, cursor)
        with self.store.read() as view:
            found = view.page_stacks(after=after, limit=limit + 1, name_contains=name)
        return page(document("stacks", [stack_entry(s, False) for s in found]), "stacks",
                    limit)

    def stack(self, name: str) -> dict[str, Any]:
        with self.store.read() as view:
            found = view.get_stack(name)
        if found is None:
            raise NotFoundError(f"Stack '{name}' does not exist.")
        return document("stack", stack_entry(found, False))

    def _entry(self, secrets: SecretFields, component: Component, see: bool
               ) -> dict[str, Any]:
        config = (dict(component.config) if see
                  else hidden_config(secrets, component, lambda k: SECRET_MASK))
        return {"type": component.type.value, "name": component.name,
                "flavor": component.flavor, "id": component.id, "active": False,
                "config": config}

    def components(self, type_: ComponentType, principal: auth.Principal, *, name: str | None,
                   flavor: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
        # only the page is read (one entry more, to know whether another page follows),
        # and the flavors once per type of the page, for the masking of secrets
        see = "secrets" in principal.permissions
        after = page_start(limit, cursor)
        with self.store.read() as view:
            secrets = SecretFields(view)
            found = view.page_components(type_, after=None if after is None else (type_, after),
                                         limit=limit + 1, name_contains=name, flavor=flavor)
            entries = [self._entry(secrets, c, see) for c in found]
        return page(document(type_.plural, entries), type_.plural, limit)

    def component(self, type_: ComponentType, name: str,
                  principal: auth.Principal) -> dict[str, Any]:
        with self.store.read() as view:
            found = view.get_component(type_, name)
            if found is None:
                raise NotFoundError(f"No {type_.display_name} with the name '{name}' is "
                                    "registered.")
            return document(type_.value,
                            self._entry(SecretFields(view), found,
                                        "secrets" in principal.permissions))

    def flavors(self, type_: ComponentType) -> dict[str, Any]:
        from mlrig import flavors as registry

        with self.store.read() as view:
            records = view.list_flavors(type_)
        return document("flavors", [{"flavor": s.name, "source": s.source, "origin": s.origin}
                                    for s in registry.all_specs(type_, records)])


def _cursor(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii").rstrip("=")


def _uncursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except ValueError:
        raise InputError(f"Invalid cursor '{cursor}'.") from None


def page_start(limit: int, cursor: str | None) -> str | None:
    """Check a page's ``limit`` and return the name its entries follow (``None``: from the
    first)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}.")
    return None if cursor is None else _uncursor(cursor)


def page(doc: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
    """One page of a listed document, whose entries (in name order, after the cursor) the
    store read with one more than ``limit``: at most ``limit`` of them, and ``next_cursor``
    (``None`` on the last page)."""
    entries = doc[key]
    shown = entries[:limit]
    more = len(entries) > limit
    return {**doc, key: shown, "next_cursor": _cursor(shown[-1]["name"]) if more else None}


def etag(revision: str | None) -> dict[str, str]:
    return {} if revision is None else {"ETag": f'"{revision}"'}


def precondition(if_match: str | None, if_none_match: str | None) -> str | None:
    """The revision a single-object write expects (``None``: that the object does not exist
    yet), from its ``If-Match`` / ``If-None-Match`` headers; one of them is required."""
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise InputError("If-None-Match on a write must be '*' (create only).")
        return None
    if if_match is None:
        raise PreconditionRequired(
            "A write of one object needs the ETag it read (If-Match), or If-None-Match: * to "
            "create it; nothing was changed.")
    value = if_match.strip()
    if value.startswith("W/"):
        raise InputError("If-Match needs a strong ETag.")
    if value == "*":
        raise InputError("If-Match: * is not accepted: name the revision that was read.")
    return value.strip('"')


def settings_from_env() -> ServerSettings:
    path = os.environ.get(SETTINGS_ENV)
    if not path:
        raise StoreError(f"{SETTINGS_ENV} names no settings file.")
    return ServerSettings.from_file(Path(path))


def create_app_from_env() -> FastAPI:
    """The app of a worker process (uvicorn's factory; settings from the environment)."""
    return create_app(settings_from_env())


def create_app(settings: ServerSettings) -> FastAPI:
    service = Service(settings)
    app = FastAPI(title="mlrig server", version=__version__,
                  description="Profiles of ML stacks, shared by a team "
                              f"(serving {mask_url(settings.store_url)}).")
    app.state.service = service

    @app.exception_handler(MlrigError)
    async def mlrig_error(request: Request, exc: MlrigError) -> JSONResponse:
        status, body = error_body(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"The server failed ({type(exc).__name__}); its log "
                                      "has nothing more (it never logs values).",
                             "hint": None, "kind": "store"}, status_code=500)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if request.method in ("POST", "PUT", "PATCH") and (
                length is None or not length.isdigit() or int(length) > settings.max_body):
            status = 411 if length is None else 413
            return JSONResponse({"error": f"The request body is missing a length or larger "
                                          f"than {settings.max_body} bytes.",
                                 "hint": None, "kind": "input"}, status_code=status)
        return await call_next(request)

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        if len(raw) > settings.max_body:
            raise InputError("The request body is too large.")
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise InputError("The request body is not JSON.") from None

    def who(request: Request, permission: str | None = "read") -> auth.Principal:
        principal = service.principal(request.headers.get("authorization"))
        if permission is not None:
            principal.require(permission)
        return principal

    def ctype(value: str) -> ComponentType:
        return ComponentType.parse(value)

    @app.get("/api/v1/health")
    async def health() -> dict[str, Any]:
        """Whether the server can read its store (no token needed, nothing revealed)."""
        with service.store.read() as view:
            view.list_stacks()
        return {"status": "ok", "version": __version__}

    @app.get("/api/v1/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        principal = who(request, None)
        return {"user": principal.user, "token": principal.token,
                "permissions": sorted(principal.permissions)}

    @app.post("/api/v1/auth/login")
    async def login(request: Request) -> dict[str, Any]:
        """A short-lived token for a user name and password."""
        body = await body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("user"), str) \
                or not isinstance(body.get("password"), str):
            raise InputError("A login is {\"user\": ..., \"password\": ...}.")
        made = service.accounts.update(
            lambda doc: auth.login(doc, body["user"], body["password"]))
        record_admin(service.accounts, made.entry["user"], made.entry["name"], "login",
                     key=f"token:{made.entry['id']}", after=made.entry)
        return {**made.entry, "token": made.token}

    # the rest store's protocol
    @app.get("/api/v1/store/status")
    async def store_status(request: Request) -> dict[str, Any]:
        who(request)
        return {"initialized": service.initialized()}

    @app.post("/api/v1/store/initialize")
    async def store_initialize(request: Request) -> dict[str, Any]:
        who(request, "write")
        service.mark_initialized()
        return {"initialized": True}

    @app.get("/api/v1/store")
    async def store_snapshot(request: Request) -> dict[str, Any]:
        return service.snapshot(who(request))

    @app.post("/api/v1/store/transactions")
    async def store_transaction(request: Request) -> dict[str, Any]:
        principal = who(request, "write")
        return service.transaction(principal, await body_of(request))

    # documents
    @app.get("/api/v1/stacks")
    async def stacks(request: Request, name: str | None = None, limit: int = 100,
                     cursor: str | None = None) -> dict[str, Any]:
        who(request)
        return service.stacks(name, limit, cursor)

    @app.get("/api/v1/stacks/{name}")
    async def stack(request: Request, name: str) -> JSONResponse:
        """One stack, with its revision as the ETag (for If-Match on a write)."""
        who(request)
        found = service.stack(name)
        return JSONResponse(found, headers=etag(service.revision(protocol.stack_key(name))))

    @app.put("/api/v1/stacks/{name}")
    async def stack_put(request: Request, name: str) -> JSONResponse:
        """Create (``If-None-Match: *``) or replace (``If-Match: <ETag>``) one stack."""
        principal = who(request, "write")
        revision = service.put_stack(principal, name, await body_of(request),
                                     if_match=request.headers.get("if-match"),
                                     if_none_match=request.headers.get("if-none-match"))
        return JSONResponse(service.stack(name), headers=etag(revision))

    @app.delete("/api/v1/stacks/{name}")
    async def stack_delete(request: Request, name: str) -> dict[str, Any]:
        """Delete one stack at the revision of ``If-Match``."""
        principal = who(request, "write")
        service.write_one(principal, protocol.stack_key(name),
                          {"op": "delete_stack", "name": name},
                          if_match=request.headers.get("if-match"), if_none_match=None)
        return {"deleted": name}

    @app.get("/api/v1/components/{type_name}")
    async def components(request: Request, type_name: str, *, name: str | None = None,
                         flavor: str | None = None, limit: int = 100,
                         cursor: str | None = None) -> dict[str, Any]:
        return service.components(ctype(type_name), who(request), name=name, flavor=flavor,
                                  limit=limit, cursor=cursor)

    @app.get("/api/v1/components/{type_name}/{name}")
    async def component(request: Request, type_name: str, name: str) -> JSONResponse:
        """One component (secrets masked without the permission), its revision as ETag."""
        type_ = ctype(type_name)
        found = service.component(type_, name, who(request))
        return JSONResponse(found, headers=etag(service.revision(
            protocol.component_key(type_, name))))

    @app.put("/api/v1/components/{type_name}/{name}")
    async def component_put(request: Request, type_name: str, name: str) -> JSONResponse:
        """Create (``If-None-Match: *``) or replace (``If-Match: <ETag>``) one component;
        its config is checked by its flavor's schema."""
        type_ = ctype(type_name)
        principal = who(request, "write")
        revision = service.put_component(principal, type_, name, await body_of(request),
                                         if_match=request.headers.get("if-match"),
                                         if_none_match=request.headers.get("if-none-match"))
        return JSONResponse(service.component(type_, name, principal), headers=etag(revision))

    @app.delete("/api/v1/components/{type_name}/{name}")
    async def component_delete(request: Request, type_name: str, name: str
                               ) -> dict[str, Any]:
        """Delete one component at the revision of ``If-Match`` (refused while a stack uses
        it)."""
        type_ = ctype(type_name)
        principal = who(request, "write")
        service.write_one(principal, protocol.component_key(type_, name),
                          {"op": "delete_component", "type": type_.value, "name": name},
                          if_match=request.headers.get("if-match"), if_none_match=None)
        return {"deleted": name}

    @app.get("/api/v1/flavors/{type_name}")
    async def flavors(request: Request, type_name: str) -> dict[str, Any]:
        who(request)
        return service.flavors(ctype(type_name))

    # admin: users, tokens, audit
    @app.get("/api/v1/users")
    async def users(request: Request) -> dict[str, Any]:
        who(request, "admin")
        return document("users", auth.list_users(service.accounts.load()))

    @app.post("/api/v1/users")
    async def user_create(request: Request) -> dict[str, Any]:
        principal = who(request, "admin")
        body = await body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise InputError("A new user is {\"name\": ..., \"role\": ..., \"password\": ...}.")
        entry = service.accounts.update(lambda doc: auth.create_user(
            doc, body["name"], str(body.get("role") or "viewer"),
            body.get("password") or None, bool(body.get("secrets"))))
        record_admin(service.accounts, principal.user, principal.token, "create_user",
                     key=f"user:{entry['name']}", after=entry)
        return document("user", entry)

    @app.delete("/api/v1/users/{name}")
    async def user_delete(request: Request, name: str) -> dict[str, Any]:
        principal = who(request, "admin")
        service.accounts.update(lambda doc: auth.delete_user(doc, name))
        record_admin(service.accounts, principal.user, principal.token, "delete_user",
                     key=f"user:{name}", after=None)
        return {"deleted": name}

    @app.put("/api/v1/users/{name}/role")
    async def user_role(request: Request, name: str) -> dict[str, Any]:
        principal = who(request, "admin")
        body = await body_of(request)
        role = body.get("role") if isinstance(body, dict) else None
        if not isinstance(role, str):
            raise InputError("A role change is {\"role\": ...}.")
        entry = service.accounts.update(lambda doc: auth.set_role(doc, name, role))
        record_admin(service.accounts, principal.user, principal.token, "set_role",
                     key=f"user:{name}", after=entry)
        return document("user", entry)

    @app.get("/api/v1/tokens")
    async def tokens(request: Request) -> dict[str, Any]:
        who(request, "admin")
        return document("tokens", auth.list_tokens(service.accounts.load()))

    @app.post("/api/v1/tokens")
    async def token_create(request: Request) -> dict[str, Any]:
        principal = who(request, "admin")
        body = await body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise InputError("A new token is {\"name\": ..., \"role\": ..., \"expires\": ...}.")
        expires = (auth.parse_duration(str(body["expires"])) if body.get("expires")
                   else None)
        made = service.accounts.update(lambda doc: auth.create_token(
            doc, body["name"], str(body.get("user") or principal.user),
            role=body.get("role") or None, expires=expires, secrets_=bool(body.get("secrets"))))
        record_admin(service.accounts, principal.user, principal.token, "create_token",
                     key=f"token:{made.entry['id']}", after=made.entry)
        return document("token", {**made.entry, "token": made.token})

    @app.delete("/api/v1/tokens/{ref}")
    async def token_revoke(request: Request, ref: str) -> dict[str, Any]:
        principal = who(request, "admin")
        entry = service.accounts.update(lambda doc: auth.revoke_token(doc, ref))
        record_admin(service.accounts, principal.user, principal.token, "revoke_token",
                     key=f"token:{entry['id']}", after=entry)
        return document("token", entry)

    @app.get("/api/v1/audit")
    async def audit(request: Request, since: str | None = None,
                    limit: int = 1000) -> dict[str, Any]:
        who(request, "admin")
        return document("audit", service.accounts.audit(since, max(1, min(limit, 10_000))))

    @app.on_event("shutdown")
    def close() -> None:
        service.close()

    return app
