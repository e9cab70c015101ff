"""Where a server keeps its users, tokens and audit log: with the store it serves.

Nothing lives in a server process, so several workers, and several servers on one
PostgreSQL store, see the same users and tokens and write to the same audit log.

* A local store: ``<store>/.server/accounts.json`` (users, tokens, settings: one document,
  replaced atomically under ``<store>/.server/.lock``) and ``<store>/.server/audit.jsonl``
  (one JSON record per line, appended and fsynced under the same lock; a torn last line
  of a crashed append is skipped by readers).
* A SQL store: two tables of its database, ``mlrig_server_documents`` (the same accounts
  document in one row, read-modify-written under the row's lock, ``SELECT ... FOR UPDATE``)
  and ``mlrig_server_audit``; they are created on first use and never touched by the
  store's own migrations.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from mlrig.exceptions import CorruptFileError, StoreError

T = TypeVar("T")
ACCOUNTS_VERSION = 1
_DIR = ".server"
_ACCOUNTS = "accounts.json"
_AUDIT = "audit.jsonl"


def empty_accounts() -> dict[str, Any]:
    return {"version": ACCOUNTS_VERSION, "users": {}, "tokens": {}, "settings": {}}


def _checked(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or not all(
            isinstance(doc.get(k), dict) for k in ("users", "tokens", "settings")):
        raise CorruptFileError(f"The server's accounts in {where} are malformed; mlrig will "
                               "not overwrite them.")
    if doc.get("version") != ACCOUNTS_VERSION:
        raise CorruptFileError(f"The server's accounts in {where} have format version "
                               f"{doc.get('version')!r}, which this mlrig cannot read.")
    return doc


class Accounts(Protocol):
    """Users, tokens, settings (one document) and the audit log of a served store."""

    where: str

    def load(self) -> dict[str, Any]: ...

    def update(self, change: Callable[[dict[str, Any]], T]) -> T:
        """Read-modify-write of the accounts document under a lock every replica honours."""

    def append_audit(self, records: list[dict[str, Any]]) -> None: ...

    def append_audit_within(self, txn: Any, records: list[dict[str, Any]]) -> None:
        """Record the writes of a store transaction *before* it commits (``txn`` is the
        store's open transaction): a SQL store commits them with its own rows; a local one
        gets them appended first, and :meth:`abort_audit` withdraws them if the commit then
        fails. Either way a committed write is never missing from the log."""

    def abort_audit(self, txn_id: str) -> None:
        """The transaction ``txn_id`` whose records :meth:`append_audit_within` wrote did
        not commit: :meth:`audit` leaves them out from now on."""

    def audit(self, since: str | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
        """Records from the oldest (after ``since``, an ISO time) to the newest."""

    def close(self) -> None: ...


#: the action of the record that withdraws the records of a transaction that did not commit
ABORTED = "aborted"


def settled(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of committed transactions (without those an abort record withdraws, and
    without the abort records)."""
    aborted = {r.get("txn") for r in records if r.get("action") == ABORTED}
    if not aborted:
        return records
    return [r for r in records if r.get("action") != ABORTED and r.get("txn") not in aborted]


class FileAccounts:
    """The accounts of a local store, in files under its directory."""

    def __init__(self, store_root: Path) -> None:
        from mlrig.fsutil import FileLock

        self.root = store_root
        self.dir = store_root / _DIR
        self.where = str(self.dir)
        self._lock = FileLock(self.dir / ".lock", root=store_root,
                              purpose=f"the server accounts in '{self.dir}'")
        self._cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None

    def _ensure(self) -> None:
        from mlrig.fsutil import ensure_dir

        ensure_dir(self.dir, root=self.root)

    def _read(self) -> dict[str, Any]:
        from mlrig.fsutil import read_text

        path = self.dir / _ACCOUNTS
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return empty_accounts()
        signature = (info.st_mtime_ns, info.st_size, info.st_ino)
        if self._cache is not None and self._cache[0] == signature:
            cached: dict[str, Any] = json.loads(json.dumps(self._cache[1]))
            return cached
        text = read_text(path, follow=False)
        if text is None:
            return empty_accounts()
        try:
            doc = _checked(json.loads(text), f"'{path}'")
        except ValueError:
            raise CorruptFileError(f"The server's accounts file '{path}' does not parse; "
                                   "mlrig will not overwrite it.") from None
        self._cache = (signature, doc)
        copy: dict[str, Any] = json.loads(json.dumps(doc))
        return copy

    def load(self) -> dict[str, Any]:
        if not (self.dir / _ACCOUNTS).exists():
            return empty_accounts()
        self._ensure()
        with self._lock.shared():
            return self._read()

    def update(self, change: Callable[[dict[str, Any]], T]) -> T:
        from mlrig.fsutil import atomic_write

        self._ensure()
        with self._lock.exclusive():
            doc = self._read()
            result = change(doc)
            atomic_write(self.dir / _ACCOUNTS, json.dumps(doc, indent=1, sort_keys=True),
                         root=self.root)
            return result

    def append_audit(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        from mlrig.fsutil import fs_error, open_dir, write_all

        self._ensure()
        payload = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()
        path = self.dir / _AUDIT
        with self._lock.exclusive():
            dir_fd = open_dir(self.dir, self.root)
            try:
                fd = os.open(_AUDIT, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                             | getattr(os, "O_NOFOLLOW", 0), 0o600, dir_fd=dir_fd)
            except OSError as exc:
                raise fs_error(exc, "write", path) from None
            finally:
                os.close(dir_fd)
            try:
                write_all(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)

    def append_audit_within(self, txn: Any, records: list[dict[str, Any]]) -> None:
        self.append_audit(records)

    def abort_audit(self, txn_id: str) -> None:
        from mlrig.server.auth import iso, now

        self.append_audit([{"time": iso(now()), "txn": txn_id, "action": ABORTED}])

    def audit(self, since: str | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
        path = self.dir / _AUDIT
        if not path.exists():
            return []
        from mlrig.fsutil import read_text

        with self._lock.shared():
            if since is None:  # the newest records only: the end of the file
                text = self._tail(path, limit)
            else:
                text = read_text(path, limit=1 << 30, follow=False) or ""
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the torn tail of an append a crash interrupted
            if isinstance(record, dict) and (since is None or str(record.get("time")) > since):
                records.append(record)
        return settled(records)[-limit:]

    @staticmethod
    def _tail(path: Path, limit: int) -> str:
        """The last ``limit`` lines at most (from the last bytes of the file: a record is a
        few KiB at most), without the first, maybe partial, line of what was read."""
        size = 16 * 1024 * min(limit, 10_000)
        with open(path, "rb", opener=lambda p, f: os.open(p, f | getattr(os, "O_NOFOLLOW", 0))
                  ) as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            handle.seek(max(0, end - size))
            data = handle.read()
        if end > size:
            data = data.partition(b"\n")[2]
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        return None


class SqlAccounts:
    """The accounts of a SQL store, in two tables of its database."""

    def __init__(self, url: str, options: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        import sqlalchemy as sa

        from mlrig.stores import mask_url
        from mlrig.stores.sql_url import resolve_password

        self.where = f"the database {mask_url(url)}"
        engine_url = sa.make_url(url)
        password = resolve_password(url, options or {}, os.environ if env is None else env)
        if password is not None:
            engine_url = engine_url.set(password=password)
        self._engine = sa.create_engine(engine_url, pool_pre_ping=True)
        meta = sa.MetaData()
        self._docs = sa.Table(
            "mlrig_server_documents", meta,
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("body", sa.Text, nullable=False))
        self._audit = sa.Table(
            "mlrig_server_audit", meta,
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("time", sa.String(40), nullable=False, index=True),
            sa.Column("body", sa.Text, nullable=False))
        try:
            meta.create_all(self._engine, checkfirst=True)
            with self._engine.begin() as conn:
                found = conn.execute(sa.select(self._docs.c.name).where(
                    self._docs.c.name == "accounts")).first()
                if found is None:
                    conn.execute(self._docs.insert().values(
                        name="accounts", body=json.dumps(empty_accounts())))
        except sa.exc.IntegrityError:
            pass  # another server inserted it first
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"Cannot open the server's accounts in {self.where} "
                             f"({type(exc).__name__}).") from None

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import sqlalchemy as sa

        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"Cannot use the server's accounts in {self.where} "
                             f"({type(exc).__name__}).") from None

    def _parse(self, body: str) -> dict[str, Any]:
        try:
            return _checked(json.loads(body), self.where)
        except ValueError:
            raise CorruptFileError(f"The server's accounts in {self.where} do not parse.") \
                from None

    def load(self) -> dict[str, Any]:
        import sqlalchemy as sa

        with self._errors(), self._engine.connect() as conn:
            body = conn.execute(sa.select(self._docs.c.body).where(
                self._docs.c.name == "accounts")).scalar_one()
        return self._parse(body)

    def update(self, change: Callable[[dict[str, Any]], T]) -> T:
        import sqlalchemy as sa

        with self._errors(), self._engine.begin() as conn:
            body = conn.execute(sa.select(self._docs.c.body).where(
                self._docs.c.name == "accounts").with_for_update()).scalar_one()
            doc = self._parse(body)
            result = change(doc)
            conn.execute(self._docs.update().where(self._docs.c.name == "accounts").values(
                body=json.dumps(doc, sort_keys=True)))
            return result

    def append_audit(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        with self._errors(), self._engine.begin() as conn:
            conn.execute(self._audit.insert(), self._audit_rows(records))

    def _audit_rows(self, records: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [{"time": str(r["time"]), "body": json.dumps(r, sort_keys=True)}
                for r in records]

    def append_audit_within(self, txn: Any, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        # a SQL store's transaction runs statements of ours in it (mlrig.stores.sql_plain)
        execute_many = getattr(txn, "execute_many", None)
        if execute_many is None:  # not a transaction of this database: commit on our own
            self.append_audit(records)
            return
        with self._errors():
            execute_many(f"INSERT INTO {self._audit.name} (time, body) VALUES (?, ?)",
                         [(r["time"], r["body"]) for r in self._audit_rows(records)])

    def abort_audit(self, txn_id: str) -> None:
        return None  # the records rolled back with the store's transaction

    def audit(self, since: str | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        query = sa.select(self._audit.c.body).order_by(self._audit.c.seq.desc()).limit(limit)
        if since is not None:
            query = query.where(self._audit.c.time > since)
        with self._errors(), self._engine.connect() as conn:
            rows = [json.loads(b) for b in conn.execute(query).scalars()]
        return list(reversed(rows))

    def close(self) -> None:
        self._engine.dispose()


def record_admin(accounts: Accounts, user: str, token: str, action: str, *, key: str,
                 after: Any) -> None:
    """An audit record of a change to users or tokens (never a token's value or hash)."""
    from mlrig.server.auth import iso, now

    accounts.append_audit([{"time": iso(now()), "user": user, "token": token,
                            "action": action, "keys": [key], "before": None,
                            "after": {key: after}}])


def local_admin() -> str:
    """Who changes accounts directly on the store (file or database access): the OS user."""
    import getpass

    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"local:uid-{os.getuid()}"


def open_accounts(store_type: str, url: str, options: Mapping[str, Any] | None = None,
                  env: Mapping[str, str] | None = None) -> Accounts:
    """The accounts of the store a server serves (local or SQL)."""
    if store_type == "local":
        from mlrig.stores.local import path_from_url

        return FileAccounts(path_from_url(url))
    if store_type == "sql":
        return SqlAccounts(url, options, env)
    raise StoreError(f"An mlrig server cannot serve a store of type '{store_type}' "
                     "(it serves local and SQL stores).")
