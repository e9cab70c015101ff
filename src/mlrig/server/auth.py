"""Users, roles and tokens of a server (kept in :mod:`mlrig.server.accounts`).

* Roles: ``viewer`` (``read``), ``editor`` (``read``, ``write``: stacks, components,
  flavors), ``admin`` (``read``, ``write``, ``admin``: users, tokens, settings). Secret
  values need the ``secrets`` permission, which no role implies: a user or a token is
  given it explicitly.
* Passwords are hashed with argon2 (argon2-cffi). A user with no password signs in with
  tokens only (the first admin).
* A token is ``mlrig_<id>_<secret>``: the id finds its record, the secret (32 random
  bytes) is kept as its SHA-256 (a high-entropy secret needs no slow hash). A token has a
  role (at most its user's), an expiry, a last use, and may be revoked. Interactive logins
  get a short-lived token of the same kind.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from mlrig.exceptions import AlreadyExistsError, InputError, MlrigError, NotFoundError

ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "editor": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}
PERMISSIONS = ("read", "write", "secrets", "admin")
ADMIN = "admin"
#: how long a token from ``mlrig login --user`` lives
SESSION_HOURS = 12
#: a token's last use is written at most this often (a write per request would be costly)
LAST_USE_EVERY = timedelta(seconds=60)
_TOKEN = re.compile(r"^mlrig_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class AuthError(MlrigError):
    """No valid credential (HTTP 401)."""


class PermissionDenied(MlrigError):
    """A valid credential without the permission a request needs (HTTP 403)."""


class Principal(NamedTuple):
    """Who makes a request: the user, the token's name, what it may do."""

    user: str
    token: str
    permissions: frozenset[str]

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(
                f"Permission denied: this needs the '{permission}' permission, which the "
                f"token '{self.token}' of user '{self.user}' does not have.")


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``15m``, ``2w``, ``90s``."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise InputError(f"Invalid duration '{text}': use a number and a unit, e.g. 30d, "
                         "12h, 15m (s, m, h, d, w).")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"Unknown role '{role}'; choose one of: {', '.join(ROLES)}.")
    return role


def check_user_name(name: str) -> str:
    from mlrig.names import validate_name

    return validate_name("user", name)


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def password_matches(stored: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


# -- users -------------------------------------------------------------------------------
def create_user(doc: dict[str, Any], name: str, role: str, password: str | None = None,
                secrets_: bool = False) -> dict[str, Any]:
    check_user_name(name)
    check_role(role)
    if name in doc["users"]:
        raise AlreadyExistsError(f"A user with the name '{name}' already exists.")
    user = {"role": role, "secrets": secrets_, "created": iso(now()),
            "password": hash_password(password) if password else None}
    doc["users"][name] = user
    return user_entry(name, user)


def user_entry(name: str, user: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "role": user["role"], "secrets": bool(user.get("secrets")),
            "password": user.get("password") is not None, "created": user.get("created")}


def get_user(doc: dict[str, Any], name: str) -> dict[str, Any]:
    user = doc["users"].get(name)
    if user is None:
        raise NotFoundError(f"User '{name}' does not exist.")
    return dict(user)


def _admins(doc: dict[str, Any]) -> list[str]:
    return [n for n, u in doc["users"].items() if u["role"] == ADMIN]


def delete_user(doc: dict[str, Any], name: str) -> None:
    get_user(doc, name)
    if _admins(doc) == [name]:
        raise InputError(f"User '{name}' is the only admin and cannot be deleted.")
    del doc["users"][name]
    for token in doc["tokens"].values():
        if token["user"] == name:
            token["revoked"] = token.get("revoked") or iso(now())


def set_role(doc: dict[str, Any], name: str, role: str) -> dict[str, Any]:
    user = get_user(doc, name)
    check_role(role)
    if user["role"] == ADMIN and role != ADMIN and _admins(doc) == [name]:
        raise InputError(f"User '{name}' is the only admin and keeps the role 'admin'.")
    doc["users"][name]["role"] = role
    return user_entry(name, doc["users"][name])


def list_users(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [user_entry(n, u) for n, u in sorted(doc["users"].items())]


# -- tokens ------------------------------------------------------------------------------
class NewToken(NamedTuple):
    token: str  #: shown once
    entry: dict[str, Any]


def create_token(doc: dict[str, Any], name: str, user: str, *, role: str | None = None,
                 expires: timedelta | None = None, secrets_: bool = False,
                 kind: str = "api") -> NewToken:
    owner = get_user(doc, user)
    chosen = check_role(role or owner["role"])
    if not ROLES[chosen] <= ROLES[owner["role"]]:
        raise InputError(f"A token of user '{user}' (role '{owner['role']}') cannot have "
                         f"the role '{chosen}'.")
    if secrets_ and not owner.get("secrets"):
        raise InputError(f"User '{user}' may not read secret values, so its tokens may not.")
    if not name or len(name) > 128 or not name.isprintable():
        raise InputError("A token name must be 1 to 128 printable characters.")
    if any(t["name"] == name and t["user"] == user and not _inactive(t)
           for t in doc["tokens"].values()):
        raise AlreadyExistsError(f"User '{user}' already has a token named '{name}'.")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    created = now()
    record = {"name": name, "user": user, "role": chosen, "secrets": secrets_,
              "kind": kind, "hash": _digest(secret), "created": iso(created),
              "expires": iso(created + expires) if expires is not None else None,
              "last_used": None, "revoked": None}
    doc["tokens"][token_id] = record
    return NewToken(f"mlrig_{token_id}_{secret}", token_entry(token_id, record))


def _inactive(record: dict[str, Any]) -> bool:
    return bool(record.get("revoked")) or (
        record.get("expires") is not None and parse_iso(record["expires"]) <= now())


def token_entry(token_id: str, record: dict[str, Any]) -> dict[str, Any]:
    state = ("revoked" if record.get("revoked") else "expired" if _inactive(record)
             else "active")
    return {"id": token_id, "name": record["name"], "user": record["user"],
            "role": record["role"], "secrets": bool(record.get("secrets")),
            "kind": record.get("kind", "api"), "created": record["created"],
            "expires": record.get("expires"), "last_used": record.get("last_used"),
            "state": state}


def list_tokens(doc: dict[str, Any], user: str | None = None) -> list[dict[str, Any]]:
    return [token_entry(i, t) for i, t in sorted(doc["tokens"].items(),
                                                 key=lambda item: item[1]["created"])
            if user is None or t["user"] == user]


def find_token(doc: dict[str, Any], ref: str) -> str:
    """A token's id from its id or its name (unique among active tokens)."""
    if ref in doc["tokens"]:
        return ref
    found = [i for i, t in doc["tokens"].items() if t["name"] == ref and not _inactive(t)]
    if len(found) == 1:
        return str(found[0])
    if not found:
        raise NotFoundError(f"No active token with the id or name '{ref}'.")
    raise InputError(f"Several active tokens are named '{ref}'; give its id.")


def revoke_token(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    token_id = find_token(doc, ref)
    record = doc["tokens"][token_id]
    record["revoked"] = record.get("revoked") or iso(now())
    return token_entry(token_id, record)


LOGIN_LIBRARY_HINT = "Ask an admin for a new token and call client.login(PROFILE, TOKEN)."


def _login_hint() -> str:
    return "Ask an admin for a new token and run 'mlrig login'."


def authenticate(doc: dict[str, Any], header: str | None) -> tuple[Principal, str | None]:
    """The principal of an ``Authorization: Bearer`` header, and the id of the token whose
    last use is due to be written (or ``None``)."""
    if not header:
        raise AuthError("This mlrig server needs a token (no Authorization header was sent).",
                        hint=_login_hint(), library_hint=LOGIN_LIBRARY_HINT)
    scheme, _, value = header.partition(" ")
    match = _TOKEN.match(value.strip()) if scheme.lower() == "bearer" else None
    record = doc["tokens"].get(match.group(1)) if match else None
    if match is None or record is None or not hmac.compare_digest(
            record["hash"], _digest(match.group(2))):
        raise AuthError("The token is not valid for this mlrig server.", hint=_login_hint(),
                        library_hint=LOGIN_LIBRARY_HINT)
    if record.get("revoked"):
        raise AuthError(f"The token '{record['name']}' was revoked at {record['revoked']}.",
                        hint=_login_hint(), library_hint=LOGIN_LIBRARY_HINT)
    if record.get("expires") is not None and parse_iso(record["expires"]) <= now():
        raise AuthError(f"The token '{record['name']}' expired at {record['expires']}.",
                        hint=_login_hint(), library_hint=LOGIN_LIBRARY_HINT)
    user = doc["users"].get(record["user"])
    if user is None:
        raise AuthError(f"The user '{record['user']}' of the token was deleted.",
                        hint=_login_hint(), library_hint=LOGIN_LIBRARY_HINT)
    permissions = set(ROLES[record["role"]] & ROLES[user["role"]])
    if record.get("secrets") and user.get("secrets"):
        permissions.add("secrets")
    last = record.get("last_used")
    due = last is None or now() - parse_iso(last) >= LAST_USE_EVERY
    principal = Principal(record["user"], record["name"], frozenset(permissions))
    return principal, (match.group(1) if due else None)


def touch_token(doc: dict[str, Any], token_id: str) -> None:
    if token_id in doc["tokens"]:
        doc["tokens"][token_id]["last_used"] = iso(now())


def login(doc: dict[str, Any], user: str, password: str) -> NewToken:
    """A short-lived token for a user's password (AuthError for a wrong pair)."""
    record = doc["users"].get(user)
    if record is None or not record.get("password") or not password_matches(
            record["password"], password):
        raise AuthError("Wrong user name or password.")
    stamp = now().strftime("%Y%m%d%H%M%S")
    return create_token(doc, f"login-{stamp}-{secrets.token_hex(3)}", user,
                        expires=timedelta(hours=SESSION_HOURS),
                        secrets_=bool(record.get("secrets")), kind="session")


def bootstrap_admin(doc: dict[str, Any]) -> NewToken | None:
    """On a store with no users: the user ``admin`` and a token for it (shown once)."""
    if doc["users"]:
        return None
    create_user(doc, ADMIN, ADMIN, secrets_=True)
    return create_token(doc, "initial-admin", ADMIN)
