"""The ``mlrig`` command line: a thin layer over :class:`mlrig.client.Client`."""

from __future__ import annotations

import os
import sys

from mlrig.cli.interrupts import caused_by_interrupt

_FAST = {("profile", "current"), ("stack", "current")}


def main(argv: list[str] | None = None) -> None:
    """The ``mlrig`` program. A Ctrl-C anywhere in it, imports included, ends it with exit
    code 130 and no traceback."""
    import mlrig

    code = 130
    try:
        if mlrig.AS_PROGRAM:  # from here on, Ctrl-C is a KeyboardInterrupt: cleanups run
            signal = mlrig.signal_module()
            signal.signal(signal.SIGINT, signal.default_int_handler)
        code = _main(argv)
    except KeyboardInterrupt:
        code = _interrupted()
    except Exception as exc:  # one that wraps a KeyboardInterrupt (in an import, say)
        if not caused_by_interrupt(exc):
            raise
        code = _interrupted()
    finally:
        if mlrig.AS_PROGRAM:
            _quiet_exit()
    sys.exit(code)


def _main(argv: list[str] | None) -> int:
    instruction = os.environ.get("_MLRIG_COMPLETE")
    if instruction:  # the shell asks for completions (see mlrig.cli.completion)
        from mlrig.cli.completion import complete

        return complete(instruction)
    args = sys.argv[1:] if argv is None else argv
    if tuple(args) in _FAST:
        code = _fast_current(args[0])
        if code is not None:
            return code
    elif args == ["status"]:
        code = _fast_status()
        if code is not None:
            return code
    from mlrig.cli.app import run

    return run(args)


def _interrupted() -> int:
    import mlrig

    if mlrig.AS_PROGRAM:
        import signal

        signal.signal(signal.SIGINT, mlrig.exit_interrupted)  # a second Ctrl-C: just go
    try:
        sys.stderr.write("Interrupted.\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return 130


def _quiet_exit() -> None:
    """Flush what the command printed, then let a late Ctrl-C (while the interpreter shuts
    down) end the process quietly with 130."""
    import mlrig

    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105  (contextlib costs a tenth of a shell prompt's command)
            stream.flush()
        except (OSError, ValueError, KeyboardInterrupt):
            pass
    signal = mlrig.signal_module()
    signal.signal(signal.SIGINT, mlrig.exit_interrupted)


def _fast_current(what: str) -> int | None:
    """``mlrig profile current`` / ``mlrig stack current`` without loading click, rich or
    the client.

    Shell prompts call these on every prompt. :func:`mlrig.prompt.answer` resolves the name
    from the configuration and scope files as every other command does; anything it cannot
    be sure of (first run, an error, a stack only the store can vouch for) returns ``None``
    and the full CLI handles it, with its messages.
    """
    from mlrig.prompt import answer

    name = answer(what)
    if name is None:
        return None
    sys.stdout.write(f"{name}\n")
    return 0


def _fast_status() -> int | None:
    """``mlrig status`` of a local profile without click or the client (see
    :func:`mlrig.prompt.status_info`); ``None``: the full command runs (a SQL or rest store
    to ask, a warning to print, anything unusual)."""
    from mlrig.prompt import status_info

    info = status_info()
    if info is None or info["warnings"]:
        return None
    from mlrig.cli.output import print_status

    print_status(info)
    return 0
