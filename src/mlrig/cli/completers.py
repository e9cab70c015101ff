"""The completers behind TAB: real names — profiles, stacks, components of one type,
flavors of one type — read through :class:`mlrig.client.Client` (see
:mod:`mlrig.cli.completion` for how the shell asks).

They run on every TAB press, so they are cheap and quiet:

* nothing heavy is imported up front (only click; the library when a name is needed);
* they never write: without a ``config.yaml`` (a first run) nothing is suggested rather
  than creating the default profile, and a store or configuration that a crashed command
  left half-changed (which the next real command repairs) is not read either;
* they never print: library events go nowhere, and any error means no suggestions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    # click's completion module is imported when the shell asks, not by every command
    from click.shell_completion import CompletionItem

    from mlrig.client import Client
    from mlrig.events import Event
    from mlrig.models import ComponentType

    Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]
    NameSource = Callable[[Client], Iterable[str]]


def _ignore_event(event: Event) -> None:
    return None


def _client(ctx: click.Context, *, use_flags: bool, profile_param: str | None) -> Client | None:
    """A client that sees what the command being typed would see, or ``None`` when reading
    could write (first run, or an operation a crashed process left to finish)."""
    from mlrig.client import Client

    profile = stack = None
    if use_flags:
        root = ctx.find_root().params
        profile = (ctx.params.get(profile_param) if profile_param else None) or root.get(
            "profile")
        stack = root.get("stack")
    client = Client(profile=profile or None, stack=stack or None, events=_ignore_event)
    if client.reads_would_write():
        return None  # the first read would create the default profile, or finish a crash
    return client


def _store_needs_repair(client: Client) -> bool:
    """A local store with a half-applied commit is repaired by its next reader."""
    return client.needs_repair()


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
        from click.shell_completion import CompletionItem

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
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]
