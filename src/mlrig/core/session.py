"""The explicit state every rule of the core works on.

A :class:`Session` is what one :class:`~mlrig.client.Client` (one CLI command) sees: the
environment, the config directory and its ``config.yaml``, the working directory and the
repository found from it, the ``--profile``/``--stack`` flags, the stores opened so far and
the event sink. It resolves which profile and stack are active (with the scope that chose
each) and opens stores; it knows no verb. The verbs live in the noun modules beside it
(:mod:`~mlrig.core.profiles`, :mod:`~mlrig.core.stacks`, :mod:`~mlrig.core.components`,
:mod:`~mlrig.core.flavors`, :mod:`~mlrig.core.repositories`), which take a session as their
first argument.

The first read of the configuration creates it (the ``default`` profile and stack) through
the ``bootstrap`` function the session is given, so that this module needs no noun module.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from mlrig import context as ctx
from mlrig import environment
from mlrig.config.global_config import GlobalConfig, GlobalConfigFile, config_dir
from mlrig.config.repository import Repository, RepositoryConfig, find_repository
from mlrig.events import Event, Listener, log
from mlrig.exceptions import InputError, MlrigError, NotFoundError, StoreError
from mlrig.models import ProfileConfig
from mlrig.names import validate_name
from mlrig.stores import open_store
from mlrig.stores.base import Store, StoreTransaction, StoreView

T = TypeVar("T")
Bootstrap = Callable[["Session"], GlobalConfig]


class Session:
    """One caller's view of mlrig's state; see the module docstring."""

    def __init__(
        self,
        config_path: str | Path | None = None,
        *,
        profile: str | None = None,
        stack: str | None = None,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        events: Listener | None = None,
        bootstrap: Bootstrap | None = None,
    ) -> None:
        self.env: Mapping[str, str] = dict(os.environ) if env is None else dict(env)
        check_environment(self.env)  # every variable mlrig reads, one message for a bad one
        self.config_dir = (
            Path(config_path).expanduser().resolve() if config_path else config_dir(self.env)
        )
        self.global_file = GlobalConfigFile(self.config_dir)
        if profile is not None:
            validate_name("profile", profile)
        if stack is not None:
            validate_name("stack", stack)
        self.flag_profile = profile
        self.flag_stack = stack
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.events: Listener = events or log
        self.stores: dict[str, Store] = {}
        self._bootstrap = bootstrap
        self._repo: Repository | bool | None = False  # False = not looked up yet
        self._config: GlobalConfig | None = None

    # ------------------------------------------------------------------ events
    def emit(self, event: Event) -> None:
        """Report ``event`` (a progress line or a warning) to the caller's listener."""
        self.events(event)

    # ------------------------------------------------------------------ global configuration
    def config(self, reload: bool = False) -> GlobalConfig:
        """config.yaml, read once (and created with the default profile on first use)."""
        if self._config is None or reload:
            from mlrig.core.intents import recover_pending

            recover_pending(self.config_dir, self.events)  # finish a crashed rename/copy
            loaded = self.global_file.load()
            if (loaded is None or not loaded.profiles) and self._bootstrap is not None:
                loaded = self._bootstrap(self)
            if loaded is None:
                raise MlrigError(f"There is no global configuration at '{self.global_file.path}'.")
            self._config = loaded
        return self._config

    def first_read_writes(self) -> bool:
        """Whether reading the configuration now would write: there is none yet (the first
        read creates the default profile), or a crashed process left an operation that the
        first read finishes."""
        if not self.global_file.exists():
            return True
        from mlrig.core.intents import pending_dir

        try:
            return any(n.endswith(".yaml") for n in os.listdir(pending_dir(self.config_dir)))
        except OSError:
            return False

    def forget_config(self) -> None:
        """Read config.yaml again on next use (after another module changed it)."""
        self._config = None

    def update_config(self, change: Callable[[GlobalConfig], T]) -> T:
        """Read-modify-write of config.yaml under its lock; ``change`` edits the config it is
        given (as it is on disk now) and returns what the caller gets back."""

        def wrapped(current: GlobalConfig | None) -> tuple[GlobalConfig, T]:
            if current is None:
                raise MlrigError(f"The global configuration '{self.global_file.path}' vanished.")
            result = change(current)
            return current, result

        result = self.global_file.update(wrapped)
        self._config = None
        return result

    def profile(self, name: str) -> ProfileConfig:
        """A profile's configuration, or NotFoundError."""
        try:
            return self.config().profiles[name]
        except KeyError:
            raise NotFoundError(
                f"Profile '{name}' does not exist.",
                hint="Run 'mlrig profile list'.",
                library_hint="client.list_profiles() lists the profiles.",
            ) from None

    # ------------------------------------------------------------------ repository
    def repository(self) -> Repository | None:
        if self._repo is False:
            self._repo = find_repository(self.cwd, self.env)
        assert self._repo is not True
        return self._repo

    def forget_repository(self) -> None:
        self._repo = False

    def repo_config(self) -> RepositoryConfig | None:
        repo = self.repository()
        return repo.load() if repo is not None else None

    # ------------------------------------------------------------------ resolution
    def scope_inputs(self) -> ctx.ScopeInputs:
        config = self.config()
        repo = self.repository()
        repo_config = repo.load() if repo is not None else None
        return ctx.ScopeInputs(
            flag_profile=self.flag_profile,
            flag_stack=self.flag_stack,
            env=self.env,
            repo_root=str(repo.root) if repo else None,
            repo_file=str(repo.path) if repo else None,
            repo_profile=repo_config.active_profile if repo_config else None,
            repo_stack=repo_config.active_stack if repo_config else None,
            global_file=str(self.global_file.path),
            global_profile=config.active_profile,
            profile_stacks={n: p.active_stack for n, p in config.profiles.items()},
        )

    def profile_choice(self, strict: bool = True) -> ctx.Choice:
        choice = ctx.Choice.from_settings(ctx.profile_settings(self.scope_inputs()))
        if choice is None:
            raise NotFoundError(
                "No active profile is configured.",
                hint="Run 'mlrig profile set NAME' to choose one.",
                library_hint="Call client.set_profile(NAME) to choose one.",
            )
        if strict and choice.name not in self.config().profiles:
            raise ctx.missing_profile_error(choice)
        return choice

    @property
    def active_profile_name(self) -> str:
        return self.profile_choice().name

    def stack_choice(self, strict: bool = True, profile: str | None = None) -> ctx.Choice | None:
        profile_name = profile or self.profile_choice(strict=strict).name
        settings = ctx.stack_settings(self.scope_inputs(), profile_name)
        choice = ctx.Choice.from_settings(settings)
        if strict:
            if choice is None:
                raise NotFoundError(
                    f"No active stack is configured for profile '{profile_name}'.",
                    hint="Run 'mlrig stack set STACK_NAME'.",
                    library_hint="Call client.set_stack(NAME) to choose one.",
                )
            with self.store(profile_name).read() as view:
                if view.get_stack(choice.name) is None:
                    raise ctx.missing_stack_error(choice, profile_name)
        return choice

    @property
    def active_stack_name(self) -> str:
        choice = self.stack_choice()
        assert choice is not None
        return choice.name

    # ------------------------------------------------------------------ stores
    def store(self, profile: str | None = None) -> Store:
        """The store of a profile (the active one by default), opened once."""
        name = profile or self.active_profile_name
        if name not in self.stores:
            config = self.profile(name)
            self.stores[name] = ProfileStore(
                open_store(config, env=self.env, events=self.events), name,
                moved=lambda: self._moved_since(name, config),
                chosen_by=lambda: self._chosen_by(name))
        return self.stores[name]

    def _chosen_by(self, name: str) -> str:
        """Which scope made a profile the one in use (for an error about its store)."""
        try:
            choice = self.profile_choice(strict=False)
        except MlrigError:
            return f"profile '{name}'"
        if choice.name != name:
            return f"profile '{name}'"
        return f"profile '{name}', chosen by the {choice.scope} scope ({choice.source})"

    def _moved_since(self, name: str, seen: ProfileConfig) -> bool:
        """Whether config.yaml on disk no longer has the profile where this session found
        it (another command renamed, migrated or deleted it meanwhile)."""
        try:
            now = self.global_file.load()
        except MlrigError:
            return False
        current = now.profiles.get(name) if now is not None else None
        return current is None or (current.store_type, current.store_url) != (
            seen.store_type, seen.store_url)

    def drop_store(self, name: str) -> None:
        """Close and forget a profile's store (it moved, or it is gone)."""
        store = self.stores.pop(name, None)
        if store is not None:
            store.close()

    def close(self) -> None:
        for store in self.stores.values():
            store.close()
        self.stores.clear()


class ProfileStore:
    """A profile's store, as the session hands it out: a "does not exist" / "is not
    registered" error raised while reading or writing it names the profile it looked in
    (a store does not know which profile it serves: several may share one)."""

    def __init__(self, store: Store, profile: str,
                 moved: Callable[[], bool] | None = None,
                 chosen_by: Callable[[], str] | None = None) -> None:
        self._store = store
        self.profile = profile
        self._moved = moved
        self._chosen_by = chosen_by

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @contextlib.contextmanager
    def read(self) -> Iterator[StoreView]:
        with self._raced(), _naming_profile(self.profile), self._store.read() as view:
            yield view

    @contextlib.contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        with self._raced(), _naming_profile(self.profile), self._store.write() as txn:
            yield txn

    @contextlib.contextmanager
    def _raced(self) -> Iterator[None]:
        """A store that is not where config.yaml said when this command started: if another
        command renamed, migrated or deleted the profile meanwhile, say that (the store is
        fine where it is now), instead of calling it lost."""
        try:
            yield
        except StoreError as exc:
            if getattr(exc, "names_scope", False) and self._chosen_by is not None \
                    and exc.message.endswith(")."):
                exc.message = f"{exc.message[:-1]} for {self._chosen_by()}."
                exc.args = (exc.message, *exc.args[1:])
                exc.names_scope = False  # type: ignore[attr-defined]
                raise
            if self._moved is None or not self._moved():
                raise
            raise StoreError(
                f"Profile '{self.profile}' was renamed, moved to another store or deleted by "
                "another command while this one ran; nothing was changed by this one.",
                hint="Run the command again.") from exc


@contextlib.contextmanager
def _naming_profile(profile: str) -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        if "profile '" not in exc.message and exc.message.endswith("."):
            exc.message = f"{exc.message[:-1]} in profile '{profile}'."
            exc.args = (exc.message, *exc.args[1:])
        raise


def _name_variable(variable: str, kind: str) -> Callable[[str], object]:
    def check(value: str) -> object:
        try:
            return validate_name(kind, value)
        except InputError as exc:
            raise InputError(f"The environment variable {variable} must be a {kind} name: "
                             f"{exc.message}", hint=f"Fix it or unset {variable}.") from None

    return check


def check_environment(env: Mapping[str, str]) -> None:
    """Every ``MLRIG_*`` variable, validated once, before anything is read or written."""
    from mlrig.stores import normalize_store_type

    environment.check(env, {
        environment.ACTIVE_PROFILE: _name_variable(environment.ACTIVE_PROFILE, "profile"),
        environment.ACTIVE_STACK: _name_variable(environment.ACTIVE_STACK, "stack"),
        environment.DEFAULT_STORE_TYPE: lambda value: normalize_store_type(
            value, source=environment.DEFAULT_STORE_TYPE),
    })


class lazy_module:
    """A module imported on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        import importlib

        module = importlib.import_module(self._name)
        return getattr(module, attribute)

