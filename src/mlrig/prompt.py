"""The answers of ``mlrig profile current`` and ``mlrig stack current`` at the interpreter's
floor: shell prompts run them on every prompt.

:func:`answer` resolves the active profile or stack as :class:`mlrig.client.Client` does
(flag > environment > repository > global, see :mod:`mlrig.context`), from the files alone:
``config.yaml``, the repository's ``.mlrig/config.yaml`` and ``MLRIG_*`` variables. It
imports nothing but the standard library's ``os``, ``stat`` and ``zlib``, its C JSON scanner
(:mod:`mlrig.jsonread`: not ``json`` itself, which brings ``re`` and ``enum``) and mlrig's
dependency-free modules (no ``pathlib``, ``typing``, YAML, SQL or HTTP), and opens no store.

It answers only when it is sure to give the answer the whole resolution would give; in
every other case it returns ``None`` and the caller runs the full command, which reports
errors with their messages. So it answers only from the JSON copies of the YAML files that
were *checked* by the full parser (:func:`mlrig.fsutil.read_yaml_mapping`) and are still
current, never parses YAML, and leaves to the full command: a first run, a crashed
operation to finish, any variable it does not read cheaply, a name that does not exist.

Whether the chosen stack exists:

* a **local** store is looked at directly: its marker, no unfinished commit, and the
  checked copy of its stack index (a few ``stat``/``read`` calls);
* on a **SQL** or **rest** store the stack the profile records in ``config.yaml`` (its
  ``active_stack``) is taken as existing: every command of this config dir that deletes or
  renames a stack moves or refuses that pointer (``stack delete`` refuses the active stack,
  ``stack rename`` moves it, ``profile`` operations keep it). A stack named by another
  scope (the environment, a repository) that is not the profile's recorded one is checked
  in the store by the full command, with its error.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # spelled out: `typing` costs ~3 ms of a prompt's ~15
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from mlrig.models import ProfileConfig

# the names the full resolution uses (kept equal by tests/unit/test_prompt.py)
CONFIG_FILE = "config.yaml"  # mlrig.config.global_config.CONFIG_FILE
CONFIG_VERSION = 1  # mlrig.config.global_config.CONFIG_VERSION
PENDING_DIR = "pending"  # mlrig.core.intents.PENDING_DIR
REPO_DIR = ".mlrig"  # mlrig.config.repository.REPO_DIR
REPO_CONFIG_VERSION = 1  # mlrig.config.repository.REPO_CONFIG_VERSION
LOCAL_MARKER = "store.yaml"  # mlrig.stores.local._MARKER
LOCAL_MARKER_TEXT = "version: 1\nkind: mlrig-local-store\n"  # mlrig.stores.local._MARKER_TEXT
LOCAL_LOCK = ".lock"  # LocalStore's FileLock
LOCAL_JOURNAL = ".journal.yaml"  # mlrig.stores.local._JOURNAL
LOCAL_STACKS = "stacks.yaml"  # mlrig.stores.local._STACKS
LOCAL_FORMAT_VERSION = 1  # mlrig.stores.local.FORMAT_VERSION
MAX_FILE_BYTES = 256 * 1024 * 1024  # mlrig.fsutil.MAX_FILE_BYTES

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class _Unsure(Exception):
    """The full resolution must answer (or report an error)."""


def answer(what: str, env: Mapping[str, str] | None = None, cwd: str | None = None
           ) -> str | None:
    """The name of the active ``"profile"`` or ``"stack"``; ``None`` when only the full
    resolution can tell (see the module docstring)."""
    environ = os.environ if env is None else env
    try:
        return _Resolver(environ, cwd).answer(what)
    except Exception as exc:
        if _unsure(exc):
            return None
        raise


def _unsure(exc: Exception) -> bool:
    """Whether ``exc`` means "the full command must answer" (not a bug of this module)."""
    from mlrig.exceptions import MlrigError

    return isinstance(exc, (_Unsure, MlrigError, OSError, ValueError, TypeError, KeyError,
                            AttributeError))


def status_info(env: Mapping[str, str] | None = None, cwd: str | None = None
                ) -> dict[str, Any] | None:
    """The data of ``mlrig status`` (:meth:`mlrig.client.Client.status`) for a profile on a
    local store, from the files; ``None`` when only the full command can tell."""
    environ = os.environ if env is None else env
    try:
        return _Resolver(environ, cwd).status()
    except Exception as exc:
        if _unsure(exc):
            return None
        raise


class _Resolver:
    def __init__(self, env: Mapping[str, str], cwd: str | None) -> None:
        self.env = env
        self.cwd = cwd

    def var(self, name: str) -> str | None:
        value = self.env.get(name)
        return value if value else None

    def answer(self, what: str) -> str:
        self.check_environment()
        config_dir = self.config_dir()
        config = self.global_config(config_dir)
        profiles = config.get("profiles") or {}
        repo = self.repository()
        repo_profile = repo.get("active_profile") if repo is not None else None
        profile = (self.var("MLRIG_ACTIVE_PROFILE") or repo_profile
                   or config.get("active_profile"))
        if not profile or profile not in profiles:
            raise _Unsure  # no active profile, or a missing one: the full command says so
        if what == "profile":
            return str(profile)
        entry = profiles[profile]
        recorded = entry.get("active_stack")
        pinned = repo.get("active_stack") if repo is not None and repo_profile == profile \
            else None
        stack = self.var("MLRIG_ACTIVE_STACK") or pinned or recorded
        if not stack:
            raise _Unsure
        if entry.get("store_type") == "local":
            if not self.local_store_has(entry.get("store_url"), stack):
                raise _Unsure
        elif entry.get("store_type") not in ("sql", "rest") or stack != recorded:
            raise _Unsure  # named by another scope: the full command looks in the store
        return str(stack)

    # ------------------------------------------------------------------ environment
    def check_environment(self) -> None:
        """What :func:`mlrig.core.session.check_environment` would refuse is left to it."""
        # the modules that check a value are loaded only when a variable is set
        if self.var("MLRIG_LOCK_TIMEOUT") is not None:
            from mlrig import environment

            environment.lock_timeout(self.env)  # a bad value: an InputError, the caller's None
        if self.var("MLRIG_DEFAULT_STORE_TYPE") is not None:
            raise _Unsure  # its check belongs to the store registry
        self.directory("MLRIG_CACHE_PATH")  # unused here; a value to doubt: unsure
        for variable, kind in (("MLRIG_ACTIVE_PROFILE", "profile"),
                               ("MLRIG_ACTIVE_STACK", "stack")):
            value = self.var(variable)
            if value is not None:
                from mlrig.names import validate_name

                validate_name(kind, value)

    def directory(self, variable: str) -> str | None:
        """``mlrig.environment.directory`` for the plain cases (else: unsure)."""
        raw = self.var(variable)
        if raw is None:
            return None
        if "~" in raw:
            if not raw.startswith("~"):
                raise _Unsure  # pathlib would expand '~' after a leading './'
            raw = os.path.expanduser(raw)
            if raw.startswith("~"):
                raise _Unsure  # no such user: the full command says so
        return os.path.realpath(raw)  # Path.resolve(): relative to the process's directory

    def config_dir(self) -> str:
        explicit = self.directory("MLRIG_CONFIG_PATH")
        if explicit is not None:
            return explicit
        import sys

        if not sys.platform.startswith("linux"):
            from platformdirs import user_config_dir

            return str(user_config_dir("mlrig", appauthor=False))
        # platformdirs' Unix user_config_dir, without its ~10 ms import (a test compares)
        base = self.env.get("XDG_CONFIG_HOME", "")
        if not base.strip():
            base = os.path.expanduser("~/.config")
        return os.path.join(base, "mlrig")

    # ------------------------------------------------------------------ files
    def global_config(self, config_dir: str) -> dict[str, Any]:
        pending = os.path.join(config_dir, PENDING_DIR)
        try:
            mode = os.lstat(pending).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None:
            if stat.S_ISDIR(mode):
                if any(n.endswith(".yaml") for n in os.listdir(pending)):
                    raise _Unsure  # a crashed operation that the full command finishes
            elif not stat.S_ISREG(mode):
                raise _Unsure
        data = _checked_copy(os.path.join(config_dir, CONFIG_FILE), CONFIG_VERSION)
        if not data.get("profiles"):
            raise _Unsure  # the first read creates the default profile
        return data

    def repository(self) -> dict[str, Any] | None:
        """The repository's configuration (``None``: no repository); its root is kept in
        ``repo_root``."""
        self.repo_root: str | None = None
        root = self.directory("MLRIG_REPOSITORY_PATH")
        if root is not None:
            path = os.path.join(root, REPO_DIR, CONFIG_FILE)
            if not os.path.lexists(path):
                raise _Unsure  # not a repository: the full command says so
            self.repo_root = root
            return _checked_copy(path, REPO_CONFIG_VERSION)
        current = os.path.realpath(self.cwd or os.getcwd())
        while True:
            path = os.path.join(current, REPO_DIR, CONFIG_FILE)
            if os.path.lexists(path):
                self.repo_root = current
                return _checked_copy(path, REPO_CONFIG_VERSION)
            parent = os.path.dirname(current)
            if parent == current:
                return None
            current = parent

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """:func:`mlrig.core.repositories.status` of a profile on a local store (or a SQLite
        one, read with sqlite3), from the files. Of a configuration whose profiles are all
        local, it imports neither pathlib nor the records' dataclasses."""
        from mlrig import context as ctx
        from mlrig.profile_entry import profile_fields

        self.check_environment()
        config_dir = self.config_dir()
        config = self.global_config(config_dir)
        profiles = {name: profile_fields(name, entry)
                    for name, entry in (config.get("profiles") or {}).items()}
        repo = self.repository()
        repo_file = (_joined(self.repo_root, REPO_DIR, CONFIG_FILE)
                     if self.repo_root is not None else None)
        global_file = _joined(config_dir, CONFIG_FILE)
        inputs = ctx.ScopeInputs(
            flag_profile=None, flag_stack=None, env=self.env,
            repo_root=_joined(self.repo_root) if self.repo_root is not None else None,
            repo_file=repo_file,
            repo_profile=repo.get("active_profile") if repo is not None else None,
            repo_stack=repo.get("active_stack") if repo is not None else None,
            global_file=global_file, global_profile=config.get("active_profile"),
            profile_stacks={n: fields[2] for n, fields in profiles.items()})
        profile = ctx.Choice.from_settings(ctx.profile_settings(inputs))
        if profile is None:
            raise _Unsure  # "No active profile is configured.": the full command says it
        profile_exists = profile.name in profiles
        stack = ctx.Choice.from_settings(ctx.stack_settings(inputs, profile.name))
        stack_exists: bool | None = None
        if stack is not None and profile_exists:
            store_type, store_url = profiles[profile.name][:2]
            if store_type == "local":
                stack_exists = self.local_store_has(store_url, stack.name)
            else:
                stack_exists = self.sql_store_has(profile.name, profiles[profile.name],
                                                  stack.name)
        return {
            "profile": ctx.choice_dict(profile, profile_exists),
            "stack": ctx.choice_dict(stack, stack_exists) if stack is not None else None,
            "repository": self.repo_root,
            "config_path": global_file,
            "warnings": self.permission_warnings(config_dir, profiles),
        }

    def permission_warnings(self, config_dir: str, profiles: dict[str, Any]) -> list[str]:
        """:func:`mlrig.core.security.permission_warnings`, with a local store's paths from
        :mod:`mlrig.stores.local_layout` (resolved as its backend resolves them), so that
        the local store's module is not imported."""
        from mlrig.core import security
        from mlrig.stores import local_layout

        candidates: list[tuple[str | os.PathLike[str], int]] = [
            *security.config_candidates(config_dir)]
        for store_type, url, _, _ in profiles.values():
            if store_type == "local":
                candidates.extend(local_layout.private_paths(self.local_root(url)))
            else:
                candidates.extend(security.store_private_paths(store_type, url))
        return security.warnings_for(candidates)

    def sql_store_has(self, name: str, fields: tuple[Any, ...], stack: str) -> bool:
        """Whether a SQLite or PostgreSQL store holds ``stack``, read with sqlite3 or
        psycopg2 when its database is the plain case (else: unsure; the full command
        reads, upgrades or reports)."""
        from types import SimpleNamespace
        from typing import cast

        from mlrig.stores import open_store
        from mlrig.stores.sql_fast import FastStore

        # the fields of a ProfileConfig the backend reads, without the records' dataclasses
        store_type, store_url, active_stack, options = fields
        profile = cast("ProfileConfig", SimpleNamespace(
            name=name, store_type=store_type, store_url=store_url, active_stack=active_stack,
            options=options))
        store = open_store(profile, env=self.env, events=None)
        try:
            if not isinstance(store, FastStore):
                raise _Unsure  # MySQL, rest: the full command asks the store
            with store.plain_read() as view:
                if view is None:
                    raise _Unsure
                return view.has_stack(stack)
        finally:
            store.close()

    def local_root(self, url: Any) -> str:
        """The resolved root of the local store at ``url``, as its backend finds it."""
        if not isinstance(url, str) or not url.startswith("file:///") or "%" in url \
                or "\x00" in url:
            raise _Unsure  # a plain path or an escaped URL: the store's own parser
        return os.path.realpath(url[len("file://"):])

    def local_store_has(self, url: Any, stack: str) -> bool:
        """Whether the local store at ``url`` holds ``stack``, as its reader would see it."""
        root = self.local_root(url)
        if _read_text(os.path.join(root, LOCAL_MARKER), follow=True) != LOCAL_MARKER_TEXT:
            raise _Unsure
        if not stat.S_ISREG(os.lstat(os.path.join(root, LOCAL_LOCK)).st_mode):
            raise _Unsure  # its reader's lock: a link or a FIFO there is refused by it
        if os.path.lexists(os.path.join(root, LOCAL_JOURNAL)):
            raise _Unsure  # an unfinished commit: its next reader finishes it
        stacks = _checked_copy(os.path.join(root, LOCAL_STACKS), LOCAL_FORMAT_VERSION)
        return stack in (stacks.get("stacks") or {})


def _joined(base: str, *names: str) -> str:
    """``str(Path(base, *names))`` without pathlib, for a ``base`` that is already in
    normal form (Path normalises the same way then); pathlib itself otherwise."""
    if base == os.path.normpath(base):
        return os.path.join(base, *names)
    from pathlib import Path

    return str(Path(base, *names))


def _read_text(path: str, *, follow: bool) -> str:
    """A regular file's text, read as :func:`mlrig.fsutil.read_bytes` does (never
    blocking on a FIFO, within the size limit); OSError/ValueError otherwise."""
    before = os.stat(path, follow_symlinks=follow)
    if not stat.S_ISREG(before.st_mode):
        raise _Unsure
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | (0 if follow else _NOFOLLOW))
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unsure
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise _Unsure
    return raw.decode("utf-8")


def _checked_copy(path: str, expected_version: int) -> dict[str, Any]:
    """The content of the mlrig YAML file ``path`` from its JSON copy, if the copy is
    current (the key of :func:`mlrig.fsutil.read_yaml_mapping`) and was checked."""
    import zlib

    from mlrig.jsonread import loads

    st = os.stat(path)
    text = _read_text(path, follow=True)
    signature = [st.st_mtime_ns, st.st_size, st.st_ino, zlib.crc32(text.encode("utf-8"))]
    directory, name = os.path.split(path)
    cached = loads(_read_text(os.path.join(directory, f".{name}.cache.json"),
                                   follow=False))
    if not (isinstance(cached, dict) and cached.get("signature") == signature
            and cached.get("checked") is True):
        raise _Unsure
    data = cached.get("data")
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version > expected_version:
        raise _Unsure
    assert isinstance(data, dict)
    return data
