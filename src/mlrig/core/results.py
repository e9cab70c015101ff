"""What the core's verbs return: records a caller can keep (no session inside)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mlrig.context import Setting
from mlrig.stores import (
    mask_url,
)

if TYPE_CHECKING:
    from mlrig.core.transfer_plan import TransferPlan
    from mlrig.models import Contents

#: the version of every output document's layout (:mod:`mlrig.core.documents`; bumped when
#: a field changes meaning or goes)
FORMAT_VERSION = 1
#: what a secret value is shown as
SECRET_MASK = "********"


class ProfileInfo(NamedTuple):
    """A profile as :meth:`Client.list_profiles` lists it.

    The fields are named like those of :class:`~mlrig.models.ProfileConfig` (what
    :meth:`Client.get_profile` returns), and two of them hold the value to show: the
    ``store_url`` has its password masked, and the ``active_stack`` of the active profile is
    the effective one (a ``stack`` argument, ``MLRIG_ACTIVE_STACK`` or the repository may
    choose another stack than the profile's own). ``active`` is true for the active profile.
    """

    name: str
    store_type: str
    store_url: str
    active_stack: str | None
    active: bool

    def to_dict(self) -> dict[str, Any]:
        """The profile object of ``mlrig profile list/describe -o json`` (``docs/output.md``):
        the same fields, with the store URL under the key ``url``."""
        return {
            "name": self.name,
            "active": self.active,
            "store_type": self.store_type,
            "url": self.store_url,
            "active_stack": self.active_stack,
        }


class SetResult(NamedTuple):
    """What :meth:`Client.set_profile` or :meth:`Client.set_stack` did.

    ``name`` was set in the ``scope`` (``local`` or ``global``) whose file is ``path``;
    ``unchanged`` tells it was set there already; ``shadowed_by`` is the higher setting (the
    flag or the environment scope) that still chooses something else, if any.
    """

    name: str
    scope: str
    path: Path
    unchanged: bool = False
    shadowed_by: Setting | None = None
    #: ``profile set`` in a repository: the stack the repository now pins with the profile
    #: (the profile's own active stack; ``None`` when it has none)
    stack: str | None = None


@dataclass
class RenameResult:
    """What a rename did: the files whose pointers it moved, what it could not move.

    ``updated`` lists the files changed (the global configuration, a repository's file);
    ``not_updated`` the scopes that still name ``old`` (an environment variable, a flag).
    """

    old: str
    new: str
    updated: list[str] = field(default_factory=list)
    not_updated: list[str] = field(default_factory=list)


@dataclass
class ProfileImportPlan:
    """What ``import_profile`` would do: the profile it creates and the objects in it.

    ``name``, ``store_type``, ``store_url`` and ``active_stack`` are those of the
    :class:`~mlrig.models.ProfileConfig` the import would create; ``requested_name`` is the
    name asked for (``name`` differs from it with ``rename_if_exists``), and ``transfer``
    says what happens to each stack, component and flavor.
    """

    name: str
    requested_name: str
    store_type: str
    store_url: str
    active_stack: str | None
    transfer: TransferPlan

    def to_dict(self) -> dict[str, Any]:
        """The plan of ``mlrig profile import --dry-run -o json`` (the URL masked, under
        ``url``)."""

        return {
            "profile": self.name,
            "requested_name": self.requested_name,
            "store_type": self.store_type,
            "url": mask_url(self.store_url),
            "active_stack": self.active_stack,
            **self.transfer.to_dict(),
        }


@dataclass(frozen=True)
class MigrationResult:
    """What :meth:`Client.migrate_profile` did (URLs with their passwords masked).

    ``contents`` is what was copied (``components``, ``stacks``, ``flavors``);
    ``old_store_removed`` tells whether the old store was removed (mlrig made it) or kept.
    """

    profile: str
    old_store_type: str
    old_url: str
    new_store_type: str
    new_url: str
    contents: Contents
    old_store_removed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "from": {"store_type": self.old_store_type, "url": self.old_url},
            "to": {"store_type": self.new_store_type, "url": self.new_url},
            "components": len(self.contents.components),
            "stacks": len(self.contents.stacks),
            "flavors": len(self.contents.flavors),
            "old_store": "removed" if self.old_store_removed else "kept",
        }
