"""The ``mlrig`` command line: a thin layer over :class:`mlrig.client.Client`."""

from __future__ import annotations

import os
import sys

_FAST = {("profile", "current"), ("stack", "current")}


def main(argv: list[str] | None = None) -> None:
    instruction = os.environ.get("_MLRIG_COMPLETE")
    if instruction:  # the shell asks for completions (see mlrig.cli.completion)
        from mlrig.cli.completion import complete

        sys.exit(complete(instruction))
    args = sys.argv[1:] if argv is None else argv
    if tuple(args) in _FAST:
        code = _fast_current(args[0])
        if code is not None:
            sys.exit(code)
    from mlrig.cli.app import run

    sys.exit(run(args))


def _fast_current(what: str) -> int | None:
    """``mlrig profile current`` / ``mlrig stack current`` without loading click or rich.

    Shell prompts call these on every prompt. The answer comes from the same resolution as
    every other command (:class:`mlrig.client.Client`); anything unusual (first run, an
    error) returns ``None`` and the full CLI handles it, with its messages.
    """
    from mlrig.client import Client
    from mlrig.exceptions import MlrigError

    try:
        client = Client()
        if not client.global_file.exists():
            return None
        name = client.active_profile_name if what == "profile" else client.active_stack_name
    except MlrigError:
        return None  # the full CLI reports it, in one line
    sys.stdout.write(f"{name}\n")
    return 0
