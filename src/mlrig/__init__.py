"""mlrig: ML infrastructure configuration kept in isolated profiles of stacks.

``from mlrig import Client`` gives the whole API; the CLI is a thin layer over it. The
errors it raises and the records it returns are importable from here too
(``from mlrig import NotFoundError, Stack``); see ``docs/python-api.md``.

Everything but ``__version__`` is imported on first use (a module ``__getattr__``), so that
``import mlrig`` — which every ``mlrig`` command does — stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlrig._version import __version__

if TYPE_CHECKING:
    from mlrig.client import Client as Client
    from mlrig.config.global_config import GlobalConfig as GlobalConfig
    from mlrig.config.repository import Repository as Repository
    from mlrig.context import Choice as Choice
    from mlrig.context import Setting as Setting
    from mlrig.core.portability import Bundle as Bundle
    from mlrig.core.results import MigrationResult as MigrationResult
    from mlrig.core.results import ProfileImportPlan as ProfileImportPlan
    from mlrig.core.results import ProfileInfo as ProfileInfo
    from mlrig.core.results import RenameResult as RenameResult
    from mlrig.core.results import SetResult as SetResult
    from mlrig.core.transfer_plan import TransferPlan as TransferPlan
    from mlrig.exceptions import AlreadyExistsError as AlreadyExistsError
    from mlrig.exceptions import CorruptFileError as CorruptFileError
    from mlrig.exceptions import InputError as InputError
    from mlrig.exceptions import InUseError as InUseError
    from mlrig.exceptions import LockTimeoutError as LockTimeoutError
    from mlrig.exceptions import MlrigError as MlrigError
    from mlrig.exceptions import NotFoundError as NotFoundError
    from mlrig.exceptions import ReadOnlyError as ReadOnlyError
    from mlrig.exceptions import ScopeError as ScopeError
    from mlrig.exceptions import StoreError as StoreError
    from mlrig.exceptions import UsageError as UsageError
    from mlrig.flavors import FlavorSpec as FlavorSpec
    from mlrig.models import Component as Component
    from mlrig.models import ComponentType as ComponentType
    from mlrig.models import FlavorRecord as FlavorRecord
    from mlrig.models import ProfileConfig as ProfileConfig
    from mlrig.models import Stack as Stack

#: public name -> the module that defines it (``__all__`` lists the same names)
_EXPORTS: dict[str, str] = {
    "Client": "mlrig.client",
    # errors
    "MlrigError": "mlrig.exceptions",
    "InputError": "mlrig.exceptions",
    "UsageError": "mlrig.exceptions",
    "NotFoundError": "mlrig.exceptions",
    "AlreadyExistsError": "mlrig.exceptions",
    "InUseError": "mlrig.exceptions",
    "StoreError": "mlrig.exceptions",
    "CorruptFileError": "mlrig.exceptions",
    "LockTimeoutError": "mlrig.exceptions",
    "ReadOnlyError": "mlrig.exceptions",
    "ScopeError": "mlrig.exceptions",
    # records
    "ComponentType": "mlrig.models",
    "Component": "mlrig.models",
    "Stack": "mlrig.models",
    "FlavorRecord": "mlrig.models",
    "ProfileConfig": "mlrig.models",
    "ProfileInfo": "mlrig.core.results",
    "FlavorSpec": "mlrig.flavors",
    "Choice": "mlrig.context",
    "Setting": "mlrig.context",
    "GlobalConfig": "mlrig.config.global_config",
    "Repository": "mlrig.config.repository",
    "Bundle": "mlrig.core.portability",
    # results
    "SetResult": "mlrig.core.results",
    "RenameResult": "mlrig.core.results",
    "MigrationResult": "mlrig.core.results",
    "ProfileImportPlan": "mlrig.core.results",
    "TransferPlan": "mlrig.core.transfer_plan",
}

__all__ = [
    "AlreadyExistsError",
    "Bundle",
    "Choice",
    "Client",
    "Component",
    "ComponentType",
    "CorruptFileError",
    "FlavorRecord",
    "FlavorSpec",
    "GlobalConfig",
    "InUseError",
    "InputError",
    "LockTimeoutError",
    "MigrationResult",
    "MlrigError",
    "NotFoundError",
    "ProfileConfig",
    "ProfileImportPlan",
    "ProfileInfo",
    "ReadOnlyError",
    "RenameResult",
    "Repository",
    "ScopeError",
    "SetResult",
    "Setting",
    "Stack",
    "StoreError",
    "TransferPlan",
    "UsageError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlrig' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly next time
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
