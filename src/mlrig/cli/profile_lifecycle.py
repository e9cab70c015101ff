"""``mlrig profile rename | copy | export | import``.

Added to the ``profile`` group by :func:`add_commands` (called from :mod:`mlrig.cli.profile`).
"""

from __future__ import annotations

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.completers import file_names, profile_names
from mlrig.cli.output import echo_err, output_option
from mlrig.cli.rest_options import token_options
from mlrig.cli.transfer_output import emit_export, parse_secrets, secret_option, show_plan

STORE_TYPE_HELP = "Store type of the new profile: local, sql or rest."


def add_commands(profile: click.Group) -> None:
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
    @click.option("--store-type", "-t", "store_type", help=STORE_TYPE_HELP)
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
    @click.option("--store-type", "-t", "store_type", help=STORE_TYPE_HELP)
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
