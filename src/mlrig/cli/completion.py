"""Shell completion: ``mlrig completion bash|zsh|fish``, and the entry point the shell calls
on TAB (the completers themselves are in :mod:`mlrig.cli.completers`).

The shell calls ``mlrig`` with ``_MLRIG_COMPLETE=<shell>_complete`` and the words typed so
far (``COMP_WORDS``/``COMP_CWORD``); :func:`complete` lets click walk the command tree and
ask the parameter being completed for suggestions, and keeps every error away from the
shell.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click
from click.shell_completion import (
    BashComplete,
    CompletionItem,
    ShellComplete,
    add_completion_class,
    get_completion_class,
    shell_complete,
)

if TYPE_CHECKING:
    pass

COMPLETE_VAR = "_MLRIG_COMPLETE"
SHELLS = ("bash", "zsh", "fish")



class QuotingBashComplete(BashComplete):
    """Bash inserts a suggestion as it is sent: a name with a space or a shell character is
    sent quoted, so that the inserted word is the name (zsh and fish quote by themselves)."""

    def format_completion(self, item: CompletionItem) -> str:
        value = item.value
        if item.type == "plain" and isinstance(value, str):
            value = _bash_word(value)
        return f"{item.type},{value}"


_SAFE_WORD = re.compile(r"[\w@%+=:,./-]+")


def _bash_word(name: str) -> str:
    """``my stack`` -> ``'my stack'``, for click's bash script.

    That script reads each line with ``read`` (without ``-r``), which drops one level of
    backslashes: the backslashes of the quoting are doubled to survive it.
    """
    if _SAFE_WORD.fullmatch(name):
        return name
    quoted = "'" + name.replace("'", "'\\''") + "'"
    return quoted.replace("\\", "\\\\")


def _shell_class(shell: str) -> type[ShellComplete]:
    add_completion_class(QuotingBashComplete, "bash")
    found = get_completion_class(shell)
    if found is None:
        raise click.UsageError(f"No completion for the shell '{shell}'.")
    return found


# ---------------------------------------------------------------------- the command
@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
def completion(shell: str) -> None:
    """Print the shell completion script: bash, zsh or fish.

    \b
    bash:  eval "$(mlrig completion bash)"   (in ~/.bashrc)
    zsh:   eval "$(mlrig completion zsh)"    (in ~/.zshrc)
    fish:  mlrig completion fish > ~/.config/fish/completions/mlrig.fish

    TAB then completes commands, options and the names of profiles, stacks, components
    and flavors (see docs/completion.md).
    """
    from mlrig.cli.app import cli

    click.echo(_shell_class(shell)(cli, {}, "mlrig", COMPLETE_VAR).source(), nl=False)


# ---------------------------------------------------------------------- the protocol
def complete(instruction: str) -> int:
    """Answer a completion request (``_MLRIG_COMPLETE=<shell>_<instruction>``).

    Called by :func:`mlrig.cli.main` before anything else; whatever goes wrong, the shell
    gets no suggestions and no message (stderr would land in the middle of the command
    line being typed).
    """
    import warnings

    from mlrig.cli.app import cli

    warnings.simplefilter("ignore")
    add_completion_class(QuotingBashComplete, "bash")
    try:
        return shell_complete(cli, {}, "mlrig", COMPLETE_VAR, instruction)
    except KeyboardInterrupt:
        return 130
    except Exception:
        return 1


# ---------------------------------------------------------------------- completers
