"""mlrig: ML infrastructure configuration kept in isolated profiles of stacks.

``from mlrig import Client`` gives the whole API; the CLI is a thin layer over it. The
errors it raises and the records it returns are importable from here too
(``from mlrig import NotFoundError, Stack``); see ``docs/python-api.md``.

Everything but ``__version__`` is imported on first use (a module ``__getattr__``), so that
``import mlrig`` — which every ``mlrig`` command does — stays cheap. This module imports
nothing before it has installed the quiet Ctrl-C handler of the ``mlrig`` program
(``TYPE_CHECKING`` is spelled out, not imported from ``typing``): it is the first code of
mlrig that the program runs, and the sooner that code runs, the sooner a Ctrl-C is handled
(see :func:`_quiet_interrupts`).
"""

from __future__ import annotations

import sys as _sys

TYPE_CHECKING = False


def exit_interrupted(_signum: int, _frame: object) -> None:
    """A SIGINT handler: exit now with 130, without a word or a traceback."""
    import os

    os._exit(130)


def signal_module() -> Any:
    """``signal``'s C module, loaded by Python itself (no import to wait for, and none of
    ``signal``'s enum classes: a tenth of a shell prompt's command)."""
    try:
        import _signal  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - another Python
        import signal

        return signal
    return _signal


def _quiet_interrupts() -> bool:
    """The ``mlrig`` program: until its ``main()`` takes over (and again once it is done),
    Ctrl-C ends the process at once, silently, with exit code 130. Returns whether this
    process is the program.

    Python raises ``KeyboardInterrupt`` wherever the interrupt lands, and one that lands
    while the program is still importing its modules would end in a traceback. Nothing has
    been written yet at that point (and everything has been flushed at the end), so there is
    nothing to clean up. A library user's own handler is never touched.
    """
    argv0 = _sys.argv[0] if _sys.argv else ""
    orig = getattr(_sys, "orig_argv", [])
    program = argv0.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".exe") == "mlrig"
    module = orig[1:3] == ["-m", "mlrig"] or orig[1:3] == ["-m", "mlrig.cli"]
    if not (program or module):
        return False
    signal = signal_module()
    try:
        signal.signal(signal.SIGINT, exit_interrupted)
    except (ValueError, OSError):  # not the main thread: not the program's start-up
        return False
    return True


#: whether this process is the ``mlrig`` program (the console script or ``python -m mlrig``),
#: not a program that uses mlrig as a library
AS_PROGRAM = _quiet_interrupts()


from mlrig._version import __version__  # noqa: E402  (after the handler, on purpose)

if TYPE_CHECKING:
    from typing import Any

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
    from mlrig.pipelines import pipeline as pipeline
    from mlrig.pipelines import step as step

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
    # pipelines
    "step": "mlrig.pipelines",
    "pipeline": "mlrig.pipelines",
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
    "pipeline",
    "step",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlrig' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly next time
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
