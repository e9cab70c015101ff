"""``mlrig <component-type> ...``: one group per component type, built by one factory."""

from __future__ import annotations

from typing import Any

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.args import AttributeCommand, parse_attributes
from mlrig.cli.completers import component_names, flavor_names
from mlrig.cli.output import emit_data, emit_document, mark, output_option, print_table, warn
from mlrig.models import ComponentType

_show_secrets = click.option("--show-secrets", is_flag=True,
                             help="Show values of secret attributes instead of ********.")


def make_group(type_: ComponentType) -> click.Group:
    display, plural = type_.display_name, type_.plural.replace("_", " ")
    a_display = ("an " if display[0] in "aeiou" else "a ") + display

    @click.group(name=type_.cli_name, help=f"Commands to interact with {plural}.")
    def group() -> None:
        pass

    @group.command(
        "register", cls=AttributeCommand,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        help=f"Register {a_display}. Attributes are given as --key=value; "
        "a value @FILE is read from FILE.",
    )
    @click.argument("name")
    @click.option("--flavor", "-f", shell_complete=flavor_names(type_),
                  help=f"Flavor of the {display} (see 'flavor list').")
    @click.argument("attributes", nargs=-1, type=click.UNPROCESSED)
    @pass_state
    def register(state: State, name: str, flavor: str | None,
                 attributes: tuple[str, ...]) -> None:
        values = parse_attributes(attributes)
        state.banner()
        state.client.register_component(type_, name, flavor or "", values)
        click.echo(f"Successfully registered {display} '{name}'.")

    @group.command("list", help=f"List the {plural} of the active profile.")
    @output_option
    @_show_secrets
    @pass_state
    def list_(state: State, output: str, show_secrets: bool) -> None:
        state.banner()
        document = state.client.components_document(type_, show_secrets)
        if output != "table":
            emit_document(output, document)
            return
        data = document[type_.plural]
        if not data:
            warn(f"No {plural} registered.")
            return
        rows = [[mark(d["active"]), d["name"], d["flavor"], d["id"][:8],
                 "\n".join(f"{k}={_cell(v)}" for k, v in d["config"].items())]
                for d in data]
        print_table(["ACTIVE", "NAME", "FLAVOR", "ID", "CONFIGURATION"], rows, fold=True)

    @group.command("describe", help=f"Show the configuration of {a_display}.")
    @click.argument("name", required=False, shell_complete=component_names(type_))
    @output_option
    @_show_secrets
    @pass_state
    def describe(state: State, name: str | None, output: str, show_secrets: bool) -> None:
        state.banner()
        client = state.client
        active = client.active_component(type_)
        if name is None:
            if active is None:
                raise click.ClickException(
                    f"No {display} set for the active stack; give a NAME."
                )
            click.echo(f"No component name given; using '{active}' from active stack.",
                       err=True)
        document = client.component_document(type_, name or active or "", show_secrets)
        if output != "table":
            emit_document(output, document)
            return
        data = document[type_.value]
        rows = [["TYPE", data["type"]], ["FLAVOR", data["flavor"]], ["NAME", data["name"]],
                ["ID", data["id"]]]
        rows += [[k.upper(), _cell(v)] for k, v in data["config"].items()]
        print_table(
            ["COMPONENT_PROPERTY", "VALUE"], rows,
            title=f"{type_.value.upper()} Component Configuration"
            + (" (ACTIVE)" if data["active"] else ""),
            center_first=False,
        )

    @group.command("get", help=f"Print the {display} of the active stack.")
    @output_option
    @pass_state
    def get(state: State, output: str) -> None:
        client = state.client
        name = client.active_component_name(type_)
        if output != "table":
            emit_data(output, f"active_{type_.value}", name)
            return
        if name is None:
            warn(f"No {display} set for active stack ('{client.active_stack_name}').")
            return
        click.echo(f"Active {display}: '{name}'")

    @group.command("delete", help=f"Delete {a_display} that no stack uses.")
    @click.argument("name", shell_complete=component_names(type_))
    @pass_state
    def delete(state: State, name: str) -> None:
        state.banner()
        state.client.delete_component(type_, name)
        click.echo(f"Deleted {display}: {name}")

    @group.group("flavor", help=f"Flavors of {plural}.")
    def flavor() -> None:
        pass

    @flavor.command("list", help=f"List the flavors available for {plural}.")
    @output_option
    @pass_state
    def flavor_list(state: State, output: str) -> None:
        state.banner()
        document = state.client.flavors_document(type_)
        if output != "table":
            emit_document(output, document)
            return
        data = document["flavors"]
        print_table(["FLAVOR", "SOURCE", "ORIGIN"],
                    [[d["flavor"], d["source"], d["origin"]] for d in data], center_first=False)

    from mlrig.cli.component_lifecycle import add_commands

    add_commands(group, flavor, type_)  # update, remove-attribute, rename, copy, explain, ...
    return group


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return str(value)


def __getattr__(name: str) -> click.Group:
    """``mlrig.cli.component.artifact_store`` -> the group, built on first access."""
    try:
        type_ = ComponentType(name)
    except ValueError:
        raise AttributeError(name) from None
    group = make_group(type_)
    globals()[name] = group
    return group
