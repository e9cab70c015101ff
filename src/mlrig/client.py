"""The core API. Every rule of mlrig lives here; the CLI only parses, calls and renders.

    from mlrig import Client
    client = Client()                      # the active profile and stack, as the CLI sees them
    client.register_component("artifact_store", "lake", "local", {"path": "/data/lake"})
    client.register_stack("dev", {"orchestrator": "default", "artifact_store": "lake",
                                  "metadata_store": "default"}, set_active=True)

A ``Client`` is cheap and holds no state between calls except caches of the files it has
read; every write re-reads what it changes under a lock.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mlrig import context as ctx
from mlrig import environment
from mlrig.config.global_config import GlobalConfig, GlobalConfigFile, config_dir
from mlrig.config.repository import Repository, RepositoryConfig, find_repository
from mlrig.events import INFO, WARNING, EventSink, log_event
from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
    InUseError,
    MlrigError,
    NotFoundError,
)
from mlrig.fsutil import ensure_dir
from mlrig.lifecycle import LifecycleMixin
from mlrig.models import (
    MANDATORY_TYPES,
    Component,
    ComponentType,
    ProfileConfig,
    Stack,
    new_id,
)
from mlrig.names import validate_name
from mlrig.profile_lifecycle import ProfileLifecycleMixin
from mlrig.store_migration import StoreMigrationMixin
from mlrig.stores import (
    canonical_url,
    default_store_type,
    default_url,
    mask_url,
    normalize_store_type,
    open_store,
    profile_dir,
    store_options,
)
from mlrig.stores.base import Store, StoreTransaction, StoreView

if TYPE_CHECKING:
    from mlrig.flavors import FlavorSpec

DEFAULT = "default"
SECRET_MASK = "********"

TypeLike = ComponentType | str


def component_type(value: TypeLike) -> ComponentType:
    return value if isinstance(value, ComponentType) else ComponentType.parse(value)


class ProfileInfo(NamedTuple):
    """A profile as listed: ``active_stack`` is the effective one for the active profile."""

    name: str
    store_type: str
    url: str
    active_stack: str | None
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "active": self.active,
            "store_type": self.store_type,
            "url": self.url,
            "active_stack": self.active_stack,
        }


class SetResult(NamedTuple):
    """What a ``set`` changed: the name, and the scope and file it wrote."""

    name: str
    scope: str
    path: Path
    unchanged: bool = False
    shadowed_by: ctx.Setting | None = None
    #: ``profile set`` in a repository: the stack the repository now pins with the profile
    #: (the profile's own active stack; ``None`` when it has none)
    stack: str | None = None


class Client(LifecycleMixin, ProfileLifecycleMixin, StoreMigrationMixin):
    """Entry point to profiles, stacks, components and flavors."""

    def __init__(
        self,
        config_path: str | Path | None = None,
        *,
        profile: str | None = None,
        stack: str | None = None,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self.env: Mapping[str, str] = dict(os.environ) if env is None else dict(env)
        environment.check(self.env)  # every variable mlrig reads, one message for a bad one
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
        self._on_event = on_event or log_event
        self._stores: dict[str, Store] = {}
        self._repo: Repository | bool | None = False  # False = not looked up yet
        self._config: GlobalConfig | None = None

    # ------------------------------------------------------------------ events
    def _say(self, message: str) -> None:
        self._on_event(INFO, message)

    def _warn(self, message: str) -> None:
        self._on_event(WARNING, message)

    # ------------------------------------------------------------------ global configuration
    def config(self, reload: bool = False) -> GlobalConfig:
        """The global configuration, created with the default profile on first use."""
        if self._config is None or reload:
            from mlrig.intents import recover_pending

            recover_pending(self.config_dir, self._on_event)  # finish a crashed rename/copy
            loaded = self.global_file.load()
            if loaded is None or not loaded.profiles:
                loaded = self._create_initial_config()
            self._config = loaded
        return self._config

    def _create_initial_config(self) -> GlobalConfig:
        # MLRIG_DEFAULT_STORE_TYPE applies to the default profile too (as in ZenML)
        store_type = default_store_type(self.env)
        profile = self._new_profile_config(DEFAULT, store_type, None)
        had_dir = profile_dir(self.config_dir, DEFAULT).exists()

        def change(current: GlobalConfig | None) -> tuple[GlobalConfig, GlobalConfig]:
            if current is not None and current.profiles:
                return current, current  # another process was faster
            config = current or GlobalConfig()
            self._say("Creating default profile...")
            self._initialize_profile_store(profile)
            config.profiles[DEFAULT] = profile
            config.active_profile = DEFAULT
            self._say("Created and activated default profile.")
            return config, config

        ensure_dir(self.config_dir)
        with self._new_store_intent(profile, had_dir):
            return self.global_file.update(change)

    def _new_store_intent(self, profile: ProfileConfig, had_dir: bool) -> Any:
        """Covers a new profile's store until config.yaml lists the profile. After a crash
        in between, the next command removes the half-made store, which a later create of
        the same name would otherwise attach to (possibly without its default stack)."""
        from mlrig.intents import CREATE_PROFILE, intent

        own_dir = profile_dir(self.config_dir, profile.name)
        owned = not had_dir and self._store_lives_in(profile, own_dir.resolve())
        record = {"op": CREATE_PROFILE, "name": profile.name, "url": profile.store_url,
                  "store_type": profile.store_type, "staging": None,
                  "final_path": str(own_dir) if owned else None, "in_place": False}
        return intent(self.config_dir, record, self._on_event)

    def _update_config(self, change: Any) -> Any:
        """Read-modify-write of config.yaml under its lock; refreshes the cache."""

        def wrapped(current: GlobalConfig | None) -> tuple[GlobalConfig, Any]:
            if current is None:
                raise MlrigError(f"The global configuration '{self.global_file.path}' vanished.")
            result = change(current)
            return current, result

        result = self.global_file.update(wrapped)
        self._config = None
        return result

    # ------------------------------------------------------------------ repository
    def repository(self) -> Repository | None:
        """The repository in effect for this client's working directory, if any."""
        if self._repo is False:
            self._repo = find_repository(self.cwd, self.env)
        assert self._repo is not True
        return self._repo

    def _repo_config(self) -> RepositoryConfig | None:
        repo = self.repository()
        return repo.load() if repo is not None else None

    def _scope_inputs(self) -> ctx.ScopeInputs:
        config = self.config()
        repo = self.repository()
        repo_config = repo.load() if repo is not None else None
        return ctx.ScopeInputs(
            flag_profile=self.flag_profile,
            flag_stack=self.flag_stack,
            env=self.env,
            repo_root=repo.root if repo else None,
            repo_file=repo.path if repo else None,
            repo_profile=repo_config.active_profile if repo_config else None,
            repo_stack=repo_config.active_stack if repo_config else None,
            global_file=self.global_file.path,
            global_profile=config.active_profile,
            profile_stacks={n: p.active_stack for n, p in config.profiles.items()},
        )

    # ------------------------------------------------------------------ resolution
    def profile_choice(self, strict: bool = True) -> ctx.Choice:
        """The active profile and the scope that chose it.

        With ``strict`` a name that does not exist is an error naming the scope; without,
        the choice is returned as it is (for the commands that repair it).
        """
        choice = ctx.Choice.from_settings(ctx.profile_settings(self._scope_inputs()))
        if choice is None:
            raise NotFoundError(
                "No active profile is configured.",
                hint="Run 'mlrig profile set NAME' to choose one.",
            )
        if strict and choice.name not in self.config().profiles:
            raise ctx.missing_profile_error(choice)
        return choice

    @property
    def active_profile_name(self) -> str:
        return self.profile_choice().name

    def stack_choice(self, strict: bool = True, profile: str | None = None) -> ctx.Choice | None:
        """The active stack of the active (or given) profile and the scope that chose it."""
        profile_name = profile or self.profile_choice(strict=strict).name
        settings = ctx.stack_settings(self._scope_inputs(), profile_name)
        choice = ctx.Choice.from_settings(settings)
        if strict:
            if choice is None:
                raise NotFoundError(
                    f"No active stack is configured for profile '{profile_name}'.",
                    hint="Run 'mlrig stack set STACK_NAME'.",
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
    def _profile(self, name: str) -> ProfileConfig:
        try:
            return self.config().profiles[name]
        except KeyError:
            raise NotFoundError(
                f"Profile '{name}' does not exist.", hint="Run 'mlrig profile list'."
            ) from None

    def store(self, profile: str | None = None) -> Store:
        """The store of a profile (the active one by default)."""
        name = profile or self.active_profile_name
        if name not in self._stores:
            self._stores[name] = _ProfileStore(
                open_store(self._profile(name), env=self.env, on_event=self._on_event), name)
        return self._stores[name]

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    # ------------------------------------------------------------------ profiles
    def _new_profile_config(self, name: str, store_type: str, url: str | None) -> ProfileConfig:
        validate_name("profile", name)
        store_type = normalize_store_type(store_type)
        if url:
            url = canonical_url(store_type, url)
        else:
            url = default_url(store_type, self.config_dir, name)
        return ProfileConfig(name=name, store_type=store_type, store_url=url)

    def _initialize_profile_store(self, profile: ProfileConfig) -> None:
        """Create the profile's store, or attach to the one already at its URL."""
        self._say(f"Initializing profile `{profile.name}`...")
        store = open_store(profile, env=self.env, on_event=self._on_event)
        try:
            if store.is_initialized():
                with store.read() as view:
                    stacks = sorted(s.name for s in view.list_stacks())
                profile.active_stack = (
                    DEFAULT if DEFAULT in stacks else (stacks[0] if stacks else None)
                )
                self._say(
                    f"Attached to the existing store at {mask_url(profile.store_url)} "
                    f"({len(stacks)} stack(s))."
                )
                return
            self._say("Initializing store...")
            store.initialize()
            self._register_default_stack(store)
            profile.active_stack = DEFAULT
        finally:
            store.close()

    def _register_default_stack(self, store: Store) -> None:
        orchestrator = Component(ComponentType.ORCHESTRATOR, DEFAULT, "local", {})
        metadata_id, artifact_id = new_id(), new_id()
        metadata_dir = self.config_dir / "local_stores" / metadata_id
        artifact_dir = self.config_dir / "local_stores" / artifact_id
        metadata = Component(
            ComponentType.METADATA_STORE, DEFAULT, "sqlite",
            {"uri": str(metadata_dir / "metadata.db")}, id=metadata_id,
        )
        artifacts = Component(
            ComponentType.ARTIFACT_STORE, DEFAULT, "local", {"path": str(artifact_dir)},
            id=artifact_id,
        )
        components = (orchestrator, metadata, artifacts)
        with store.write() as txn:
            if txn.list_stacks() or txn.list_components():
                return
            for component in components:
                txn.create_component(component)
            txn.create_stack(Stack(DEFAULT, {c.type: c.name for c in components}))
        for directory in (metadata_dir, artifact_dir):
            ensure_dir(directory)
        for component in components:
            self._say(
                f"Registered stack component with type '{component.type.value}' "
                f"and name '{component.name}'."
            )
        self._say(f"Registered stack with name '{DEFAULT}'.")

    def list_profiles(self) -> list[ProfileInfo]:
        config = self.config()
        choice = self.profile_choice(strict=False)
        active_stack: str | None = None
        if choice.name in config.profiles:
            stack = self.stack_choice(strict=False, profile=choice.name)
            active_stack = stack.name if stack else None
        return [
            ProfileInfo(
                name=p.name,
                store_type=p.store_type,
                url=mask_url(p.store_url),
                active_stack=active_stack if p.name == choice.name else p.active_stack,
                active=p.name == choice.name,
            )
            for p in sorted(config.profiles.values(), key=lambda p: p.name)
        ]

    def get_profile(self, name: str | None = None) -> ProfileConfig:
        return self._profile(self.active_profile_name if name is None else name)

    def describe_profile(self, name: str | None = None) -> dict[str, Any]:
        target = self.active_profile_name if name is None else name
        info = next((p for p in self.list_profiles() if p.name == target), None)
        if info is None:
            raise NotFoundError(f"Profile '{target}' does not exist.")
        return info.to_dict()

    def create_profile(
        self, name: str, store_type: str | None = None, url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ProfileConfig:
        """Create a profile and its store, or attach to the store already at ``url``.

        ``options`` are store options kept with the profile (SQL: ``password_env`` or
        ``password_file``, where the database password comes from at connect time).
        """
        self.config()  # make sure the default profile exists first
        validate_name("profile", name)
        chosen_type = normalize_store_type(store_type) if store_type else default_store_type(
            self.env)
        if name in self.config().profiles:
            raise AlreadyExistsError(f"Profile '{name}' already exists.")
        profile = self._new_profile_config(name, chosen_type, url)
        profile.options = store_options(profile.store_type, profile.store_url, options)
        own_dir = profile_dir(self.config_dir, name)
        had_dir = own_dir.exists()

        def change(config: GlobalConfig) -> ProfileConfig:
            if name in config.profiles:
                raise AlreadyExistsError(f"Profile '{name}' already exists.")
            try:
                self._initialize_profile_store(profile)
            except BaseException:
                if not had_dir:  # leave nothing behind (the store removed its own files)
                    with contextlib.suppress(OSError):
                        own_dir.rmdir()
                raise
            config.profiles[name] = profile
            return profile

        with self._new_store_intent(profile, had_dir):
            return self._update_config(change)  # type: ignore[no-any-return]

    def set_profile(self, name: str, global_: bool = False) -> SetResult:
        """Make a profile active in the narrowest persistent scope (or globally)."""
        profile = self._profile(name)
        repo = None if global_ else self.repository()
        shadow = self._shadowing_profile_setting()
        if repo is not None:
            # the repository pins a pair: switching to another profile pins that profile's
            # own active stack with it; setting the pinned profile again changes nothing
            # (in particular, it keeps the stack the repository pins)
            changed = repo.update_if(lambda current: current.active_profile != name,
                                     profile=name, stack=profile.active_stack,
                                     set_profile=True, set_stack=True)
            return SetResult(name, ctx.LOCAL, repo.path, not changed, shadow,
                             stack=profile.active_stack)

        def change(config: GlobalConfig) -> bool:
            if name not in config.profiles:
                raise NotFoundError(f"Profile '{name}' does not exist.")
            unchanged = config.active_profile == name
            config.active_profile = name
            return unchanged

        unchanged = bool(self._update_config(change))
        return SetResult(name, ctx.GLOBAL, self.global_file.path, unchanged, shadow)

    def _shadowing_profile_setting(self) -> ctx.Setting | None:
        for setting in ctx.profile_settings(self._scope_inputs()):
            if setting.scope in (ctx.FLAG, ctx.ENVIRONMENT):
                return setting
        return None

    def check_profile_deletable(self, name: str) -> bool:
        """Raise unless the profile exists and no scope makes it active; returns whether
        :meth:`delete_profile` would remove its store now (it lives in mlrig's own directory
        for the profile and no other profile uses it)."""
        from mlrig.stores import profiles_using

        profile = self._profile(name)
        self._refuse_if_profile_pointed_at(name)
        own_dir = profile_dir(self.config_dir, name).resolve()
        if not (own_dir.is_dir() and self._store_lives_in(profile, own_dir)):
            return False
        return not profiles_using(self.config().profiles, own_dir, besides=name)

    def delete_profile(self, name: str) -> None:
        profile = self._profile(name)
        self._refuse_if_profile_pointed_at(name)

        def change(config: GlobalConfig) -> None:
            if name not in config.profiles:
                raise NotFoundError(f"Profile '{name}' does not exist.")
            if config.active_profile == name:
                raise InUseError(f"Profile '{name}' is the globally active profile.")
            del config.profiles[name]

        from mlrig.intents import DELETE_PROFILE, intent, remove_path
        from mlrig.stores import profiles_using

        own_dir = profile_dir(self.config_dir, name).resolve()
        # decided and done under config.yaml's lock, so that no profile can attach to the
        # store (profile create --url) between the check and the removal
        with self.global_file.lock.exclusive():
            current = self.global_file.load()
            profiles = current.profiles if current is not None else {}
            profile = profiles.get(name, profile)
            in_own_dir = own_dir.is_dir() and self._store_lives_in(profile, own_dir)
            # another profile attached to the same store keeps it (and its data)
            sharing = profiles_using(profiles, own_dir, besides=name) if in_own_dir else []
            owned = in_own_dir and not sharing
            # a crash after the commit (config.yaml) must not leave the store behind: a
            # later create of the same name would attach to it and bring the deleted data back
            record = {"op": DELETE_PROFILE, "name": name, "url": profile.store_url,
                      "dir": str(own_dir) if owned else None}
            with intent(self.config_dir, record, self._on_event):
                self._update_config(change)  # the commit point
                self._stores.pop(name, None)
                if owned:
                    remove_path(own_dir)
        if sharing:
            from mlrig.profile_lifecycle import shared_by

            self._say(f"Kept the store at '{own_dir}' with its data: {shared_by(sharing)}.")

    @staticmethod
    def _store_lives_in(profile: ProfileConfig, directory: Path) -> bool:
        """True if the profile's data is inside mlrig's own directory for that profile."""
        if profile.store_type == "local":
            from mlrig.stores.local import path_from_url

            return path_from_url(profile.store_url) == directory
        if profile.store_type == "sql" and profile.store_url.startswith("sqlite:///"):
            db = Path(profile.store_url[len("sqlite:///"):]).resolve()
            return db.parent == directory
        return False

    def _refuse_if_profile_pointed_at(self, name: str, action: str = "deleted") -> None:
        for setting in ctx.profile_settings(self._scope_inputs()):
            if setting.name != name:
                continue
            if setting.scope == ctx.GLOBAL:
                raise InUseError(
                    f"Profile '{name}' cannot be {action} because it is the globally active "
                    f"profile ({setting.source}).",
                    hint="Choose another one first: 'mlrig profile set --global PROFILE'.",
                )
            if setting.scope == ctx.LOCAL:
                raise InUseError(
                    f"Profile '{name}' cannot be {action} because it is the active profile of "
                    f"the repository ({setting.source}).",
                    hint="Choose another one first: 'mlrig profile set PROFILE'.",
                )
            raise InUseError(
                f"Profile '{name}' cannot be {action} because it is active through the "
                f"{setting.scope} scope ({setting.source}).",
                hint=ctx.fix_hint("profile", setting.scope),
            )

    # ------------------------------------------------------------------ stacks
    def list_stacks(self) -> list[Stack]:
        with self.store().read() as view:
            return sorted(view.list_stacks(), key=lambda s: s.name)

    def get_stack(self, name: str | None = None) -> Stack:
        target = self.active_stack_name if name is None else name
        with self.store().read() as view:
            stack = view.get_stack(target)
            if stack is None:
                raise NotFoundError(f"Stack '{target}' does not exist.")
        return stack

    def _components_by_type(self, components: Mapping[TypeLike, str | None]
                            ) -> dict[ComponentType, str]:
        result: dict[ComponentType, str] = {}
        for key, value in components.items():
            if value is None:
                continue
            type_ = component_type(key)
            result[type_] = validate_name("component", value)
        return result

    def register_stack(
        self, name: str, components: Mapping[TypeLike, str | None], set_active: bool = False
    ) -> Stack:
        validate_name("stack", name)
        parts = self._components_by_type(components)
        missing = [t for t in MANDATORY_TYPES if t not in parts]
        if missing:
            names = ", ".join(t.display_name for t in missing)
            raise InputError(
                f"Stack '{name}' needs a component of each mandatory type; missing: {names}."
            )
        stack = Stack(name, parts)
        if set_active:
            self._stack_set_scope(self.profile_choice(), global_=False)  # fail before writing
        with self.store().write() as txn:
            txn.create_stack(stack)
        self._say(f"Registered stack with name '{name}'.")
        if set_active:
            self.set_stack(name)
        return stack

    def check_stack_exists(self, name: str, profile: str | None = None) -> None:
        """Raise unless ``name`` is a stack of the profile (the active one by default)."""
        profile_name = profile or self.active_profile_name
        with self.store(profile_name).read() as view:
            if view.get_stack(name) is None:
                raise NotFoundError(
                    f"Stack '{name}' does not exist in profile '{profile_name}'.",
                    hint="Run 'mlrig stack list'.",
                )

    def set_stack(self, name: str, global_: bool = False) -> SetResult:
        """Make a stack active for the active profile, in the narrowest persistent scope."""
        profile = self.profile_choice()
        self.check_stack_exists(name, profile.name)
        shadow = next(
            (s for s in ctx.stack_settings(self._scope_inputs(), profile.name)
             if s.scope in (ctx.FLAG, ctx.ENVIRONMENT)),
            None,
        )
        repo = self._stack_set_scope(profile, global_)
        if repo is not None:
            unchanged = repo.load().active_stack == name
            repo.update(stack=name, set_stack=True)
            return SetResult(name, ctx.LOCAL, repo.path, unchanged, shadow)

        def change(config: GlobalConfig) -> bool:
            target = config.profiles.get(profile.name)
            if target is None:
                raise NotFoundError(f"Profile '{profile.name}' does not exist.")
            unchanged = target.active_stack == name
            target.active_stack = name
            return unchanged

        unchanged = bool(self._update_config(change))
        return SetResult(name, ctx.GLOBAL, self.global_file.path, unchanged, shadow)

    def _stack_set_scope(self, profile: ctx.Choice, global_: bool) -> Repository | None:
        """The repository a ``stack set`` would write (``None``: the global configuration);
        raises if the repository pins another profile than the active one."""
        repo = None if global_ else self.repository()
        if repo is not None:
            repo_profile = repo.load().active_profile
            if repo_profile != profile.name:
                raise InputError(
                    f"The active profile '{profile.name}' comes from the {profile.scope} scope, "
                    f"but this repository uses profile '{repo_profile}'.",
                    hint="Use --global to set the stack of the active profile, or change "
                    "the repository's profile with 'mlrig profile set'.",
                )
        return repo

    def check_stack_deletable(self, name: str) -> None:
        """Raise unless the stack exists in the active profile and nothing points at it."""
        profile = self.profile_choice().name
        self.check_stack_exists(name, profile)
        self._refuse_if_stack_pointed_at(profile, name)

    def delete_stack(self, name: str) -> None:
        profile = self.profile_choice().name
        self._refuse_if_stack_pointed_at(profile, name)
        with self.store(profile).write() as txn:
            txn.delete_stack(name)
        self._say(f"Deregistered stack with name '{name}'.")

    def _refuse_if_stack_pointed_at(self, profile: str, name: str,
                                    action: str = "deleted") -> None:
        inputs = self._scope_inputs()
        for setting in ctx.stack_settings(inputs, profile):
            if setting.name != name:
                continue
            where = {
                ctx.GLOBAL: f"the active stack of profile '{profile}' in the global "
                            f"configuration ({self.global_file.path})",
                ctx.LOCAL: f"the active stack of the repository ({setting.source})",
            }.get(setting.scope, f"active through the {setting.scope} scope ({setting.source})")
            hint = {
                ctx.GLOBAL: "Choose another one first: 'mlrig stack set --global STACK'.",
                ctx.LOCAL: "Choose another one first: 'mlrig stack set STACK'.",
            }.get(setting.scope, ctx.fix_hint("stack", setting.scope))
            raise InUseError(f"Stack '{name}' cannot be {action} because it is {where}.",
                             hint=hint)

    # ------------------------------------------------------------------ components
    def flavor_class(self, view: StoreView, type_: ComponentType, flavor: str) -> Any:
        from mlrig import flavors as flavor_registry

        spec = flavor_registry.resolve(type_, flavor, view.list_flavors(type_))
        return spec.load()

    def register_component(
        self, type_: TypeLike, name: str, flavor: str, config: Mapping[str, Any] | None = None
    ) -> Component:
        ctype = component_type(type_)
        validate_name(ctype.display_name, name)
        if not flavor:
            raise InputError(
                f"Please use the option to specify '--flavor'/'-f' of the {ctype.display_name} "
                "you want to register."
            )
        store = self.store()
        with store.write() as txn:
            if txn.get_component(ctype, name) is not None:
                raise AlreadyExistsError(
                    f"A component of type '{ctype.value}' with the name '{name}' already exists."
                )
            flavor_cls = self.flavor_class(txn, ctype, flavor)
            values = validate_config_values(
                flavor_cls, dict(config or {}), f"{ctype.display_name} '{name}'"
            )
            component = Component(ctype, name, flavor, values)
            txn.create_component(component)
        self._say(
            f"Registered stack component with type '{ctype.value}' and name '{name}'."
        )
        return component

    def list_components(self, type_: TypeLike) -> list[Component]:
        ctype = component_type(type_)
        with self.store().read() as view:
            return sorted(view.list_components(ctype), key=lambda c: c.name)

    def get_component(self, type_: TypeLike, name: str | None = None) -> Component:
        ctype = component_type(type_)
        if name is None:
            active = self.active_component_name(ctype)
            if active is None:
                raise NotFoundError(
                    f"No {ctype.display_name} set for active stack "
                    f"('{self.active_stack_name}')."
                )
            name = active
        with self.store().read() as view:
            component = view.get_component(ctype, name)
            if component is None:
                raise NotFoundError(
                    f"No {ctype.display_name} with the name '{name}' is registered.")
        return component

    def active_component_name(self, type_: TypeLike) -> str | None:
        ctype = component_type(type_)
        return self.get_stack().components.get(ctype)

    def delete_component(self, type_: TypeLike, name: str) -> None:
        ctype = component_type(type_)
        with self.store().write() as txn:
            if txn.get_component(ctype, name) is None:
                raise NotFoundError(
                    f"No {ctype.display_name} with the name '{name}' is registered."
                )
            users = txn.stacks_using(ctype, name)
            if users:
                raise InUseError(
                    f"Unable to delete the {ctype.display_name} '{name}': it is part of the "
                    f"stack(s) {', '.join(repr(u) for u in sorted(users))}.",
                    hint="Delete those stacks or give them another component first.",
                )
            txn.delete_component(ctype, name)
        self._say(
            f"Deregistered stack component (type: {ctype.value}) with name '{name}'."
        )

    def secret_fields(self, component: Component) -> frozenset[str] | None:
        """The config fields of a component that its flavor marks secret; ``None`` when the
        flavor cannot be loaded, so nobody can tell which fields are secret."""
        try:
            with self.store().read() as view:
                cls = self.flavor_class(view, component.type, component.flavor)
        except MlrigError:
            return None
        return cls.secret_fields()  # type: ignore[no-any-return]

    def masked_config(self, component: Component, show_secrets: bool = False) -> dict[str, Any]:
        """The config to show: secret values masked (all values, if the flavor is unknown)."""
        if show_secrets:
            return dict(component.config)
        secret = self.secret_fields(component)
        if secret is None:
            self._warn(
                f"The flavor '{component.flavor}' of the {component.type.display_name} "
                f"'{component.name}' cannot be loaded, so every value is masked "
                "(--show-secrets shows them)."
            )
        return {k: (SECRET_MASK if (secret is None or k in secret) and v is not None else v)
                for k, v in component.config.items()}

    def list_flavors(self, type_: TypeLike) -> list[FlavorSpec]:
        from mlrig import flavors as flavor_registry

        ctype = component_type(type_)
        with self.store().read() as view:
            records = view.list_flavors(ctype)
        return flavor_registry.all_specs(ctype, records)

    # ------------------------------------------------------------------ repositories & status
    def init_repository(self, path: str | Path | None = None) -> tuple[Repository, ctx.Choice,
                                                                      ctx.Choice | None]:
        """Make ``path`` (default: the working directory) a repository pinning the profile
        and stack active right now."""
        root = Path(path).expanduser() if path is not None else self.cwd
        if not root.is_dir():
            raise InputError(f"Cannot initialise a repository at '{root}': not a directory.")
        root = root.resolve()
        repo = Repository(root)
        if repo.exists() or repo.config_dir.exists():
            raise AlreadyExistsError(f"Found existing mlrig repository at path '{root}'.")
        profile = self.profile_choice()
        stack = self.stack_choice(profile=profile.name)
        repo.save(RepositoryConfig(profile.name, stack.name if stack else None))
        self._repo = False
        return repo, profile, stack

    def status(self) -> dict[str, Any]:
        """Which profile and stack are active, which scope chose each, what they override."""
        config = self.config()
        profile = self.profile_choice(strict=False)
        profile_exists = profile.name in config.profiles
        stack = self.stack_choice(strict=False, profile=profile.name)
        stack_exists: bool | None = None
        if stack is not None and profile_exists:
            with self.store(profile.name).read() as view:
                stack_exists = view.get_stack(stack.name) is not None
        repo = self.repository()
        from mlrig.security import permission_warnings

        return {
            "profile": _choice_dict(profile, profile_exists),
            "stack": _choice_dict(stack, stack_exists) if stack is not None else None,
            "repository": str(repo.root) if repo is not None else None,
            "config_path": str(self.global_file.path),
            "warnings": permission_warnings(self.config_dir, config),
        }

    # ------------------------------------------------------------------ transactions
    def transaction(self, profile: str | None = None) -> Any:
        """A write transaction on a profile's store (for multi-step operations)."""
        return self.store(profile).write()


class _ProfileStore:
    """A profile's store, as the client hands it out: a "does not exist" / "is not
    registered" error raised while reading or writing it names the profile it looked in
    (a store does not know which profile it serves: several may share one)."""

    def __init__(self, store: Store, profile: str) -> None:
        self._store = store
        self.profile = profile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @contextlib.contextmanager
    def read(self) -> Iterator[StoreView]:
        with _naming_profile(self.profile), self._store.read() as view:
            yield view

    @contextlib.contextmanager
    def write(self) -> Iterator[StoreTransaction]:
        with _naming_profile(self.profile), self._store.write() as txn:
            yield txn


@contextlib.contextmanager
def _naming_profile(profile: str) -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        if "profile '" not in exc.message and exc.message.endswith("."):
            exc.message = f"{exc.message[:-1]} in profile '{profile}'."
            exc.args = (exc.message, *exc.args[1:])
        raise


def validate_config_values(flavor_cls: Any, values: dict[str, Any], label: str) -> dict[str, Any]:
    from mlrig import flavors as flavor_registry

    return flavor_registry.validate_config(flavor_cls, values, label)


def _choice_dict(choice: ctx.Choice, exists: bool | None) -> dict[str, Any]:
    return {
        "name": choice.name,
        "exists": exists,
        "scope": choice.scope,
        "source": choice.source,
        "overrides": [
            {"scope": s.scope, "name": s.name, "source": s.source} for s in choice.overridden
        ],
    }
