"""The public API: everything the CLI does, as methods of :class:`Client`.

    from mlrig import Client
    client = Client()                      # the active profile and stack, as the CLI sees them
    client.register_component("artifact_store", "lake", "local", {"path": "/data/lake"})
    client.register_stack("dev", {"orchestrator": "default", "artifact_store": "lake",
                                  "metadata_store": "default"}, set_active=True)

``Client`` is a façade: each method is one call into the core (:mod:`mlrig.core`), where the
rules live, one module per noun over an explicit :class:`~mlrig.core.session.Session`. It
hands out no raw store or transaction: every change goes through a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig.core.results import (
    FORMAT_VERSION,
    SECRET_MASK,
    MigrationResult,
    ProfileImportPlan,
    ProfileInfo,
    RenameResult,
    SetResult,
)
from mlrig.core.session import Session, lazy_module
from mlrig.events import listener_for
from mlrig.models import Component, ComponentType, ProfileConfig, Stack, TypeLike, component_type

if TYPE_CHECKING:
    from mlrig.config.global_config import GlobalConfig
    from mlrig.config.repository import Repository
    from mlrig.context import Choice
    from mlrig.core import (
        components,
        documents,
        flavors,
        profiles,
        repositories,
        runs,
        secrets,
        stacks,
    )
    from mlrig.core.pipelines import CacheExplanation
    from mlrig.core.portability import Bundle
    from mlrig.core.runs import ArtifactView, RunView
    from mlrig.core.transfer_plan import SecretValues, TransferPlan
    from mlrig.events import EventSink, Listener
    from mlrig.flavors import FlavorSpec
    from mlrig.models import FlavorRecord
    from mlrig.runtime.records import ArtifactRecord, PipelineRunRecord, RunPage

if not TYPE_CHECKING:
    # the noun modules are imported on first use: `mlrig profile current` (a shell prompt's
    # command) needs only the session
    components = lazy_module("mlrig.core.components")
    documents = lazy_module("mlrig.core.documents")
    flavors = lazy_module("mlrig.core.flavors")
    profiles = lazy_module("mlrig.core.profiles")
    repositories = lazy_module("mlrig.core.repositories")
    runs = lazy_module("mlrig.core.runs")
    secrets = lazy_module("mlrig.core.secrets")
    stacks = lazy_module("mlrig.core.stacks")

def _create_initial_config(session: Session) -> GlobalConfig:
    """The first read's bootstrap (the default profile), imported only when it runs."""
    return profiles.create_initial_config(session)


__all__ = [
    "FORMAT_VERSION",
    "SECRET_MASK",
    "Client",
    "MigrationResult",
    "ProfileImportPlan",
    "ProfileInfo",
    "RenameResult",
    "SetResult",
    "TypeLike",
    "component_type",
]


class Client:
    """Entry point to profiles, stacks, components and flavors: all that the CLI does.

    A client chooses the active profile and stack as the CLI does (its ``profile`` and
    ``stack`` arguments are the flag scope), applies every rule, and reports progress through
    ``on_event`` or ``events`` instead of printing. It is cheap and keeps no state between
    calls besides caches of what it read; every write re-reads what it changes under a lock.
    Errors are subclasses of :class:`~mlrig.exceptions.MlrigError`, whose ``str()`` is the
    message and a hint for a Python caller. ``config_dir``, ``cwd`` and ``env`` are what it
    works on.
    """

    def __init__(
        self,
        config_path: str | Path | None = None,
        *,
        profile: str | None = None,
        stack: str | None = None,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        on_event: EventSink | None = None,
        events: Listener | None = None,
    ) -> None:
        """Open the configuration of a config directory, as seen from a working directory.

        Nothing is read or created until a method needs it; the first one that does creates the
        configuration with the ``default`` profile and stack, as the first ``mlrig`` command does.

        Args:
            config_path: the config directory (default: ``MLRIG_CONFIG_PATH`` from ``env``, else the
                platform's user config directory).
            profile: use this profile, like ``mlrig --profile``: the flag scope, above every other
                one.
            stack: use this stack, like ``mlrig --stack``.
            cwd: the working directory, where the repository is looked for (default: the process's).
            env: where ``MLRIG_*`` variables are read from (default: a copy of ``os.environ``).
            on_event: called as ``on_event(level, message)`` for each progress line and warning,
                as the CLI prints it (level ``"info"`` or ``"warning"``).
            events: called with each progress line and warning as a typed event instead: an
                :class:`~mlrig.events.Event` of :mod:`mlrig.events` such as
                ``StackRegistered(name='dev')``, with its ``kind``, ``level``, ``message`` (the
                sentence ``on_event`` gets) and ``to_dict()``. Give ``on_event`` or ``events``;
                with neither, the sentences go to the ``mlrig`` logger.

        Raises:
            InputError: ``profile`` or ``stack`` is not a valid name.
            TypeError: both ``on_event`` and ``events`` are given.
        """
        self._session = Session(
            config_path,
            profile=profile,
            stack=stack,
            cwd=cwd,
            env=env,
            events=listener_for(on_event, events),
            bootstrap=_create_initial_config,
        )

    @property
    def config_dir(self) -> Path:
        """The config directory this client works on."""
        return self._session.config_dir

    @property
    def cwd(self) -> Path:
        """The working directory (where the repository is looked for, and relative paths
        start)."""
        return self._session.cwd

    @property
    def env(self) -> Mapping[str, str]:
        """The environment the ``MLRIG_*`` variables are read from."""
        return self._session.env

    @property
    def global_file(self) -> Any:
        """The global configuration file (``config.yaml``) of :attr:`config_dir`."""
        return self._session.global_file

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def reads_would_write(self) -> bool:
        """Whether the first read of this client would write: there is no configuration yet
        (it creates the default profile), or an operation a crashed process left is pending
        (it is finished first). A caller that must never write, such as shell completion,
        stays away then."""
        return self._session.first_read_writes()

    def needs_repair(self, profile: str | None = None) -> bool:
        """Whether the next read of a profile's store would first finish a commit a crashed
        process left half-applied (so a caller that must not write, such as shell completion,
        can stay away).

        Args:
            profile: the profile (default: the active one).
        """
        return self._session.store(profile).needs_repair()

    # ------------------------------------------------------------------ session
    def config(self, reload: bool = False) -> GlobalConfig:
        """The global configuration (``config.yaml``): the profiles and the globally active one.

        The first call creates it, with the ``default`` profile and stack, if there is none, and
        finishes any operation a crashed process left half-done. Later calls return the copy read
        then.

        Args:
            reload: read the file again instead of returning the cached copy.

        Returns:
            A :class:`GlobalConfig`: ``profiles`` (name -> :class:`ProfileConfig`) and
            ``active_profile``.

        Raises:
            CorruptFileError: the file cannot be parsed, or a newer mlrig wrote it.
            LockTimeoutError: another process held its lock for too long.
        """
        return self._session.config(reload)

    def repository(self) -> Repository | None:
        """The repository in effect for this client, if any.

        That is the directory ``MLRIG_REPOSITORY_PATH`` names, else the nearest one at or above
        ``cwd`` that :meth:`init_repository` made.

        Returns:
            The :class:`Repository`, or ``None`` outside any repository.

        Raises:
            InputError: ``MLRIG_REPOSITORY_PATH`` names a directory that is not a repository.
        """
        return self._session.repository()

    def profile_choice(self, strict: bool = True) -> Choice:
        """The active profile and the scope that chose it.

        The scopes, highest first: the ``profile`` argument of the Client (``flag``),
        ``MLRIG_ACTIVE_PROFILE`` (``environment``), the repository (``local``), the global
        configuration (``global``).

        Args:
            strict: raise if the chosen profile does not exist; with ``False`` the choice is
                returned as it is (for code that repairs it).

        Returns:
            A :class:`Choice`: ``name``, ``scope``, ``source`` (the variable or file that set it)
            and ``overridden`` (the lower settings it wins over).

        Raises:
            ScopeError: (``strict``) the chosen profile does not exist; the message names the scope.
            NotFoundError: no scope chooses a profile.
        """
        return self._session.profile_choice(strict)

    @property
    def active_profile_name(self) -> str:
        """The name of the active profile; raises like :meth:`profile_choice`."""
        return self._session.active_profile_name

    def stack_choice(self, strict: bool = True, profile: str | None = None) -> Choice | None:
        """The active stack of the active profile (or of ``profile``) and the scope that chose it.

        The scopes are those of :meth:`profile_choice`; the repository's stack counts only when the
        profile is the repository's profile, and the global one is the profile's own
        ``active_stack``.

        Args:
            strict: raise unless a stack is chosen and exists; with ``False`` the choice is returned
                as it is.
            profile: the profile whose active stack is wanted (default: the active profile).

        Returns:
            A :class:`Choice`, or ``None`` (only without ``strict``) when no scope chooses a stack.

        Raises:
            ScopeError: (``strict``) the active profile, or the chosen stack, does not exist.
            NotFoundError: (``strict``) no stack is chosen, or ``profile`` does not exist.
        """
        return self._session.stack_choice(strict, profile)

    @property
    def active_stack_name(self) -> str:
        """The name of the active stack; raises like :meth:`stack_choice`."""
        return self._session.active_stack_name

    def close(self) -> None:
        """Close the stores this client opened (a SQL store's connections).

        The client stays usable: a later call opens them again. ``with Client() as client:`` closes
        them at the end of the block.
        """
        self._session.close()

    # ------------------------------------------------------------------ profiles
    def list_profiles(self) -> list[ProfileInfo]:
        """All profiles, sorted by name.

        Returns:
            A list of :class:`ProfileInfo`: ``name``, ``store_type``, ``store_url``,
            ``active_stack`` and ``active``, named as the fields of :meth:`get_profile`'s
            :class:`ProfileConfig`. The ``store_url`` has its password masked, and the active
            profile's ``active_stack`` is its effective active stack.

        Raises:
            CorruptFileError: the global configuration cannot be read.
        """
        return profiles.list_profiles(self._session)

    def get_profile(self, name: str | None = None) -> ProfileConfig:
        """The configuration of a profile (the active one by default), as ``config.yaml`` keeps it.

        Args:
            name: the profile (default: the active one).

        Returns:
            Its :class:`ProfileConfig`: ``name``, ``store_type``, ``store_url`` (as stored),
            ``active_stack`` (the profile's own, whichever stack a scope makes active) and
            ``options``.

        Raises:
            NotFoundError: the profile does not exist.
            ScopeError: (no ``name``) the active profile does not exist.
        """
        return profiles.get_profile(self._session, name)

    def describe_profile(self, name: str | None = None) -> dict[str, Any]:
        """A profile (the active one by default) as ``mlrig profile describe -o json`` shows it.

        Returns:
            Its :meth:`list_profiles` entry as a dict: ``name``, ``active``, ``store_type``, ``url``
            (the masked ``store_url``) and ``active_stack``.

        Raises:
            NotFoundError: the profile does not exist.
            ScopeError: (no ``name``) the active profile does not exist.
        """
        return profiles.describe_profile(self._session, name)

    def create_profile(
        self,
        name: str,
        store_type: str | None = None,
        url: str | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
    ) -> ProfileConfig:
        """Create a profile and its store, or attach to the store already at ``url``.

        A new store gets a ``default`` stack of default components; an mlrig store that exists at
        ``url`` is attached to as it is (its ``default`` stack, else its first one, becomes the
        profile's active stack). The new profile is not made active: see :meth:`set_profile`.

        Args:
            name: the new profile's name.
            store_type: ``local`` (YAML files), ``sql`` (SQLite, PostgreSQL, MySQL) or ``rest``
                (default: ``MLRIG_DEFAULT_STORE_TYPE``, else ``local``).
            url: the store's URL (default: a store of that type in the config directory; a ``rest``
                store needs one).
            options: store options kept with the profile (SQL: ``password_env`` or
                ``password_file``, where the database password comes from at connect time;
                rest: ``token_env`` or ``token_file``, ``ca_bundle``, ``timeout``).
            user: (rest) log in as this user with ``password`` instead of a token: the
                server's short-lived token is kept as the profile's credential, as
                :meth:`login` does.
            password: the user's password.

        Returns:
            The new profile's :class:`ProfileConfig`.

        Raises:
            AlreadyExistsError: a profile of that name exists.
            InputError: the name, store type, URL or an option is not valid.
            StoreError: the store cannot be created or opened (or the login was refused).
        """
        return profiles.create_profile(self._session, name, store_type, url, options,
                                       user=user, password=password)

    def login(self, profile: str | None = None, token: str | None = None, *,
              user: str | None = None, password: str | None = None,
              keyring: bool = False) -> dict[str, Any]:
        """Keep a credential for a ``rest`` profile (checked with its server first).

        Args:
            profile: the profile (default: the active one); its store type is ``rest``.
            token: an API token an admin created (``mlrig server token create``), or
            user: a user name, with ``password``, for a short-lived token.
            keyring: keep the token in the system keyring (the ``keyring`` library,
                ``mlrig[keyring]``) instead of a 0600 file in the config directory.

        Returns:
            Who the server says the credential is: ``user``, ``token``, ``permissions``.

        Raises:
            InputError: not a ``rest`` profile, or neither or both of token and user.
            StoreError: the server refuses the credential or cannot be reached.
        """
        from mlrig.core import credentials

        return credentials.login(self._session, profile, token, user, password,
                                 keyring=keyring)

    def logout(self, profile: str | None = None) -> bool:
        """Forget the credential :meth:`login` kept for a ``rest`` profile.

        Args:
            profile: the profile (default: the active one); its store type is ``rest``.

        Returns:
            ``False`` if mlrig kept no credential for it.

        Raises:
            InputError: not a ``rest`` profile.
        """
        from mlrig.core import credentials

        return credentials.logout(self._session, profile)

    def set_profile(self, name: str, global_: bool = False) -> SetResult:
        """Make a profile active: in the repository when the client is in one, else globally.

        This is ``mlrig profile set``. In a repository the repository's active stack becomes the
        profile's own active stack.

        Args:
            name: the profile.
            global_: set the globally active profile even inside a repository.

        Returns:
            A :class:`SetResult`: the ``scope`` (``local`` or ``global``) and the ``path`` it wrote,
            whether that was ``unchanged``, and ``shadowed_by``: the higher setting (the ``profile``
            argument of the Client, ``MLRIG_ACTIVE_PROFILE``) that still wins, if any.

        Raises:
            NotFoundError: the profile does not exist.
        """
        return profiles.set_profile(self._session, name, global_)

    def check_profile_deletable(self, name: str) -> bool:
        """Raise unless :meth:`delete_profile` would delete this profile (to ask before
        deleting, as the CLI does).

        Args:
            name: the profile.

        Returns:
            Whether the deletion would remove the profile's store now: it lives in mlrig's
            own directory for the profile and no other profile uses it.

        Raises:
            NotFoundError: the profile does not exist.
            InUseError: a scope makes it the active profile.
        """
        return profiles.check_profile_deletable(self._session, name)

    def delete_profile(self, name: str) -> None:
        """Delete a profile and the store mlrig made for it in the config directory.

        A store somewhere else (a URL that was given), or one that another profile is attached to,
        is kept with its data.

        Args:
            name: the profile.

        Raises:
            NotFoundError: the profile does not exist.
            InUseError: a scope makes it active (globally, in the repository, through the
                ``profile`` argument of the Client or ``MLRIG_ACTIVE_PROFILE``).
        """
        profiles.delete_profile(self._session, name)

    def rename_profile(self, old: str, new: str) -> RenameResult:
        """Rename a profile and move every pointer mlrig owns to it.

        Those are its key and the active profile in the global configuration, its store's directory
        when mlrig made it in the config directory (unless another profile is attached to the same
        store), and the current repository's active profile. ``MLRIG_ACTIVE_PROFILE`` naming ``old``
        is reported with a warning event. A crash half-way is finished or rolled back by the next
        call.

        Args:
            old: the profile's name.
            new: its new name.

        Returns:
            A :class:`RenameResult`: ``updated`` (the files changed) and ``not_updated``
            (``MLRIG_ACTIVE_PROFILE`` if it still names ``old``).

        Raises:
            NotFoundError: the profile does not exist.
            AlreadyExistsError: a profile is called ``new``, or its store directory exists.
            InputError: ``new`` is not a valid name.
        """
        return profiles.rename_profile(self._session, old, new)

    def copy_profile(
        self, source: str, target: str, *, store_type: str | None = None, url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ProfileConfig:
        """A deep copy of a profile in a new store: every stack, component and custom flavor.

        The copy keeps the source's active stack; it is not made active. The new store is built
        completely before the profile is added, so a failure leaves nothing behind.

        Args:
            source: the profile to copy.
            target: the new profile's name.
            store_type: the new store's type (default: the source's, or the default type when
                ``url`` is given).
            url: the new store's URL (default: the default place in the config directory).
            options: the new store's options, as for :meth:`create_profile` (default: the
                source's, when the copy has the source's store type and no ``url``).

        Returns:
            The new profile's :class:`ProfileConfig`.

        Raises:
            NotFoundError: ``source`` does not exist.
            AlreadyExistsError: ``target`` exists, or a store is at its place already.
            InputError: ``target``, the store type or the URL is not valid.
        """
        return profiles.copy_profile(self._session, source, target, store_type=store_type, url=url,
                                     options=options)

    def profile_bundle(self, name: str | None = None, include_secrets: bool = False) -> Bundle:
        """The export of a whole profile (the active one by default) as a :class:`Bundle`.

        The bundle holds every stack, component and custom flavor and the profile's active stack.
        Secret attributes are left out (their names listed as omitted) unless ``include_secrets``.

        Args:
            name: the profile (default: the active one).
            include_secrets: keep secret attribute values in the bundle.

        Returns:
            The :class:`Bundle`.

        Raises:
            NotFoundError: the profile does not exist.
            InputError: a flavor cannot be loaded, so its secret attributes are unknown.
        """
        return profiles.profile_bundle(self._session, name, include_secrets)

    def export_profile(
        self, name: str, path: str | Path | None = None, include_secrets: bool = False
    ) -> Path:
        """Write a profile's bundle (see :meth:`profile_bundle`) to a YAML file.

        Args:
            name: the profile.
            path: the file, relative to the client's ``cwd`` (default: ``<name>.yaml`` there).
            include_secrets: keep secret attribute values in the file.

        Returns:
            The path written.

        Raises:
            NotFoundError: the profile does not exist.
            InputError: the file cannot be written, or a flavor cannot be loaded.
        """
        return profiles.export_profile(self._session, name, path, include_secrets)

    def plan_profile_import(
        self,
        source: str | Path | Bundle,
        name: str | None = None,
        *,
        rename_if_exists: bool = False,
        store_type: str | None = None,
        url: str | None = None,
        secrets: SecretValues | None = None,
    ) -> ProfileImportPlan:
        """What :meth:`import_profile` would do, without writing anything.

        Takes the arguments of :meth:`import_profile`.

        Returns:
            A :class:`ProfileImportPlan`: the profile it would create and its :class:`TransferPlan`.

        Raises:
            CorruptFileError: the bundle is not valid.
            InputError: the file does not exist, or holds a stack.
            AlreadyExistsError: the profile exists (and not ``rename_if_exists``).
        """
        return profiles.plan_profile_import(
            self._session,
            source,
            name,
            rename_if_exists=rename_if_exists,
            store_type=store_type,
            url=url,
            secrets=secrets,
        )

    def import_profile(
        self,
        source: str | Path | Bundle,
        name: str | None = None,
        *,
        rename_if_exists: bool = False,
        store_type: str | None = None,
        url: str | None = None,
        secrets: SecretValues | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ProfileConfig:
        """Create a profile from a profile bundle: all of it, or nothing.

        The new store is built completely (every stack, component and custom flavor, validated)
        before the profile is added; it is not made active.

        Args:
            source: a bundle file (relative to the client's ``cwd``) or a :class:`Bundle`.
            name: the new profile's name (default: the one in the bundle).
            rename_if_exists: if the name is taken, import as ``name-2`` (``-3``, ...) instead of
                refusing.
            store_type: the new store's type (default: ``MLRIG_DEFAULT_STORE_TYPE``, else
                ``local``).
            url: the new store's URL (default: the default place in the config directory).
            secrets: values for the secret attributes the bundle left out: ``{(ComponentType,
                component name): {attribute: value}}``.
            options: the new store's options, as for :meth:`create_profile` (a ``rest``
                store's ``token_env``/``token_file``/``ca_bundle``).

        Returns:
            The new profile's :class:`ProfileConfig`.

        Raises:
            CorruptFileError: the bundle is not valid.
            InputError: the file does not exist or holds a stack, or a config is not valid.
            AlreadyExistsError: the profile exists (and not ``rename_if_exists``), or a store is at
                its place.
        """
        return profiles.import_profile(
            self._session,
            source,
            name,
            rename_if_exists=rename_if_exists,
            store_type=store_type,
            url=url,
            secrets=secrets,
            options=options,
        )

    def migrate_profile(
        self,
        name: str,
        to_store_type: str,
        url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> MigrationResult:
        """Move a profile with everything in it to another store.

        Components (with their ids), stacks and custom flavors are copied in one transaction, read
        back and compared, and only then is the profile repointed; its name, its active stack and
        the repositories that use it stay as they are. The old store is removed if mlrig made it in
        the config directory, else kept (and reported). Any failure before the repointing leaves the
        profile on its old store.

        Args:
            name: the profile.
            to_store_type: ``local`` or ``sql``.
            url: the new store's URL (default: the default place of that type in the config
                directory); a store there must be empty.
            options: store options of the new store (SQL: ``password_env`` or ``password_file``).

        Returns:
            A :class:`MigrationResult` (URLs with their passwords masked).

        Raises:
            NotFoundError: the profile does not exist.
            InputError: the store type is not ``local`` or ``sql``, the URL is not valid, or it is
                the profile's store already.
            AlreadyExistsError: the store at ``url`` is not empty.
            StoreError: the new store cannot be written, the copy differs, or another command
                changed the profile meanwhile.
        """
        return profiles.migrate_profile(self._session, name, to_store_type, url, options)

    # ------------------------------------------------------------------ stacks
    def list_stacks(self) -> list[Stack]:
        """The stacks of the active profile, sorted by name.

        Returns:
            A list of :class:`Stack`.

        Raises:
            ScopeError: the active profile does not exist.
        """
        return stacks.list_stacks(self._session)

    def get_stack(self, name: str | None = None) -> Stack:
        """A stack of the active profile (the active stack by default).

        Args:
            name: the stack (default: the active one).

        Returns:
            The :class:`Stack`: ``name`` and ``components`` (:class:`ComponentType` -> component
            name).

        Raises:
            NotFoundError: there is no such stack.
            ScopeError: the active profile (or, without ``name``, the active stack) does not exist.
        """
        return stacks.get_stack(self._session, name)

    def register_stack(
        self, name: str, components: Mapping[TypeLike, str | None], set_active: bool = False
    ) -> Stack:
        """Register a stack in the active profile.

        Args:
            name: the stack's name.
            components: component type (a :class:`ComponentType` or its name, ``"artifact_store"``
                or ``"artifact-store"``) -> the name of a registered component of that type;
                ``None`` values are left out. An orchestrator, a metadata store and an artifact
                store are mandatory.
            set_active: also make it the active stack, as :meth:`set_stack` does (checked before
                anything is written).

        Returns:
            The new :class:`Stack`.

        Raises:
            InputError: a mandatory type is missing, or a name or type is not valid.
            AlreadyExistsError: a stack of that name exists.
            NotFoundError: a component does not exist.
        """
        return stacks.register_stack(self._session, name, components, set_active)

    def check_stack_exists(self, name: str, profile: str | None = None) -> None:
        """Raise unless ``name`` is a stack of a profile (the active one by default).

        Args:
            name: the stack.
            profile: the profile (default: the active one).

        Raises:
            NotFoundError: the stack or the profile does not exist.
        """
        stacks.check_stack_exists(self._session, name, profile)

    def set_stack(self, name: str, global_: bool = False) -> SetResult:
        """Make a stack of the active profile active: in the repository, or globally.

        This is ``mlrig stack set``: in a repository the repository's stack is set, else (or with
        ``global_``) the profile's own active stack in the global configuration.

        Args:
            name: the stack.
            global_: set the profile's own active stack even inside a repository.

        Returns:
            A :class:`SetResult`, as for :meth:`set_profile` (``shadowed_by``: the ``stack``
            argument of the Client or ``MLRIG_ACTIVE_STACK``).

        Raises:
            NotFoundError: the stack does not exist.
            InputError: the repository pins another profile than the active one (``global_=True``
                sets the active profile's stack instead).
        """
        return stacks.set_stack(self._session, name, global_)

    def check_stack_deletable(self, name: str) -> None:
        """Raise unless :meth:`delete_stack` would delete this stack of the active profile.

        Args:
            name: the stack.

        Raises:
            NotFoundError: the stack does not exist.
            InUseError: a scope makes it the active stack.
        """
        stacks.check_stack_deletable(self._session, name)

    def delete_stack(self, name: str) -> None:
        """Delete a stack of the active profile; its components are kept.

        Args:
            name: the stack.

        Raises:
            NotFoundError: the stack does not exist.
            InUseError: a scope makes it the active stack (the message names the scope).
        """
        stacks.delete_stack(self._session, name)

    def update_stack(self, name: str | None, components: Mapping[TypeLike, str | None]) -> Stack:
        """Replace component slots of a stack (the active one with ``name=None``).

        Args:
            name: the stack, or ``None`` for the active one.
            components: component type (a :class:`ComponentType` or its name) -> the name of a
                registered component, for the slots to set; ``None`` values are left out and the
                other slots are kept.

        Returns:
            The updated :class:`Stack`.

        Raises:
            InputError: no component is given, or a name or type is not valid.
            NotFoundError: the stack or a component does not exist.
        """
        return stacks.update_stack(self._session, name, components)

    def remove_stack_components(
        self, name: str | None, types: Iterable[TypeLike]
    ) -> tuple[Stack, list[ComponentType]]:
        """Take optional components out of a stack (the active one with ``name=None``).

        A type of which the stack has no component is skipped, with a warning event.

        Args:
            name: the stack, or ``None`` for the active one.
            types: the component types to take out (:class:`ComponentType` or names).

        Returns:
            The updated :class:`Stack` and the types that were taken out.

        Raises:
            InputError: no type is given, or a mandatory one (orchestrator, metadata store, artifact
                store).
            NotFoundError: the stack does not exist.
        """
        return stacks.remove_stack_components(self._session, name, types)

    def rename_stack(self, old: str, new: str) -> RenameResult:
        """Rename a stack of the active profile and move every pointer mlrig owns to it.

        The pointers are the profile's active stack in the global configuration and the current
        repository's active stack; a scope mlrig cannot change (the ``stack`` argument of the
        Client, ``MLRIG_ACTIVE_STACK``) is reported with a warning event.

        Args:
            old: the stack's name.
            new: its new name.

        Returns:
            A :class:`RenameResult`: ``updated`` (the files whose pointers moved) and
            ``not_updated`` (the scopes that still name ``old``).

        Raises:
            NotFoundError: the stack does not exist.
            AlreadyExistsError: a stack is called ``new`` already.
            InputError: ``new`` is not a valid name.
        """
        return stacks.rename_stack(self._session, old, new)

    def copy_stack(
        self,
        source: str,
        target: str,
        *,
        from_profile: str | None = None,
        to_profile: str | None = None,
        rename_conflicts: bool = False,
        use_existing: bool = False,
        dry_run: bool = False,
    ) -> TransferPlan:
        """Copy a stack, with the components and custom flavors it uses, in one transaction.

        Identical components in the target are reused, and the source profile's ``default``
        components as mlrig created them are replaced by the target's own; a same-named,
        differently configured component is a conflict, unless ``rename_conflicts`` (copy it
        as NAME-2) or ``use_existing`` (use the target's instead).

        Args:
            source: the stack to copy.
            target: the copy's name.
            from_profile: the profile to copy from (default: the active one).
            to_profile: the profile to copy to (default: the active one).
            rename_conflicts: create a differing component under a new name (``name-2``, ...)
                instead of refusing.
            use_existing: use the target's same-named component of a differing one instead
                of refusing.
            dry_run: only plan: nothing is written, and the plan may hold conflicts.

        Returns:
            The :class:`TransferPlan`: what happened (or would happen) to each flavor, component and
            stack.

        Raises:
            NotFoundError: the stack or a profile does not exist.
            AlreadyExistsError: the target stack exists, or a conflict (nothing was changed).
            InputError: ``target`` is not a valid name, or both ways out are asked for.
        """
        return stacks.copy_stack(
            self._session,
            source,
            target,
            from_profile=from_profile,
            to_profile=to_profile,
            rename_conflicts=rename_conflicts,
            use_existing=use_existing,
            dry_run=dry_run,
        )

    def stack_bundle(self, name: str | None = None, include_secrets: bool = False) -> Bundle:
        """The export of a stack (the active one by default) as a :class:`Bundle`, in memory.

        The bundle holds the stack, the components it uses and the custom flavors they need. Secret
        attributes are left out (their names listed as omitted) unless ``include_secrets``.

        Args:
            name: the stack (default: the active one).
            include_secrets: keep secret attribute values in the bundle.

        Returns:
            The :class:`Bundle`.

        Raises:
            NotFoundError: the stack does not exist.
            InputError: a flavor cannot be loaded, so its secret attributes are unknown.
        """
        return stacks.stack_bundle(self._session, name, include_secrets)

    def export_stack(
        self, name: str, path: str | Path | None = None, include_secrets: bool = False
    ) -> Path:
        """Write a stack's bundle (see :meth:`stack_bundle`) to a YAML file.

        Args:
            name: the stack.
            path: the file, relative to the client's ``cwd`` (default: ``<name>.yaml`` there).
            include_secrets: keep secret attribute values in the file.

        Returns:
            The path written.

        Raises:
            NotFoundError: the stack does not exist.
            InputError: the file cannot be written, or a flavor cannot be loaded.
        """
        return stacks.export_stack(self._session, name, path, include_secrets)

    def plan_stack_import(
        self,
        source: str | Path | Bundle,
        name: str | None = None,
        *,
        rename_conflicts: bool = False,
        use_existing: bool = False,
        secrets: SecretValues | None = None,
    ) -> tuple[Bundle, TransferPlan]:
        """What :meth:`import_stack` would do, without writing anything.

        Takes the arguments of :meth:`import_stack`.

        Returns:
            The :class:`Bundle` read and the :class:`TransferPlan` (``ok`` is false if the import
            would be refused).

        Raises:
            CorruptFileError: the bundle is not valid.
            InputError: the file does not exist, or holds a profile.
        """
        return stacks.plan_stack_import(
            self._session,
            source,
            name,
            rename_conflicts=rename_conflicts,
            use_existing=use_existing,
            secrets=secrets,
        )

    def import_stack(
        self,
        source: str | Path | Bundle,
        name: str | None = None,
        *,
        rename_conflicts: bool = False,
        use_existing: bool = False,
        secrets: SecretValues | None = None,
    ) -> TransferPlan:
        """Register a stack from a bundle in the active profile, with its components and flavors.

        Everything is created in one transaction, or nothing is. Identical components are reused;
        the bundle's ``default`` components that were its profile's defaults as mlrig created them
        are replaced by this profile's own; a same-named, differently configured one is a conflict
        unless ``rename_conflicts`` or ``use_existing`` (as in :meth:`copy_stack`).

        Args:
            source: a bundle file (relative to the client's ``cwd``) or a :class:`Bundle`.
            name: the stack's name (default: the one in the bundle).
            rename_conflicts: create a differing component under a new name instead of refusing.
            use_existing: use this profile's same-named component instead of refusing.
            secrets: values for the secret attributes the bundle left out: ``{(ComponentType,
                component name): {attribute: value}}``.

        Returns:
            The :class:`TransferPlan` that was applied.

        Raises:
            CorruptFileError: the bundle is not valid.
            InputError: the file does not exist or holds a profile, or a config is not valid (a
                required secret is missing, say).
            AlreadyExistsError: the stack exists, or a conflict (nothing was changed).
        """
        return stacks.import_stack(
            self._session,
            source,
            name,
            rename_conflicts=rename_conflicts,
            use_existing=use_existing,
            secrets=secrets,
        )

    # ------------------------------------------------------------------ components
    def register_component(
        self, type_: TypeLike, name: str, flavor: str, config: Mapping[str, Any] | None = None
    ) -> Component:
        """Register a component in the active profile.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the component's name, unique for its type in the profile.
            flavor: the flavor's name (see :meth:`list_flavors`).
            config: attribute values, validated (and converted) by the flavor's schema.

        Returns:
            The new :class:`Component`, with a new ``id`` and the validated config.

        Raises:
            AlreadyExistsError: a component of that type and name exists.
            NotFoundError: there is no such flavor for the type.
            InputError: the name or type is not valid, or the flavor rejects the config.
        """
        return components.register_component(self._session, type_, name, flavor, config)

    def list_components(self, type_: TypeLike) -> list[Component]:
        """The components of one type in the active profile, sorted by name.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).

        Returns:
            A list of :class:`Component`.

        Raises:
            InputError: the type is unknown.
        """
        return components.list_components(self._session, type_)

    def get_component(self, type_: TypeLike, name: str | None = None) -> Component:
        """A component of the active profile; by default the active stack's one of that type.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the component (default: the one of that type in the active stack).

        Returns:
            The :class:`Component`.

        Raises:
            NotFoundError: there is no such component, or (without ``name``) the active stack has
                none of that type.
        """
        return components.get_component(self._session, type_, name)

    def active_component_name(self, type_: TypeLike) -> str | None:
        """The name of the active stack's component of a type, or ``None`` when it has none.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).

        Raises:
            ScopeError: the active profile or the active stack does not exist.
        """
        return components.active_component_name(self._session, type_)

    def delete_component(self, type_: TypeLike, name: str) -> None:
        """Delete a component of the active profile that no stack uses.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the component.

        Raises:
            NotFoundError: there is no such component.
            InUseError: stacks use it (the message names them).
        """
        components.delete_component(self._session, type_, name)

    def secret_fields(self, component: Component) -> frozenset[str] | None:
        """The config fields of a component that its flavor marks secret.

        Args:
            component: the component.

        Returns:
            The field names, or ``None`` when the flavor cannot be loaded, so nobody can tell which
            fields are secret.
        """
        return components.secret_fields(self._session, component)

    def masked_config(self, component: Component, show_secrets: bool = False) -> dict[str, Any]:
        """A component's config to show: secret values replaced by ``"********"``.

        When the flavor cannot be loaded every value is masked (and a warning event says so).

        Args:
            component: the component.
            show_secrets: return the config unmasked.

        Returns:
            A new dict of the config.
        """
        return components.masked_config(self._session, component, show_secrets)

    def update_component(self, type_: TypeLike, name: str, values: Mapping[str, Any]) -> Component:
        """Set attributes of a component; the merged config is validated by its flavor.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the component.
            values: attribute -> new value (``name``, ``id``, ``uuid``, ``type`` and ``flavor``
                cannot be set; a component is renamed with :meth:`rename_component`).

        Returns:
            The updated :class:`Component`.

        Raises:
            NotFoundError: the component does not exist.
            InputError: no value is given, a reserved attribute is, or the flavor rejects the
                config.
        """
        return components.update_component(self._session, type_, name, values)

    def remove_component_attributes(
        self, type_: TypeLike, name: str, attributes: Iterable[str]
    ) -> Component:
        """Reset optional attributes (those with a default) of a component to their default.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the component.
            attributes: the attribute names (a leading ``--`` and dashes are accepted).

        Returns:
            The updated :class:`Component`.

        Raises:
            NotFoundError: the component does not exist.
            InputError: no attribute is given, or one is not an optional attribute of the flavor.
        """
        return components.remove_component_attributes(self._session, type_, name, attributes)

    def rename_component(self, type_: TypeLike, old: str, new: str) -> tuple[Component, list[str]]:
        """Rename a component; every stack using it follows in the same transaction.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            old: the component's name.
            new: its new name.

        Returns:
            The renamed :class:`Component` (same ``id``) and the names of the stacks that use it.

        Raises:
            NotFoundError: the component does not exist.
            AlreadyExistsError: a component of that type is called ``new`` already.
            InputError: ``new`` is not a valid name.
        """
        return components.rename_component(self._session, type_, old, new)

    def copy_component(
        self,
        type_: TypeLike,
        source: str,
        target: str,
        *,
        from_profile: str | None = None,
        to_profile: str | None = None,
    ) -> Component:
        """Copy a component under a new name (and a new id), possibly to another profile.

        A custom flavor it needs is copied with it.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            source: the component to copy.
            target: the copy's name.
            from_profile: the profile to copy from (default: the active one).
            to_profile: the profile to copy to (default: the active one).

        Returns:
            The new :class:`Component`.

        Raises:
            NotFoundError: the component or a profile does not exist.
            AlreadyExistsError: ``target`` exists in the target profile, or its flavor means
                something else there.
        """
        return components.copy_component(
            self._session, type_, source, target, from_profile=from_profile, to_profile=to_profile
        )

    def explain_component_type(self, type_: TypeLike) -> dict[str, Any]:
        """What a component type is for, and the flavors available for it.

        A flavor that cannot be loaded is described as such, not raised.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).

        Returns:
            A dict: ``type``, ``mandatory`` and ``flavors``, a list of ``{flavor, origin, source,
            description, attributes}`` where ``attributes`` maps each attribute to ``{required,
            secret, description}``.

        Raises:
            InputError: the type is unknown.
        """
        return components.explain_component_type(self._session, type_)

    # ------------------------------------------------------------------ flavors
    def list_flavors(self, type_: TypeLike) -> list[FlavorSpec]:
        """The flavors available for a component type in the active profile.

        Those are the built-in ones, those of installed plugins (``mlrig.flavors`` entry points) and
        those registered in the profile (see :meth:`register_flavor`); none is imported.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).

        Returns:
            A list of :class:`FlavorSpec`: ``type``, ``name``, ``source`` (the class's dotted path)
            and ``origin``.

        Raises:
            InputError: the type is unknown.
        """
        return flavors.list_flavors(self._session, type_)

    def register_flavor(self, type_: TypeLike, source: str) -> FlavorRecord:
        """Register a custom flavor in the active profile.

        The flavor is a :class:`~mlrig.flavors.base.Flavor` subclass, found by its dotted path; for
        this profile it overrides a built-in or plugin flavor of the same name (a warning event says
        so).

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            source: ``package.module.ClassName`` (or ``package.module:ClassName``), importable.

        Returns:
            The :class:`FlavorRecord` registered.

        Raises:
            InputError: the class cannot be imported, or is not a flavor of that type.
            AlreadyExistsError: the profile has a custom flavor of that name for the type.
        """
        return flavors.register_flavor(self._session, type_, source)

    def delete_flavor(self, type_: TypeLike, name: str) -> None:
        """Delete a custom flavor of the active profile that no component uses.

        Args:
            type_: the component type (a :class:`ComponentType` or its name).
            name: the flavor's name.

        Raises:
            NotFoundError: no custom flavor of that name is registered for the type.
            InputError: it is a built-in flavor.
            InUseError: components use it (the message names them).
        """
        flavors.delete_flavor(self._session, type_, name)

    # ------------------------------------------------------------------ secrets
    def register_secret(self, name: str, values: Mapping[str, str]) -> None:
        """Add a secret to the active stack's secrets manager.

        A component config refers to one of its keys as ``{{NAME.KEY}}``; the reference is
        stored, the value is read only when a run needs it.

        Args:
            name: the secret's name (letters, digits, ``_``, ``-``, ``.``).
            values: its keys and string values (at least one).

        Raises:
            AlreadyExistsError: the secrets manager holds a secret of that name.
            NotFoundError: the active stack has no secrets manager.
            InputError: a bad name, key or value.
        """
        secrets.register_secret(self._session, name, values)

    def get_secret(self, name: str) -> dict[str, str]:
        """The keys and values of a secret of the active stack's secrets manager (unmasked:
        mask them before showing them).

        Args:
            name: the secret.

        Raises:
            NotFoundError: no such secret, or the active stack has no secrets manager.
        """
        return secrets.get_secret(self._session, name)

    def list_secrets(self) -> list[str]:
        """The names of the secrets of the active stack's secrets manager, sorted.

        Raises:
            NotFoundError: the active stack has no secrets manager.
        """
        return secrets.list_secrets(self._session)

    def update_secret(self, name: str, values: Mapping[str, str],
                      remove: Iterable[str] = ()) -> dict[str, str]:
        """Add or replace keys of a secret, and remove keys, in one write.

        Args:
            name: the secret.
            values: keys to set.
            remove: keys to remove (the secret must keep one).

        Returns:
            The secret's keys and values after the change.

        Raises:
            NotFoundError: no such secret or key, or no secrets manager.
            InputError: nothing to change, or no key would be left.
        """
        return secrets.update_secret(self._session, name, values, remove)

    def delete_secret(self, name: str) -> None:
        """Delete a secret of the active stack's secrets manager.

        Args:
            name: the secret.

        Raises:
            NotFoundError: no such secret, or the active stack has no secrets manager.
        """
        secrets.delete_secret(self._session, name)

    def secrets_document(self) -> dict[str, Any]:
        """``mlrig secret list -o json``: each secret's name, secrets manager and key names."""
        return secrets.secrets_document(self._session)

    def secret_document(self, name: str, show_values: bool = False) -> dict[str, Any]:
        """``mlrig secret get NAME -o json``: the secret ``name``'s keys, values
        ``"********"`` unless ``show_values``."""
        return secrets.secret_document(self._session, name, show_values)

    # ------------------------------------------------------------------ pipeline runs
    def run_pipeline(
        self, target: str, *, config: str | Path | Mapping[str, Any] | None = None
    ) -> PipelineRunRecord:
        """Run the pipeline ``target`` names (``FILE.py:NAME`` or ``module:NAME``, as
        ``mlrig pipeline run``) on the active stack; its run's record.

        Args:
            target: the pipeline: a script file (loaded as a module, so its
                ``if __name__ == "__main__":`` block does not run) or an importable module,
                and the name of a function decorated with ``@pipeline`` in it.
            config: a YAML file (or a mapping) with ``parameters: {step: {name: value}}`` and
                ``enable_cache``.

        Raises:
            StepFailedError: a step failed; the run is recorded ``failed`` and can be
                resumed (:meth:`resume_pipeline_run`).
            PreflightError: a component of the stack is not ready; nothing ran.
        """
        from mlrig.core import pipelines

        return pipelines.run_pipeline(self._session, pipelines.load_pipeline(self._session, target),
                                      config=config)

    def resume_pipeline_run(self, run_id: str) -> PipelineRunRecord:
        """Re-run the failed run ``run_id`` (or a run whose process was killed) from its
        failed step, reusing the steps that finished in it; the new run's record."""
        from mlrig.core import pipelines

        return pipelines.resume_run(self._session, run_id)

    # ------------------------------------------------------------------ inspecting runs
    # (the records of the active stack's metadata store; docs/runs.md)
    def list_pipelines(self) -> list[tuple[str, int, float]]:
        """``(pipeline name, number of runs, start of the last run)`` of every pipeline the
        active stack's metadata store has runs of, by name."""
        return runs.list_pipelines(self._session)

    def list_pipeline_runs(self, *, pipeline: str | None = None, status: str | None = None,
                           limit: int = 50, cursor: str | None = None) -> RunPage:
        """One page of runs, newest first (``page.runs``, ``page.next_cursor``).

        Args:
            pipeline: only the runs of this pipeline.
            status: only the runs in this state (``running``, ``completed``, ``failed``).
            limit: the page size (1 to 1000).
            cursor: the ``next_cursor`` of the previous page.

        A run still ``running`` whose process on this host is gone is recorded and shown as
        ``failed``.
        """
        from mlrig.runtime.records import RunPage

        found, next_cursor = runs.list_runs(self._session, pipeline=pipeline, status=status,
                                            limit=limit, cursor=cursor)
        return RunPage(found, next_cursor)

    def get_pipeline_run(self, run_id: str) -> RunView:
        """The run ``run_id`` (its id or a unique prefix of it), with ``steps`` by name; each
        step's ``outputs`` and ``inputs`` load their values: ``run.steps["trainer"].outputs
        ["model"].load()``.

        Raises:
            NotFoundError: no such run. InputError: the prefix names several runs.
        """
        return runs.run_view(self._session, run_id)

    def delete_pipeline_run(self, run_id: str) -> PipelineRunRecord:
        """Delete the run ``run_id``: its records, its log files and the artifact records no
        other run uses (the bytes stay in the artifact store, which shares them by content);
        the deleted run's record."""
        return runs.delete_run(self._session, run_id)

    def get_pipeline_run_logs(self, run_id: str, step: str | None = None) -> dict[str, str]:
        """The logs of the steps of the run ``run_id`` (or of ``step`` alone), by step name."""
        return dict(runs.run_logs(self._session, run_id, step))

    def list_artifacts(self, *, limit: int = 50,
                       cursor: str | None = None) -> list[ArtifactRecord]:
        """One page of ``limit`` artifacts, newest first; ``cursor`` is the id of the last
        artifact of the previous page."""
        return runs.list_artifacts(self._session, limit=limit, cursor=cursor)

    def get_artifact(self, artifact_id: str) -> ArtifactView:
        """The artifact ``artifact_id`` (an id or a unique prefix); ``.load()`` gives its
        value, ``.read_bytes()`` its stored bytes."""
        return runs.artifact_view(self._session, artifact_id)

    def explain_cache(self, run_id: str, step: str) -> CacheExplanation:
        """Every part of the cache key of ``step`` in the run ``run_id`` next to the same part
        in the previous run of that step, and which changed (``mlrig pipeline runs
        explain-cache``)."""
        from mlrig.core import pipelines

        return pipelines.explain_cache(self._session, run_id, step)

    def pipelines_document(self) -> dict[str, Any]:
        """``mlrig pipeline list -o json``: ``pipelines`` (``name``, ``runs``, ``last_run``)."""
        return runs.pipelines_document(self._session)

    def pipeline_runs_document(self, *, pipeline: str | None = None,
                               status: str | None = None, limit: int = 50,
                               cursor: str | None = None) -> dict[str, Any]:
        """``mlrig pipeline runs list -o json``: ``runs`` (one page) and ``next_cursor``; takes
        the arguments of :meth:`list_pipeline_runs` (``pipeline``, ``status``, ``limit``,
        ``cursor``)."""
        return runs.runs_document(self._session, pipeline=pipeline, status=status,
                                  limit=limit, cursor=cursor)

    def pipeline_run_document(self, run_id: str) -> dict[str, Any]:
        """``mlrig pipeline runs describe -o json``: ``run`` (of ``run_id``) with its
        ``steps``."""
        return runs.run_document(self._session, run_id)

    def artifacts_document(self, *, limit: int = 50,
                           cursor: str | None = None) -> dict[str, Any]:
        """``mlrig artifact list -o json``: ``artifacts`` (one page of ``limit``, after
        ``cursor``) and ``next_cursor``."""
        return runs.artifacts_document(self._session, limit=limit, cursor=cursor)

    def artifact_document(self, artifact_id: str) -> dict[str, Any]:
        """``mlrig artifact describe -o json``: ``artifact`` (of ``artifact_id``) with
        ``producer`` and ``consumers``."""
        return runs.artifact_document(self._session, artifact_id)

    # ------------------------------------------------------------------ repositories
    def init_repository(
        self, path: str | Path | None = None
    ) -> tuple[Repository, Choice, Choice | None]:
        """Make a directory a repository pinning the profile and the stack active right now.

        This is ``mlrig init``: a client whose ``cwd`` is inside the directory then uses that pair
        (the ``local`` scope).

        Args:
            path: the directory (default: the client's ``cwd``).

        Returns:
            The :class:`Repository`, and the :class:`Choice` of the profile and of the stack (or
            ``None``) it pins.

        Raises:
            InputError: the path is not a directory.
            AlreadyExistsError: it is a repository already.
            ScopeError: the active profile does not exist.
        """
        return repositories.init_repository(self._session, path)

    def status(self) -> dict[str, Any]:
        """Which profile and stack are active, the scope that chose each and what they override.

        This is the data of ``mlrig status -o json``; a profile or stack that a scope names but does
        not exist is reported (``exists: False``), not raised.

        Returns:
            A dict: ``profile`` and ``stack`` (``name``, ``exists``, ``scope``, ``source``,
            ``overrides``), ``repository`` (a path or ``None``), ``config_path`` and ``warnings``
            (files with too wide permissions).
        """
        return repositories.status(self._session)

    # ------------------------------------------------------------------ documents
    def stacks_document(self) -> dict[str, Any]:
        """The document of ``mlrig stack list -o json``: every stack of the active profile
        (``name``, ``active``, ``components``), under ``stacks``."""
        return documents.stacks(self._session)

    def stack_document(self, name: str | None = None) -> dict[str, Any]:
        """The document of ``mlrig stack describe -o json``, under ``stack``.

        Args:
            name: the stack (default: the active one).
        """
        return documents.stack(self._session, name)

    def components_document(self, type_: TypeLike, show_secrets: bool = False) -> dict[str, Any]:
        """The document of ``mlrig <type> list -o json``: the components of a type (``type``,
        ``name``, ``flavor``, ``id``, ``active``, ``config``), under the type's plural.

        Args:
            type_: the component type.
            show_secrets: show secret values instead of ``********``.
        """
        return documents.components(self._session, type_, show_secrets)

    def component_document(self, type_: TypeLike, name: str,
                           show_secrets: bool = False) -> dict[str, Any]:
        """The document of ``mlrig <type> describe NAME -o json``, under the type.

        Args:
            type_: the component type.
            name: the component.
            show_secrets: show secret values instead of ``********``.
        """
        return documents.component(self._session, type_, name, show_secrets)

    def active_component(self, type_: TypeLike) -> str | None:
        """The active stack's component of a type, or ``None`` (no active stack, or it has
        none, or the active stack does not exist): never raises for a missing stack.

        Args:
            type_: the component type.
        """
        return documents.active_component(self._session, type_)

    def flavors_document(self, type_: TypeLike) -> dict[str, Any]:
        """The document of ``mlrig <type> flavor list -o json``, under ``flavors``.

        Args:
            type_: the component type.
        """
        return documents.flavors(self._session, type_)


def _retry_stale_writes() -> None:
    """The verbs of :data:`mlrig.core.conflicts.RETRIED` are re-run after a stale write."""
    from mlrig.core.conflicts import RETRIED, retry_stale

    for name in RETRIED:
        setattr(Client, name, retry_stale(getattr(Client, name)))


_retry_stale_writes()
