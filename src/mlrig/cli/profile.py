"""``mlrig profile ...``: create, list, describe, set, delete, rename, copy, export, import,
migrate and the commands that print the active profile."""

from __future__ import annotations

from typing import Any

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.completers import file_names, profile_names
from mlrig.cli.output import (
    ask_secret,
    confirm_or_refuse,
    echo_err,
    emit_data,
    mark,
    output_option,
    print_table,
    stdout_is_tty,
    warn,
)
from mlrig.cli.rest_options import token_options
from mlrig.cli.shell import detect_shell, eval_hint, export_lines, use_options
from mlrig.cli.transfer_output import emit_export, parse_secrets, secret_option, show_plan

STORE_TYPE_HELP = ("Store type: local (YAML files), sql (SQLite/PostgreSQL/MySQL) or rest "
                   "(an mlrig server).")


@click.group()
def profile() -> None:
    """Manage profiles: isolated stores of stacks, components and flavors."""


def password_options(func: Any) -> Any:
    """``--password-env`` / ``--password-file``: where a SQL store's password comes from."""
    func = click.option(
        "--password-file", "password_file", metavar="PATH",
        help="SQL store: read the database password from this file at connect time.",
    )(func)
    return click.option(
        "--password-env", "password_env", metavar="VAR",
        help="SQL store: read the database password from this environment variable at "
        "connect time (keep it out of the URL and config.yaml).",
    )(func)


@profile.command("create")
@click.argument("name")
@click.option("--url", "-u", help="Store URL (default: a store inside the config directory).")
@click.option("--store-type", "-t", "store_type", help=STORE_TYPE_HELP)
@password_options
@token_options
@click.option("--user", "user", metavar="NAME",
              help="rest store: log in as this user (asks for the password) instead of "
              "giving a token; the server's 12-hour token is kept as with 'mlrig login'.")
@pass_state
def create(state: State, name: str, *, url: str | None, store_type: str | None,
           password_env: str | None, password_file: str | None, token_env: str | None,
           token_file: str | None, ca_bundle: str | None, timeout: str | None,
           user: str | None) -> None:
    """Create a profile and initialise its store (or attach to an existing store)."""
    state.banner(strict=False)
    password = ask_secret("Password") if user is not None else None
    state.client.create_profile(name, store_type=store_type, url=url,
                                options={"password_env": password_env,
                                         "password_file": password_file,
                                         "token_env": token_env, "token_file": token_file,
                                         "ca_bundle": ca_bundle, "timeout": timeout},
                                user=user, password=password)
    click.echo(f"Profile '{name}' successfully created.")


@profile.command("migrate")
@click.argument("name", shell_complete=profile_names)
@click.option("--to-store-type", "-t", "to_store_type", required=True, metavar="TYPE",
              help="The store type to move the profile to (as for 'profile create').")
@click.option("--url", "-u", help="URL of the new store (default: the default place of that "
              "store type in the config directory).")
@password_options
@token_options
@pass_state
def migrate(state: State, name: str, *, to_store_type: str, url: str | None,
            password_env: str | None, password_file: str | None, token_env: str | None,
            token_file: str | None, ca_bundle: str | None, timeout: str | None) -> None:
    """Move a profile with all its stacks, components and flavors to another store."""
    state.banner(strict=False)
    result = state.client.migrate_profile(
        name, to_store_type, url=url,
        options={"password_env": password_env, "password_file": password_file,
                 "token_env": token_env, "token_file": token_file, "ca_bundle": ca_bundle,
                 "timeout": timeout})
    click.echo(f"Profile '{name}' migrated to the {result.new_store_type} store at "
               f"{result.new_url}.")


@profile.command("list")
@output_option
@pass_state
def list_(state: State, output: str) -> None:
    """List all profiles; 👉 marks the active one."""
    state.banner(strict=False)
    profiles = state.client.list_profiles()
    if output != "table":
        emit_data(output, "profiles", [p.to_dict() for p in profiles])
        return
    if not profiles:
        warn("No profiles configured!")
        return
    print_table(
        ["ACTIVE", "PROFILE NAME", "STORE TYPE", "URL", "ACTIVE STACK"],
        [[mark(p.active), p.name, p.store_type, p.store_url, p.active_stack] for p in profiles],
    )


@profile.command("set")
@click.argument("name", shell_complete=profile_names)
@click.option("--global", "-g", "global_", is_flag=True,
              help="Set the global active profile even inside a repository.")
@pass_state
def set_(state: State, name: str, global_: bool) -> None:
    """Activate a profile (in this repository if you are in one, else globally)."""
    state.banner(strict=False)
    result = state.client.set_profile(name, global_=global_)
    where = "global " if global_ else ""
    if result.unchanged:
        click.echo(f"Profile '{name}' is already {'globally ' if global_ else ''}active.")
    else:
        click.echo(f"Active {where}profile changed to: '{name}'")
    if result.scope == "local" and not result.unchanged:
        if result.stack is None:
            click.echo(f"Profile '{name}' has no active stack: run 'mlrig stack set NAME' "
                       "to pin one in this repository.")
        else:
            click.echo(f"This repository now uses stack '{result.stack}': the active stack "
                       f"of profile '{name}'.")
    if result.scope == "local" and state.verbose:
        echo_err(f"Written to {result.path}")
    if result.shadowed_by is not None:
        warn(f"{result.shadowed_by.describe()} still selects profile "
             f"'{result.shadowed_by.name}' for this command's environment.")
    elif not result.unchanged and result.scope == "local":
        stack = state.client.stack_choice(strict=False)
        if stack is not None and stack.scope in ("flag", "environment"):
            warn(f"{stack.scope} ({stack.source}) still selects stack '{stack.name}' for "
                 "this command's environment.")


@profile.command("use")
@click.argument("name", shell_complete=profile_names)
@use_options
@pass_state
def use(state: State, name: str, for_shell: bool, shell_type: str | None) -> None:
    """Select a profile: for this shell only with --shell, else like 'profile set'.

    eval "$(mlrig profile use --shell NAME)" sets MLRIG_ACTIVE_PROFILE in this shell (and
    unsets MLRIG_ACTIVE_STACK, which belonged to the previous profile); other shells and the
    saved configuration are not touched.
    """
    if not for_shell:
        set_.callback(name=name, global_=False)  # type: ignore[misc]
        return
    state.client.get_profile(name)  # must exist
    shell = detect_shell(shell_type)
    click.echo(export_lines(shell, {"MLRIG_ACTIVE_PROFILE": name},
                            ("MLRIG_ACTIVE_STACK",)))
    if stdout_is_tty():
        echo_err(eval_hint("profile", name))


@profile.command("get")
@output_option
@pass_state
def get(state: State, output: str) -> None:
    """Print the active profile."""
    name = state.client.active_profile_name
    if output != "table":
        emit_data(output, "active_profile", name)
        return
    click.echo(f"Active profile is: {name}")


@profile.command("current")
@pass_state
def current(state: State) -> None:
    """Print only the active profile's name (fast; for shell prompts).

    A scope naming a profile that does not exist is an error, as everywhere."""
    click.echo(state.client.profile_choice().name)


@profile.command("describe")
@click.argument("name", required=False, shell_complete=profile_names)
@output_option
@pass_state
def describe(state: State, name: str | None, output: str) -> None:
    """Show a profile's configuration (the active one by default)."""
    state.banner(strict=name is None)
    info = state.client.describe_profile(name)
    if output != "table":
        emit_data(output, "profile", info)
        return
    title = f"'{info['name']}' Profile Configuration" + (" (ACTIVE)" if info["active"] else "")
    rows: list[list[Any]] = [
        ["NAME", info["name"]],
        ["STORE_URL", info["url"]],
        ["STORE_TYPE", info["store_type"]],
        ["ACTIVE_STACK", info["active_stack"]],
    ]
    print_table(["PROPERTY", "VALUE"], rows, title=title, center_first=False)


@profile.command("delete")
@click.argument("name", shell_complete=profile_names)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def delete(state: State, name: str, yes: bool) -> None:
    """Delete a profile (never the active one) and the store mlrig made for it."""
    state.banner(strict=False)
    client = state.client
    removes_store = client.check_profile_deletable(name)  # refuse before asking
    if not yes:
        from mlrig.stores import mask_url

        url = mask_url(client.get_profile(name).store_url)
        what = (f"and its store at {url}, with every stack and component in it"
                if removes_store else f"(its store at {url} is kept: it is not mlrig's own "
                "or another profile uses it)")
        confirm_or_refuse(
            f"This will delete profile '{name}' {what}.\nAre you sure you want to proceed?",
            refused=f"Not deleting profile '{name}'", canceled="Profile deletion canceled.")
    client.delete_profile(name)
    click.echo(f"Deleted profile '{name}'.")


@profile.command("explain")
@pass_state
def explain(state: State) -> None:
    """Explain what profiles are and how the active one is chosen."""
    from mlrig.cli.explain import PROFILE_EXPLANATION

    state.client.config()  # the first command of any kind creates the default profile
    click.echo(PROFILE_EXPLANATION)


NEW_STORE_TYPE_HELP = "Store type of the new profile: local, sql or rest."


@profile.command("rename")
@click.argument("current_name", shell_complete=profile_names)
@click.argument("new_name")
@pass_state
def rename(state: State, current_name: str, new_name: str) -> None:
    """Rename a profile: the global configuration, the current repository and the
    store directory mlrig made for it follow."""
    state.banner(strict=False)
    result = state.client.rename_profile(current_name, new_name)
    click.echo(f"Profile '{current_name}' successfully renamed to '{new_name}'.")
    if state.verbose:
        for path in result.updated:
            echo_err(f"Updated {path}")

@profile.command("copy")
@click.argument("source", shell_complete=profile_names)
@click.argument("target")
@click.option("--url", "-u", help="Store URL of the copy (default: a new store inside the "
              "config directory).")
@click.option("--store-type", "-t", "store_type", help=NEW_STORE_TYPE_HELP)
@token_options
@pass_state
def copy(state: State, source: str, target: str, url: str | None,
         store_type: str | None, **tokens: str | None) -> None:
    """Copy a profile with all its stacks, components, custom flavors and its active
    stack into a new store (by default of the same store type)."""
    state.banner(strict=False)
    state.client.copy_profile(source, target, store_type=store_type, url=url,
                              options=tokens)
    click.echo(f"Profile '{source}' successfully copied to '{target}'.")

@profile.command("export")
@click.argument("name", shell_complete=profile_names)
@click.argument("filename", required=False, shell_complete=file_names)
@click.option("--include-secrets", is_flag=True,
              help="Also export attributes the flavors mark secret (the file is then "
              "0600).")
@pass_state
def export(state: State, name: str, filename: str | None, include_secrets: bool) -> None:
    """Write a whole profile (stacks, components, custom flavors, active stack) to one
    YAML bundle (default NAME.yaml; '-' for stdout)."""
    state.banner(strict=False)
    client = state.client
    emit_export("profile", name, filename, include_secrets,
                bundle=lambda: client.profile_bundle(name, include_secrets),
                export=lambda: client.export_profile(name, filename,
                                              include_secrets=include_secrets))

@profile.command("import")
@click.argument("filename", shell_complete=file_names)
@click.argument("name", required=False)
@click.option("--rename", "rename_if_exists", is_flag=True,
              help="If a profile of that name exists, import as NAME-2 (-3, ...) instead "
              "of refusing.")
@click.option("--url", "-u", help="Store URL of the new profile.")
@click.option("--store-type", "-t", "store_type", help=NEW_STORE_TYPE_HELP)
@click.option("--dry-run", is_flag=True, help="Only show what would be created.")
@secret_option
@output_option
@token_options
@pass_state
def import_(state: State, *, filename: str, name: str | None, rename_if_exists: bool,
            url: str | None, store_type: str | None, dry_run: bool,
            secrets: tuple[str, ...], output: str, **tokens: str | None) -> None:
    """Create a profile (named NAME, or as in the bundle) from a bundle written by
    'mlrig profile export': all of it, or nothing."""
    given = parse_secrets(secrets)
    state.banner(strict=False)
    client = state.client
    if dry_run:
        plan = client.plan_profile_import(filename, name,
                                          rename_if_exists=rename_if_exists,
                                          store_type=store_type, url=url, secrets=given)
        data = plan.to_dict()
        if output == "table":
            renamed = (f" (the name '{plan.requested_name}' is taken)"
                       if plan.name != plan.requested_name else "")
            echo_err(f"Would create profile '{plan.name}'{renamed} with a "
                     f"{plan.store_type} store at {data['url']}; active stack: "
                     f"{plan.active_stack or '-'}.")
        show_plan(data, output, f"Import of profile '{plan.name}' from '{filename}'")
        plan.transfer.raise_if_refused(rename_hint=False)
        return
    created = client.import_profile(filename, name, rename_if_exists=rename_if_exists,
                                    store_type=store_type, url=url, secrets=given,
                                    options=tokens)
    click.echo(f"Profile '{created.name}' successfully imported from '{filename}'.")
