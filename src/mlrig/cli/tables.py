"""The spec's table look, drawn directly: heavy edges, one space of padding, the first
column centred.

rich lays a table out for any width (it measures every cell several times to share the
width out, cuts and folds): at 1,000 rows that is most of a command's time. A table that
fits — always, when stdout is not a terminal, since nothing is cut there — needs none of
that: its width is the width of its widest cells. :func:`render` draws such a table in one
pass over the cells; :func:`mlrig.cli.output.print_table` leaves only a table that must be
cut to fit a terminal to rich. Cell widths are measured with rich's own ``cell_len``
(wide characters and emoji take two cells), so both paths agree on every width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Box(NamedTuple):
    """The characters of a box: top, header row, header rule, body row and bottom, each
    as (left, fill, column divider, right)."""

    top: tuple[str, str, str, str]
    head: tuple[str, str, str, str]
    rule: tuple[str, str, str, str]
    row: tuple[str, str, str, str]
    bottom: tuple[str, str, str, str]


HEAVY_EDGE = Box(("┏", "━", "┯", "┓"), ("┃", " ", "│", "┃"), ("┠", "─", "┼", "┨"),
                 ("┃", " ", "│", "┃"), ("┗", "━", "┷", "┛"))
ASCII = Box(("+", "-", "-", "+"), ("|", " ", "|", "|"), ("|", "-", "+", "|"),
            ("|", " ", "|", "|"), ("+", "-", "-", "+"))

BOLD, ITALIC, DIM_ITALIC, RESET = "\x1b[1m", "\x1b[3m", "\x1b[2;3m", "\x1b[0m"


def natural_width(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[list[int], int]:
    """The width of each column (its widest line, header included) and of the table."""
    from rich.cells import cell_len

    widths = [max((cell_len(line) for line in header.split("\n")), default=0)
              for header in columns]
    for row in rows:
        for index, cell in enumerate(row):
            if "\n" in cell:
                width = max(cell_len(line) for line in cell.split("\n"))
            else:
                width = cell_len(cell)
            widths[index] = max(widths[index], width)
    # padding of one on each side, a divider between columns, an edge on each side
    return widths, sum(widths) + 2 * len(widths) + len(widths) - 1 + 2


def render(columns: Sequence[str], rows: Sequence[Sequence[str]], *, box: Box,
           center_first: bool, title: str | None = None, caption: str | None = None,
           styled: bool = False, max_width: int | None = None) -> str | None:
    """The table as text (lines ending in a newline), or None when it is wider than
    ``max_width`` or its title or caption is wider than the table (rich cuts and wraps
    those; this renderer does not)."""
    from rich.cells import cell_len

    widths, total = natural_width(columns, rows)
    if max_width is not None and total > max_width:
        return None
    if (title and cell_len(title) > total) or (caption and cell_len(caption) > total):
        return None
    centered = [index == 0 and center_first for index in range(len(columns))]

    def line(parts: tuple[str, str, str, str]) -> str:
        left, fill, divider, right = parts
        return left + divider.join(fill * (w + 2) for w in widths) + right + "\n"

    def fit(text: str, index: int) -> str:
        excess = widths[index] - cell_len(text)
        if centered[index]:
            before = excess // 2
            return " " * before + text + " " * (excess - before)
        return text + " " * excess

    def cells(row: Sequence[str], parts: tuple[str, str, str, str], bold: bool) -> list[str]:
        left, _, divider, right = parts
        split = [cell.split("\n") for cell in row]
        height = max((len(lines) for lines in split), default=1)
        out = []
        for n in range(height):
            texts = [fit(lines[n] if n < len(lines) else "", i) for i, lines in enumerate(split)]
            if bold:
                texts = [f"{BOLD} {text} {RESET}" for text in texts]
            else:
                texts = [f" {text} " for text in texts]
            out.append(left + divider.join(texts) + right + "\n")
        return out

    out: list[str] = []
    if title:
        out.append(_centered(title, total, ITALIC if styled else None))
    out.append(line(box.top))
    out.extend(cells(columns, box.head, styled))
    out.append(line(box.rule))
    for row in rows:
        out.extend(cells(row, box.row, False))
    out.append(line(box.bottom))
    if caption:
        out.append(_centered(caption, total, DIM_ITALIC if styled else None))
    return "".join(out)


def _centered(text: str, width: int, style: str | None) -> str:
    from rich.cells import cell_len

    excess = width - cell_len(text)
    before = excess // 2
    padded = " " * before + text + " " * (excess - before)
    return (f"{style}{padded}{RESET}" if style else padded) + "\n"
