"""``mlrig <component-type> ...``: one group per component type, built by one factory."""

from __future__ import annotations

from typing import Any

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.args import AttributeCommand, AttributeNamesCommand, parse_attributes
from mlrig.cli.completers import component_names, flavor_names, profile_names
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

    _add_lifecycle_commands(group, flavor, type_)  # update, remove-attribute, rename, ...
    return group


EXPLANATIONS: dict[ComponentType, str] = {
    ComponentType.ORCHESTRATOR: (
        "An orchestrator runs pipelines: it decides where and in which order each step "
        "runs (in this process, in containers, on a cluster). Every stack has exactly one."),
    ComponentType.METADATA_STORE: (
        "A metadata store records what happened: pipeline runs, steps, their parameters and "
        "the artifacts they produced. Every stack has exactly one."),
    ComponentType.ARTIFACT_STORE: (
        "An artifact store keeps the data that steps produce and consume (datasets, models, "
        "reports), in a directory or a bucket. Every stack has exactly one."),
    ComponentType.CONTAINER_REGISTRY: (
        "A container registry holds the images that containerised orchestrators and step "
        "operators run. Optional."),
    ComponentType.STEP_OPERATOR: (
        "A step operator runs individual steps on dedicated infrastructure (for example a "
        "GPU machine) while the rest of the pipeline runs on the orchestrator. Optional."),
    ComponentType.SECRETS_MANAGER: (
        "A secrets manager stores credentials that other components and steps reference, so "
        "they stay out of component configurations. Optional."),
    ComponentType.FEATURE_STORE: (
        "A feature store serves features for training and inference. Optional."),
    ComponentType.MODEL_DEPLOYER: (
        "A model deployer serves trained models behind an endpoint and manages those "
        "deployments. Optional."),
    ComponentType.EXPERIMENT_TRACKER: (
        "An experiment tracker logs parameters, metrics and models of runs for comparison. "
        "Optional."),
    ComponentType.ALERTER: (
        "An alerter sends messages (for example to a chat channel) from pipelines. Optional."),
    ComponentType.DATA_VALIDATOR: (
        "A data validator checks data quality and drift in pipeline steps. Optional."),
    ComponentType.ANNOTATOR: (
        "An annotator connects pipelines to a data labelling tool. Optional."),
}

_extra = {"ignore_unknown_options": True, "allow_extra_args": True}


def _add_lifecycle_commands(group: click.Group, flavor: click.Group, type_: ComponentType) -> None:
    display, plural = type_.display_name, type_.plural.replace("_", " ")
    a_display = ("an " if display[0] in "aeiou" else "a ") + display

    @group.command("update", cls=AttributeCommand, context_settings=_extra,
                   help=f"Change attributes of {a_display} (--key=value; a value @FILE is read "
                   "from FILE). The result is validated by the flavor's schema.")
    @click.argument("name", shell_complete=component_names(type_))
    @click.argument("attributes", nargs=-1, type=click.UNPROCESSED)
    @pass_state
    def update(state: State, name: str, attributes: tuple[str, ...]) -> None:
        values = parse_attributes(attributes)
        state.banner(check_stack=False)
        state.client.update_component(type_, name, values)
        click.echo(f"Successfully updated {display} '{name}'.")

    @group.command("remove-attribute", cls=AttributeNamesCommand, context_settings=_extra,
                   help=f"Reset optional attributes of {a_display} to their default "
                   "(ATTRIBUTE or --ATTRIBUTE; required attributes cannot be removed).")
    @click.argument("name", shell_complete=component_names(type_))
    @click.argument("attributes", nargs=-1, required=True, type=click.UNPROCESSED)
    @pass_state
    def remove_attribute(state: State, name: str, attributes: tuple[str, ...]) -> None:
        state.banner(check_stack=False)
        state.client.remove_component_attributes(type_, name, attributes)
        shown = ", ".join(f"'{a.lstrip('-')}'" for a in attributes)
        click.echo(f"Successfully removed {shown} from {display} '{name}'.")

    @group.command("rename", help=f"Rename {a_display}; the stacks that use it follow.")
    @click.argument("current_name", shell_complete=component_names(type_))
    @click.argument("new_name")
    @pass_state
    def rename(state: State, current_name: str, new_name: str) -> None:
        state.banner(check_stack=False)
        state.client.rename_component(type_, current_name, new_name)
        click.echo(f"Successfully renamed {display} '{current_name}' to '{new_name}'.")

    @group.command("copy", help=f"Copy {a_display} under a new name (and a new id), "
                   "possibly to another profile.")
    @click.argument("source", shell_complete=component_names(
        type_, profile_param="from_profile"))
    @click.argument("target")
    @click.option("--from", "from_profile", metavar="PROFILE", shell_complete=profile_names,
                  help="Profile to copy from (default: the active one).")
    @click.option("--to", "to_profile", metavar="PROFILE", shell_complete=profile_names,
                  help="Profile to copy to (default: the active one).")
    @pass_state
    def copy(state: State, source: str, target: str, from_profile: str | None,
             to_profile: str | None) -> None:
        state.banner(check_stack=False)
        state.client.copy_component(type_, source, target, from_profile=from_profile,
                                    to_profile=to_profile)
        where = f" in profile '{to_profile}'" if to_profile else ""
        click.echo(f"Successfully copied {display} '{source}' to '{target}'{where}.")

    @group.command("explain", help=f"Explain what {plural} are and list their flavors.")
    @output_option
    @pass_state
    def explain(state: State, output: str) -> None:
        info = state.client.explain_component_type(type_)
        info["explanation"] = EXPLANATIONS[type_]
        if output != "table":
            emit_data(output, "explanation", info)
            return
        title = f"{plural[:1].upper()}{plural[1:]}"
        click.echo(f"{title}\n{'=' * len(title)}\n\n{EXPLANATIONS[type_]}\n")
        rows = []
        for f in info["flavors"]:
            attrs = ", ".join(
                name + ("*" if a["required"] else "") + (" (secret)" if a["secret"] else "")
                for name, a in f["attributes"].items())
            rows.append([f["flavor"], f["origin"], f["description"], attrs or "-"])
        print_table(["FLAVOR", "ORIGIN", "DESCRIPTION", "ATTRIBUTES (* = required)"], rows,
                    center_first=False, fold=True)
        click.echo(f"\nRegister one with: mlrig {type_.cli_name} register NAME --flavor FLAVOR "
                   "--ATTRIBUTE=VALUE ...")

    @flavor.command("register", help=f"Register a custom flavor of {plural} in the active "
                    "profile: SOURCE is the dotted path of a mlrig.flavors.base.Flavor "
                    "subclass (package.module.ClassName) that must be importable.")
    @click.argument("source")
    @pass_state
    def flavor_register(state: State, source: str) -> None:
        state.banner(check_stack=False)
        record = state.client.register_flavor(type_, source)
        click.echo(f"Successfully registered new flavor '{record.name}' for stack component "
                   f"'{type_.value}'.")

    @flavor.command("delete", help=f"Delete a custom flavor of {plural} from the active "
                    "profile (refused while a component uses it).")
    @click.argument("name", shell_complete=flavor_names(type_, custom_only=True))
    @pass_state
    def flavor_delete(state: State, name: str) -> None:
        state.banner(check_stack=False)
        state.client.delete_flavor(type_, name)
        click.echo(f"Deleted flavor '{name}' of {plural}.")


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
