"""Rendering: rich tables in the spec's look, JSON and YAML with the same fields.

rich is imported only when a table must be cut or folded, click only by what echoes or
declares options with it (``mlrig status`` draws its table without either).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlrig.events import Event

FORMATS = ("table", "json", "yaml")
ACTIVE_MARK = "👉"
ASCII_ACTIVE_MARK = "*"


def output_option(func: Any) -> Any:
    import click

    return click.option(
        "--output", "-o", "output", type=click.Choice(FORMATS, case_sensitive=False),
        default="table", show_default=True,
        help="Output format; json and yaml carry the same fields (see docs/output.md).",
    )(func)


def emit_data(fmt: str, key: str, data: Any) -> None:
    """Write ``{"format_version": ..., key: data}`` as JSON or YAML to stdout."""
    from mlrig.client import FORMAT_VERSION

    emit_document(fmt, {"format_version": FORMAT_VERSION, key: data})


def emit_document(fmt: str, document: dict[str, Any]) -> None:
    """Write a document the core built (:mod:`mlrig.core.documents`) as JSON or YAML."""
    import click

    if fmt == "json":
        import json

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
    ``fold``, for values such as paths that must be read whole).

    When stdout is not a terminal (a pipe, a file), nothing is cut: the table takes the
    width it needs, so a URL or a path is read whole by whoever reads the file. An output
    encoding that cannot show the table's characters (``PYTHONIOENCODING=ascii``) gets an
    ASCII table and ``*`` for the active mark.
    """
    from mlrig.cli import tables

    unicode = can_encode("┏━┃👉…")
    cells = [["" if cell is None else _cell(cell, unicode) for cell in row] for row in rows]
    terminal = sys.stdout.isatty()
    # a table that fits (off a terminal nothing is cut) is drawn in one pass, no layout
    text = tables.render(columns, cells, box=tables.HEAVY_EDGE if unicode else tables.ASCII,
                         center_first=center_first, title=title, caption=caption,
                         styled=terminal and os.environ.get("TERM") not in ("dumb", "unknown"),
                         max_width=_terminal_width() if terminal else None)
    if text is not None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _print_rich_table(columns, cells, title=title, caption=caption, center_first=center_first,
                      fold=fold, unicode=unicode)


def print_status(info: dict[str, Any]) -> None:
    """The table of ``mlrig status`` (``info``: :meth:`mlrig.client.Client.status`)."""
    rows: list[list[Any]] = []
    for what in ("profile", "stack"):
        choice = info[what]
        if choice is None:
            rows.append([what.upper(), "(none)", "", "not set"])
            continue
        name = choice["name"] + ("" if choice["exists"] is not False else " (MISSING)")
        rows.append([what.upper(), name, choice["scope"], choice["source"]])
        rows.extend(["  overrides", o["name"], o["scope"], o["source"]]
                    for o in choice["overrides"])
    print_table(["", "NAME", "SCOPE", "SET BY"], rows, title="Active profile and stack",
                caption=f"repository: {info['repository'] or 'none'}",
                center_first=False, fold=True)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size().columns


def _print_rich_table(columns: Sequence[str], rows: Sequence[Sequence[str]], *,
                      title: str | None, caption: str | None, center_first: bool, fold: bool,
                      unicode: bool) -> None:
    """A table that must be cut or folded to fit (or whose title must be wrapped): rich
    shares the width out among the columns."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.HEAVY_EDGE if unicode else box.ASCII, title=title,
                  caption=caption, show_lines=False, safe_box=not unicode)
    for index, column in enumerate(columns):
        table.add_column(column, justify="center" if index == 0 and center_first else "left",
                         overflow="fold" if fold else "ellipsis")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # a cell's text is never markup
    console = Console(soft_wrap=False, emoji=False, highlight=False)
    if not console.is_terminal:
        # room for the table's natural width (it does not expand to fill it)
        console.width = max(console.width, _OFF_TERMINAL_WIDTH)
    console.print(table)


#: the width a table may take when it is not drawn on a terminal: enough for any value
_OFF_TERMINAL_WIDTH = 100_000


def _cell(value: Any, unicode: bool) -> str:
    text = str(value)
    if not unicode:
        text = text.replace(ACTIVE_MARK, ASCII_ACTIVE_MARK)
        encoding = _stdout_encoding()
        text = text.encode(encoding, "backslashreplace").decode(encoding)
    return text


def _stdout_encoding() -> str:
    return getattr(sys.stdout, "encoding", None) or "utf-8"


def can_encode(text: str) -> bool:
    """Whether stdout's encoding can show ``text``."""
    try:
        text.encode(_stdout_encoding())
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def mark(active: bool) -> str:
    return ACTIVE_MARK if active else ""


def no_color() -> bool:
    """NO_COLOR (https://no-color.org): set and not empty means no colors anywhere."""
    return bool(os.environ.get("NO_COLOR"))


def colored(text: str, fg: str) -> str:
    import click

    return text if no_color() else click.style(text, fg=fg)


def echo_err(message: str) -> None:
    import click

    click.echo(message, err=True)


def warn(message: str) -> None:
    import click

    click.echo(colored(f"Warning: {message}", "yellow"), err=True)


def print_event(event: Event) -> None:
    """What the core reports, on stderr: its sentence (:attr:`~mlrig.events.Event.message`),
    a warning in yellow after ``Warning:``."""
    from mlrig.events import WARNING

    (warn if event.level == WARNING else echo_err)(event.message)


def confirm_or_refuse(question: str, *, refused: str, canceled: str) -> None:
    """Ask ``question`` on the terminal; no answer (standard input closed, as in a script
    without ``--yes``) refuses with one line, a "no" cancels. Both exit 1, nothing done."""
    import click

    from mlrig.exceptions import InputError

    try:
        confirmed = click.confirm(question, default=False, err=True)
    except click.Abort:
        click.echo(err=True)  # end the prompt's line
        raise InputError(f"{refused}: standard input is closed, so nothing was confirmed.",
                         hint="Pass --yes (-y) to confirm without a prompt.") from None
    if not confirmed:
        click.echo(canceled, err=True)
        raise click.exceptions.Exit(1)


def ask_secret(prompt: str) -> str:
    """A password or token: asked without echo on a terminal, else the first line of the
    standard input (so that scripts can pipe it, without a warning about echo)."""
    import sys

    import click

    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, err=True))
    return sys.stdin.readline(64 * 1024).rstrip("\r\n")


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
