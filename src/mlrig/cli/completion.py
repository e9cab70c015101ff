"""Shell completion: ``mlrig completion bash|zsh|fish`` and the completers behind TAB.

The shell calls ``mlrig`` with ``_MLRIG_COMPLETE=<shell>_complete`` and the words typed so
far (``COMP_WORDS``/``COMP_CWORD``); click walks the command tree and asks the parameter
being completed for suggestions. The completers here suggest real names — profiles, stacks,
components of one type, flavors of one type — read through :class:`mlrig.client.Client`.

They run on every TAB press, so they are cheap and quiet:

* nothing heavy is imported up front (only click; the library when a name is needed);
* they never write: without a ``config.yaml`` (a first run) nothing is suggested rather
  than creating the default profile, and a store or configuration that a crashed command
  left half-changed (which the next real command repairs) is not read either;
* they never print: library events go nowhere, and any error means no suggestions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
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
    from mlrig.client import Client
    from mlrig.models import ComponentType

COMPLETE_VAR = "_MLRIG_COMPLETE"
SHELLS = ("bash", "zsh", "fish")

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]
NameSource = Callable[["Client"], Iterable[str]]


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
def _ignore_event(level: str, message: str) -> None:
    return None


def _client(ctx: click.Context, *, use_flags: bool, profile_param: str | None) -> Client | None:
    """A client that sees what the command being typed would see, or ``None`` when reading
    could write (first run, or an operation a crashed process left to finish)."""
    from mlrig.client import Client
    from mlrig.intents import pending_dir

    profile = stack = None
    if use_flags:
        root = ctx.find_root().params
        profile = (ctx.params.get(profile_param) if profile_param else None) or root.get(
            "profile")
        stack = root.get("stack")
    client = Client(profile=profile or None, stack=stack or None, on_event=_ignore_event)
    if not client.global_file.exists():
        return None  # Client.config() would create the default profile
    try:
        if any(n.endswith(".yaml") for n in os.listdir(pending_dir(client.config_dir))):
            return None  # Client.config() would finish the crashed operation first
    except OSError:
        pass
    return client


def _store_needs_repair(client: Client) -> bool:
    """A local store with a half-applied commit is repaired by its next reader."""
    return client.store().needs_repair()


def _completer(names: NameSource, *, in_profile: bool,
               profile_param: str | None = None) -> Completer:
    """A ``shell_complete`` function suggesting the ``names`` that start with what is typed.

    ``in_profile``: the names live in a profile's store (stacks, components, flavors), which
    is the one chosen by ``--profile`` (or by ``profile_param`` of the command, such as
    ``--from``) if given earlier on the command line, else the active one.
    """

    def complete_names(ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[CompletionItem]:
        try:
            client = _client(ctx, use_flags=in_profile, profile_param=profile_param)
            if client is None:
                return []
            try:
                if in_profile and _store_needs_repair(client):
                    return []
                found = sorted(set(names(client)))
            finally:
                client.close()
        except Exception:
            return []
        return [CompletionItem(name) for name in found if name.startswith(incomplete)]

    return complete_names


def _profiles(client: Client) -> Iterable[str]:
    return (p.name for p in client.list_profiles())


def _stacks(client: Client) -> Iterable[str]:
    return (s.name for s in client.list_stacks())


profile_names: Completer = _completer(_profiles, in_profile=False)
"""Profiles, for ``profile set|describe|...`` and ``--profile``, ``--from``, ``--to``."""

stack_names: Completer = _completer(_stacks, in_profile=True)
"""Stacks of the profile in effect, for ``stack set|describe|...`` and ``--stack``."""

source_stack_names: Completer = _completer(_stacks, in_profile=True,
                                           profile_param="from_profile")
"""Stacks of the ``--from`` profile if given before, for ``stack copy SOURCE``."""


def component_names(type_: ComponentType | str, *,
                    profile_param: str | None = None) -> Completer:
    """Components of one type, for ``stack register -o ...`` and ``<type> describe``."""

    def names(client: Client) -> Iterable[str]:
        return (c.name for c in client.list_components(type_))

    return _completer(names, in_profile=True, profile_param=profile_param)


def flavor_names(type_: ComponentType | str, *, custom_only: bool = False) -> Completer:
    """Flavors of one type (built-in, plugin and registered), for ``<type> register -f``;
    with ``custom_only`` only those registered in the profile (``flavor delete``)."""

    def names(client: Client) -> Iterable[str]:
        from mlrig.flavors import PROFILE

        return (s.name for s in client.list_flavors(type_)
                if not custom_only or s.origin == PROFILE)

    return _completer(names, in_profile=True)


def file_names(ctx: click.Context, param: click.Parameter,
               incomplete: str) -> list[CompletionItem]:
    """Let the shell complete paths (for FILENAME arguments)."""
    return [CompletionItem(incomplete, type="file")]
