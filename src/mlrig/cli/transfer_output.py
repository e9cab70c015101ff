"""Pieces shared by the copy/export/import commands: the ``--secret`` option, bundle output
and the rendering of a transfer plan (``--dry-run``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from mlrig.cli.output import echo_err, emit_data, print_table, warn
from mlrig.exceptions import UsageError
from mlrig.models import ComponentType


def secret_option(func: Any) -> Any:
    return click.option(
        "--secret", "secrets", multiple=True, metavar="TYPE/NAME/ATTR=VALUE",
        help="Value of a secret attribute the bundle leaves out, e.g. "
        "alerter/slack/slack_token=@token.txt (VALUE @FILE reads FILE). Repeatable.",
    )(func)


def parse_secrets(values: tuple[str, ...]) -> dict[tuple[ComponentType, str], dict[str, str]]:
    """``("alerter/slack/slack_token=x",)`` -> ``{(ALERTER, "slack"): {"slack_token": "x"}}``."""
    from mlrig.cli.args import parse_attributes

    result: dict[tuple[ComponentType, str], dict[str, str]] = {}
    for value in values:
        path, sep, raw = value.partition("=")
        parts = path.split("/")
        if not sep or len(parts) != 3 or not all(parts):
            raise UsageError(f"Invalid --secret {path!r}: use TYPE/NAME/ATTRIBUTE=VALUE "
                             "(for example alerter/slack/slack_token=@token.txt).")
        type_ = ComponentType.parse(parts[0])
        parsed = parse_attributes([f"--{parts[2]}={raw}"])
        result.setdefault((type_, parts[1]), {}).update(parsed)
    return result


def show_plan(data: Mapping[str, Any], output: str, title: str) -> None:
    """Print what an import or copy would do."""
    if output != "table":
        emit_data(output, "plan", dict(data))
        return
    rows = []
    for action in data["actions"]:
        name = action["name"]
        if action["source_name"] != name:
            name = f"{action['source_name']} → {name}"
        kind = action["kind"] if action["type"] is None else f"{action['kind']} ({action['type']})"
        rows.append([action["action"].upper(), kind, name, action["detail"]])
    print_table(["ACTION", "OBJECT", "NAME", "DETAIL"], rows, title=title, center_first=False,
                fold=True)
    for problem in data["problems"]:
        echo_err(f"Problem: {problem}")
    for note in data.get("notes", []):
        echo_err(f"Note: {note}")


def emit_export(kind: str, name: str, filename: str | None, include_secrets: bool, *,
                bundle: Callable[[], Any], export: Callable[[], Path]) -> None:
    """Write a stack/profile bundle to stdout ('-') or a file, and say what happened."""
    if filename == "-":
        click.echo(bundle().to_yaml(), nl=False)
        return
    path = export()
    click.echo(f"Exported {kind} '{name}' to file '{path}'.")
    if include_secrets:
        warn(f"'{path}' holds secret values; keep it private.")
