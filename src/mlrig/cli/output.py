"""Rendering: rich tables in the spec's look, JSON and YAML with the same fields.

rich is imported only when a table is actually drawn.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

FORMAT_VERSION = 1
FORMATS = ("table", "json", "yaml")
ACTIVE_MARK = "👉"


def output_option(func: Any) -> Any:
    return click.option(
        "--output", "-o", "output", type=click.Choice(FORMATS, case_sensitive=False),
        default="table", show_default=True,
        help="Output format; json and yaml carry the same fields (see docs/output.md).",
    )(func)


def emit_data(fmt: str, key: str, data: Any) -> None:
    """Write ``{"format_version": 1, key: data}`` as JSON or YAML to stdout."""
    document = {"format_version": FORMAT_VERSION, key: data}
    if fmt == "json":
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        from mlrig.fsutil import dump_yaml

        click.echo(dump_yaml(document), nl=False)


def print_table(
    columns: Sequence[str],
    /,
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    caption: str | None = None,
    center_first: bool = True,
    fold: bool = False,
) -> None:
    """A heavy-edged table; long cells are cut with … (or folded onto more lines with
    ``fold``, for values such as paths that must be read whole)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.HEAVY_EDGE, title=title, caption=caption, show_lines=False)
    for index, column in enumerate(columns):
        table.add_column(column, justify="center" if index == 0 and center_first else "left",
                         overflow="fold" if fold else "ellipsis")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console(soft_wrap=False, emoji=False, highlight=False).print(table)


def mark(active: bool) -> str:
    return ACTIVE_MARK if active else ""


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def warn(message: str) -> None:
    click.echo(click.style(f"Warning: {message}", fg="yellow"), err=True)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
