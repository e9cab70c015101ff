"""``mlrig secret register|get|list|update|delete``: the secrets of the active stack's
secrets manager. Values are shown as ``********`` unless ``--show-values`` asks."""

from __future__ import annotations

import re
from pathlib import Path

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.args import AttributeCommand, _expand
from mlrig.cli.output import confirm_or_refuse, emit_document, output_option, print_table, warn
from mlrig.exceptions import InputError, UsageError

_VALUE = re.compile(r"^--([A-Za-z0-9_][A-Za-z0-9_\-]*)=(.*)$", re.DOTALL)
_MAX_VALUES_FILE = 1024 * 1024
_extra = {"ignore_unknown_options": True, "allow_extra_args": True}


class _ValuesCommand(AttributeCommand):
    expected = "secret values must look like --KEY=VALUE (for example --password=@pw.txt)"


def _values(args: tuple[str, ...], values_file: Path | None) -> dict[str, str]:
    """``--KEY=VALUE`` arguments (a value ``@FILE`` is read from FILE, ``@@`` is a literal
    ``@``), on top of the mapping of ``--values-file``. Keys are kept as typed."""
    values = _read_values_file(values_file) if values_file is not None else {}
    given: set[str] = set()
    for arg in args:
        match = _VALUE.match(arg)
        if match is None:
            # never echo what follows '=': it is a secret value
            shown = arg.split("=", 1)[0] + "=..." if "=" in arg else arg
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise UsageError(f"Unexpected argument {shown!r}: {_ValuesCommand.expected}.")
        key = match.group(1)
        if key in given:
            raise UsageError(f"The key '{key}' is given more than once.")
        given.add(key)
        values[key] = _expand(match.group(2), key)
    return values


def _read_values_file(path: Path) -> dict[str, str]:
    from mlrig.fsutil import parse_yaml, read_bytes

    try:
        raw, _ = read_bytes(path.expanduser(), _MAX_VALUES_FILE)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"The values file '{path}' does not exist.") from None
    except UnicodeDecodeError:
        raise InputError(f"The values file '{path}' is not UTF-8 text.") from None
    except OSError as exc:
        raise InputError(f"Cannot read the values file '{path}': {exc.strerror or exc}.") \
            from None
    data = parse_yaml(text, path)
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float)) and not isinstance(v, bool)
            for k, v in data.items()):
        raise InputError(f"The values file '{path}' must be a YAML or JSON mapping of keys "
                         "to string values.")
    return {k: str(v) for k, v in data.items()}


_values_file = click.option(
    "--values-file", "values_file", type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE", help="Read keys and values from a YAML or JSON mapping in FILE.")


@click.group(help="Secrets of the active stack's secrets manager. A component attribute "
             "'{{NAME.KEY}}' refers to one; it is resolved only when a run needs it.")
def secret() -> None:
    pass


@secret.command("register", cls=_ValuesCommand, context_settings=_extra,
                help="Register a secret: --KEY=VALUE for each key (VALUE @FILE reads FILE), "
                "or --values-file FILE.")
@click.argument("name")
@_values_file
@click.argument("values", nargs=-1, type=click.UNPROCESSED)
@pass_state
def register(state: State, name: str, values_file: Path | None, values: tuple[str, ...]
             ) -> None:
    parsed = _values(values, values_file)
    state.banner()
    state.client.register_secret(name, parsed)
    click.echo(f"Successfully registered secret '{name}'.")


@secret.command("get", help="Show a secret's keys; values masked unless --show-values.")
@click.argument("name")
@click.option("--show-values", is_flag=True, help="Show the values instead of ********.")
@output_option
@pass_state
def get(state: State, name: str, show_values: bool, output: str) -> None:
    state.banner()
    document = state.client.secret_document(name, show_values)
    if output != "table":
        emit_document(output, document)
        return
    data = document["secret"]
    print_table(["SECRET_KEY", "SECRET_VALUE"], [[k, v] for k, v in data["values"].items()],
                title=f"Secret '{name}' ({data['secrets_manager']})", center_first=False,
                fold=show_values)


@secret.command("list", help="List the secrets of the active stack's secrets manager.")
@output_option
@pass_state
def list_(state: State, output: str) -> None:
    state.banner()
    document = state.client.secrets_document()
    if output != "table":
        emit_document(output, document)
        return
    entries = document["secrets"]
    if not entries:
        warn("No secrets registered.")
        return
    print_table(["SECRET_NAME", "KEYS"], [[e["name"], ", ".join(e["keys"])] for e in entries],
                center_first=False, fold=True)


@secret.command("update", cls=_ValuesCommand, context_settings=_extra,
                help="Set keys of a secret (--KEY=VALUE, or --values-file FILE) and remove "
                "keys (--remove KEY); other keys are kept.")
@click.argument("name")
@_values_file
@click.option("--remove", "remove", multiple=True, metavar="KEY",
              help="Remove this key (repeatable).")
@click.argument("values", nargs=-1, type=click.UNPROCESSED)
@pass_state
def update(state: State, name: str, values_file: Path | None, remove: tuple[str, ...],
           values: tuple[str, ...]) -> None:
    parsed = _values(values, values_file)
    state.banner()
    state.client.update_secret(name, parsed, remove)
    click.echo(f"Successfully updated secret '{name}'.")


@secret.command("delete", help="Delete a secret.")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def delete(state: State, name: str, yes: bool) -> None:
    state.banner()
    client = state.client
    client.get_secret(name)  # refuse a missing one before asking
    if not yes:
        confirm_or_refuse(f"This will delete secret '{name}'.\nAre you sure you want to "
                          "proceed?", refused=f"Not deleting secret '{name}'",
                          canceled="Secret deletion canceled.")
    client.delete_secret(name)
    click.echo(f"Deleted secret '{name}'.")
