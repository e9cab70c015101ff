"""mlrig: ML infrastructure configuration kept in isolated profiles of stacks.

``from mlrig import Client`` gives the whole API; the CLI is a thin layer over it.

This module imports nothing at all (``TYPE_CHECKING`` is spelled out, not imported from
``typing``): it is the first code of mlrig that the ``mlrig`` program runs, and the sooner
that code runs, the sooner a Ctrl-C is handled (see :func:`_quiet_interrupts`).
"""

from __future__ import annotations

import sys as _sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from mlrig.client import Client as Client

__version__ = "0.1.0"

__all__ = ["Client", "__version__"]

def exit_interrupted(_signum: int, _frame: object) -> None:
    """A SIGINT handler: exit now with 130, without a word or a traceback."""
    import os

    os._exit(130)


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
    try:  # the C module behind `signal`, loaded by Python itself: no import to wait for
        import _signal as signal  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - another Python
        import signal
    try:
        signal.signal(signal.SIGINT, exit_interrupted)
    except (ValueError, OSError):  # not the main thread: not the program's start-up
        return False
    return True


#: whether this process is the ``mlrig`` program (the console script or ``python -m mlrig``),
#: not a program that uses mlrig as a library
AS_PROGRAM = _quiet_interrupts()


def __getattr__(name: str) -> Any:
    if name == "Client":
        from mlrig.client import Client

        return Client
    raise AttributeError(name)
