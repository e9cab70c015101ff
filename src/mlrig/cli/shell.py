"""Lines for ``eval``: select a profile or stack for the current shell only."""

from __future__ import annotations

import os
import shlex
from typing import Any

import click

SHELLS = ("bash", "zsh", "fish", "sh")
shell_type_option = click.option(
    "--shell-type", type=click.Choice(SHELLS), default=None,
    help="Shell syntax to print (default: from $SHELL; bash/zsh/sh share one syntax).",
)


def use_options(func: Any) -> Any:
    """``--shell`` and ``--shell-type``, shared by ``profile use`` and ``stack use``."""
    func = shell_type_option(func)
    return click.option("--shell", "for_shell", is_flag=True,
                        help="Print the export line for this shell only (use with eval).")(func)


def detect_shell(explicit: str | None) -> str:
    if explicit:
        return explicit
    name = os.path.basename(os.environ.get("SHELL", ""))
    return name if name in SHELLS else "bash"


def export_lines(shell: str, set_vars: dict[str, str], unset_vars: tuple[str, ...] = ()) -> str:
    """``export A='x'`` / ``unset B`` (POSIX shells) or ``set -gx A 'x'`` (fish)."""
    lines: list[str] = []
    for var, value in set_vars.items():
        if shell == "fish":
            lines.append(f"set -gx {var} {_fish_quote(value)};")
        else:
            lines.append(f"export {var}={shlex.quote(value)};")
    for var in unset_vars:
        lines.append(f"set -e {var};" if shell == "fish" else f"unset {var};")
    return "\n".join(lines)


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def eval_hint(kind: str, name: str) -> str:
    return (f"# To select it in this shell, run: eval \"$(mlrig {kind} use --shell "
            f"{shlex.quote(name)})\"")
