"""``mlrig stack ...``"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.completers import component_names, stack_names
from mlrig.cli.output import (
    confirm_or_refuse,
    echo_err,
    emit_data,
    emit_document,
    mark,
    output_option,
    print_table,
    stdout_is_tty,
    warn,
)
from mlrig.cli.shell import detect_shell, eval_hint, export_lines, use_options
from mlrig.models import ComponentType


def component_options(required_mandatory: bool) -> Callable[[Any], Any]:
    """One option per component type: ``-o/--orchestrator`` ... ``-an/--annotator``."""

    def decorate(func: Any) -> Any:
        for type_ in reversed(list(ComponentType)):
            names = [type_.short_option, f"--{type_.cli_name}"]
            if "_" in type_.value:
                names.append(f"--{type_.value}")
            func = click.option(
                *names, type_.value, metavar="NAME",
                required=required_mandatory and type_.mandatory,
                shell_complete=component_names(type_),
                help=f"Name of the {type_.display_name}"
                + (" (mandatory)." if type_.mandatory and required_mandatory else "."),
            )(func)
        return func

    return decorate


@click.group()
def stack() -> None:
    """Manage stacks: named sets of components in the active profile."""


@stack.command("register")
@click.argument("name")
@component_options(required_mandatory=True)
@click.option("--set", "set_active", is_flag=True, help="Make the new stack active.")
@pass_state
def register(state: State, name: str, set_active: bool, **components: str | None) -> None:
    """Register a stack from registered components."""
    state.banner()
    state.client.register_stack(name, components, set_active=set_active)
    click.echo(f"Stack '{name}' successfully registered!")
    if set_active:
        click.echo(f"Active stack set to: '{name}'")


@stack.command("list")
@output_option
@pass_state
def list_(state: State, output: str) -> None:
    """List the stacks of the active profile; 👉 marks the active one."""
    state.banner(check_stack=False)
    client = state.client
    document = client.stacks_document()
    stacks = document["stacks"]
    choice = client.stack_choice(strict=False)
    if choice is not None and choice.name not in {s["name"] for s in stacks}:
        # still list (this is how one finds a stack to fix it with), but say so
        profile = client.profile_choice(strict=False).name
        warn(f"The active stack '{choice.name}' set by the {choice.scope} scope "
             f"({choice.source}) does not exist in profile '{profile}'; no stack is marked "
             "active.")
    if output != "table":
        emit_document(output, document)
        return
    if not stacks:
        raise click.ClickException("No stacks registered!")
    types = sorted({t for s in stacks for t in s["components"]})
    rows = [[mark(s["active"]), s["name"], *[s["components"].get(t, "") for t in types]]
            for s in stacks]
    print_table(["ACTIVE", "STACK NAME", *[t.upper() for t in types]], rows)


@stack.command("describe")
@click.argument("name", required=False, shell_complete=stack_names)
@output_option
@pass_state
def describe(state: State, name: str | None, output: str) -> None:
    """Show the components of a stack (the active one by default)."""
    state.banner()
    document = state.client.stack_document(name)
    if output != "table":
        emit_document(output, document)
        return
    target = document["stack"]
    rows = [[t.upper(), n] for t, n in target["components"].items()]
    print_table(
        ["COMPONENT_TYPE", "COMPONENT_NAME"], rows, title="Stack Configuration",
        caption=f"'{target['name']}' stack" + (" (ACTIVE)" if target["active"] else ""),
        center_first=False,
    )


def _set(state: State, name: str, global_: bool) -> None:
    result = state.client.set_stack(name, global_=global_)
    click.echo(f"Active {'global ' if global_ else ''}stack set to: '{name}'")
    if result.shadowed_by is not None:
        from mlrig.cli.output import warn

        warn(f"{result.shadowed_by.describe()} still selects stack "
             f"'{result.shadowed_by.name}' for this command's environment.")


@stack.command("set")
@click.argument("name", shell_complete=stack_names)
@click.option("--global", "-g", "global_", is_flag=True,
              help="Set the active profile's global active stack even inside a repository.")
@pass_state
def set_(state: State, name: str, global_: bool) -> None:
    """Activate a stack (in this repository if you are in one, else globally)."""
    state.banner(check_stack=False)
    _set(state, name, global_)


@stack.command("use")
@click.argument("name", shell_complete=stack_names)
@use_options
@pass_state
def use(state: State, name: str, for_shell: bool, shell_type: str | None) -> None:
    """Select a stack: for this shell only with --shell, else like 'stack set'.

    eval "$(mlrig stack use --shell NAME)" sets MLRIG_ACTIVE_STACK in this shell only; the
    stack must exist in the active profile.
    """
    if not for_shell:
        state.banner(check_stack=False)
        _set(state, name, global_=False)
        return
    state.client.check_stack_exists(name)
    shell = detect_shell(shell_type)
    click.echo(export_lines(shell, {"MLRIG_ACTIVE_STACK": name}))
    if stdout_is_tty():
        echo_err(eval_hint("stack", name))


@stack.command("get")
@output_option
@pass_state
def get(state: State, output: str) -> None:
    """Print the active stack."""
    name = state.client.active_stack_name
    if output != "table":
        emit_data(output, "active_stack", name)
        return
    click.echo(f"The active stack is: '{name}'")


@stack.command("current")
@pass_state
def current(state: State) -> None:
    """Print only the active stack's name (fast; for shell prompts).

    A scope naming a stack that does not exist is an error, as everywhere."""
    click.echo(state.client.active_stack_name)


@stack.command("delete")
@click.argument("name", shell_complete=stack_names)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def delete(state: State, name: str, yes: bool) -> None:
    """Delete a stack (never the active one); its components are kept."""
    state.banner(check_stack=False)
    client = state.client
    client.check_stack_deletable(name)  # refuse before asking
    if not yes:
        profile = client.profile_choice(strict=False).name
        confirm_or_refuse(
            f"This will delete stack '{name}' from profile '{profile}'.\n"
            "Are you sure you want to proceed?",
            refused=f"Not deleting stack '{name}'", canceled="Stack deletion canceled.")
    client.delete_stack(name)
    click.echo(f"Deleted stack '{name}'.")


def _add_lifecycle_commands() -> None:
    from mlrig.cli.stack_lifecycle import add_commands

    add_commands(stack, component_options)  # update, remove-component, rename, copy, ...


_add_lifecycle_commands()
