"""``mlrig stack ...``"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.completers import (
    component_names,
    file_names,
    profile_names,
    source_stack_names,
    stack_names,
)
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
from mlrig.cli.transfer_output import emit_export, parse_secrets, secret_option, show_plan
from mlrig.exceptions import UsageError
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


_rename_conflicts = click.option(
    "--rename-conflicts", is_flag=True,
    help="Give a component that exists in the target with a different configuration a new "
    "name (NAME-2, ...) instead of refusing.")
_use_existing = click.option(
    "--use-existing", is_flag=True,
    help="Use the target profile's component of the same type and name where it is "
    "configured differently, instead of refusing (nothing is copied for it).")
_dry_run = click.option("--dry-run", is_flag=True,
                        help="Only show what would be created, reused or in conflict.")
_include_secrets = click.option(
    "--include-secrets", is_flag=True,
    help="Also export attributes the flavor marks secret (the file is then 0600).")


def _one_way_out(rename_conflicts: bool, use_existing: bool) -> None:
    if rename_conflicts and use_existing:
        raise UsageError("Give --rename-conflicts or --use-existing, not both: a conflicting "
                         "component is either copied under a new name or replaced by the "
                         "target's.")


def optional_type_flags(func: Any) -> Any:
    """One boolean flag per optional component type: ``-c/--container-registry`` ..."""
    for type_ in reversed([t for t in ComponentType if not t.mandatory]):
        names = [type_.short_option, f"--{type_.cli_name}"]
        if "_" in type_.value:
            names.append(f"--{type_.value}")
        func = click.option(*names, type_.value, is_flag=True,
                            help=f"Remove the {type_.display_name}.")(func)
    return func


@stack.command("update")
@click.argument("name", required=False, shell_complete=stack_names)
@component_options(False)
@pass_state
def update(state: State, name: str | None, **components: str | None) -> None:
    """Replace components of a stack (the active one by default)."""
    state.banner(check_stack=name is None)
    updated = state.client.update_stack(name, components)
    click.echo(f"Stack '{updated.name}' successfully updated!")

@stack.command("remove-component")
@click.argument("name", required=False, shell_complete=stack_names)
@optional_type_flags
@pass_state
def remove_component(state: State, name: str | None, **flags: bool) -> None:
    """Remove optional components from a stack (the active one by default); the
    orchestrator, metadata store and artifact store cannot be removed."""
    types = [ComponentType(t) for t, on in flags.items() if on]
    if not types:
        raise UsageError("Name at least one component type to remove, "
                         "e.g. --container-registry.")
    state.banner(check_stack=name is None)
    updated, removed = state.client.remove_stack_components(name, types)
    if removed:
        names = ", ".join(t.display_name for t in removed)
        click.echo(f"Stack '{updated.name}' successfully updated! Removed: {names}.")
    else:
        click.echo(f"Stack '{updated.name}' unchanged.")

@stack.command("rename")
@click.argument("current_name", shell_complete=stack_names)
@click.argument("new_name")
@pass_state
def rename(state: State, current_name: str, new_name: str) -> None:
    """Rename a stack; the active-stack settings that name it follow."""
    state.banner(check_stack=False)
    result = state.client.rename_stack(current_name, new_name)
    click.echo(f"Stack '{current_name}' successfully renamed as '{new_name}'!")
    if state.verbose:
        for path in result.updated:
            echo_err(f"Updated {path}")

@stack.command("copy")
@click.argument("source", shell_complete=source_stack_names)
@click.argument("target")
@click.option("--from", "from_profile", metavar="PROFILE", shell_complete=profile_names,
              help="Profile to copy from (default: the active one).")
@click.option("--to", "to_profile", metavar="PROFILE", shell_complete=profile_names,
              help="Profile to copy to (default: the active one).")
@_rename_conflicts
@_use_existing
@_dry_run
@output_option
@pass_state
def copy(state: State, *, source: str, target: str, from_profile: str | None,
         to_profile: str | None, rename_conflicts: bool, use_existing: bool,
         dry_run: bool, output: str) -> None:
    """Copy a stack, with its components and custom flavors, possibly to another
    profile. Identical components in the target are reused; the source profile's
    default components are replaced by the target profile's own."""
    _one_way_out(rename_conflicts, use_existing)
    state.banner(check_stack=False)
    client = state.client
    plan = client.copy_stack(source, target, from_profile=from_profile,
                             to_profile=to_profile, rename_conflicts=rename_conflicts,
                             use_existing=use_existing, dry_run=dry_run)
    if dry_run:
        show_plan(plan.to_dict(), output, f"Copy of stack '{source}' as '{target}'")
        plan.raise_if_refused()
        return
    where = f" in profile '{to_profile}'" if to_profile else ""
    click.echo(f"Stack '{source}' successfully copied to '{target}'{where}!")

@stack.command("export")
@click.argument("name", shell_complete=stack_names)
@click.argument("filename", required=False, shell_complete=file_names)
@_include_secrets
@pass_state
def export(state: State, name: str, filename: str | None, include_secrets: bool) -> None:
    """Write a stack, its components and their custom flavors to a YAML file
    (default NAME.yaml; '-' for stdout). Secret attributes are left out unless
    --include-secrets."""
    state.banner(check_stack=False)
    client = state.client
    emit_export("stack", name, filename, include_secrets,
                bundle=lambda: client.stack_bundle(name, include_secrets),
                export=lambda: client.export_stack(name, filename,
                                            include_secrets=include_secrets))

@stack.command("import")
@click.argument("args", nargs=-1, required=True, metavar="[NAME] FILENAME",
                shell_complete=file_names)
@_rename_conflicts
@_use_existing
@_dry_run
@secret_option
@output_option
@pass_state
def import_(state: State, *, args: tuple[str, ...], rename_conflicts: bool,
            use_existing: bool, dry_run: bool, secrets: tuple[str, ...],
            output: str) -> None:
    """Register a stack exported with 'mlrig stack export' (as NAME if given), with its
    components and flavors: all of it, or nothing. The exporting profile's default
    components are replaced by this profile's own."""
    if len(args) > 2:
        raise UsageError("Give at most a stack NAME and a FILENAME.")
    _one_way_out(rename_conflicts, use_existing)
    name, filename = (None, args[0]) if len(args) == 1 else (args[0], args[1])
    given = parse_secrets(secrets)
    state.banner(check_stack=False)
    client = state.client
    if dry_run:
        bundle, plan = client.plan_stack_import(filename, name,
                                                rename_conflicts=rename_conflicts,
                                                use_existing=use_existing,
                                                secrets=given)
        show_plan(plan.to_dict(), output,
                  f"Import of stack '{name or bundle.stack.name}' from '{filename}'")
        plan.raise_if_refused()
        return
    plan = client.import_stack(filename, name, rename_conflicts=rename_conflicts,
                               use_existing=use_existing, secrets=given)
    stack_name = plan.new_stacks[0].name
    click.echo(f"Stack '{stack_name}' successfully imported from '{filename}'!")
