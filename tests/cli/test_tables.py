"""Tables: the spec's look at every size, drawn whole off a terminal and cut to fit one.

Through the real executable (a pipe, and a pseudo-terminal of a given width); the table
drawer is also tried directly on cells of every width (wide characters, several lines).
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path
from typing import Any

from rich.cells import cell_len

from mlrig.cli import tables
from mlrig.testing.plugin import mlrig_command


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def test_every_line_of_a_table_has_the_same_width() -> None:
    rows = [["👉", "中文名", "x"], ["", "a\nlonger second line", ""], ["", "é", "[bold]y"]]
    text = tables.render(["ACTIVE", "NAME", "VALUE"], rows, box=tables.HEAVY_EDGE,
                         center_first=True)
    assert text is not None
    lines = _lines(text)
    assert len({cell_len(line) for line in lines}) == 1, lines
    assert lines[0].startswith("┏") and lines[-1].startswith("┗")
    assert "[bold]y" in text  # a cell is text, never markup
    # the two-line cell takes two lines, the other cells of its row are blank on the second
    second = next(line for line in lines if "longer second line" in line)
    assert second.split("│")[0].strip("┃ ") == ""


def test_the_first_column_is_centred_and_the_others_left_aligned() -> None:
    text = tables.render(["ACTIVE", "NAME"], [["👉", "a"]], box=tables.ASCII,
                         center_first=True)
    assert text is not None
    row = _lines(text)[3]
    active, name = row.strip("|").split("|")
    assert active == "   👉   " and name == " a    "


def test_a_table_wider_than_allowed_is_left_to_the_fitting_renderer() -> None:
    assert tables.render(["NAME"], [["x" * 50]], box=tables.ASCII, center_first=False,
                         max_width=20) is None
    assert tables.render(["NAME"], [["x"]], box=tables.ASCII, center_first=False,
                         title="a title much wider than the table") is None


def _register_long(mlrig_run: Any, count: int = 12) -> str:
    long_path = "/srv/" + "very-long-directory-name/" * 8 + "artifacts"
    for index in range(count):
        result = mlrig_run("artifact-store", "register", f"store-{index:03d}", "-f", "local",
                           f"--path={long_path}")
        assert result.exit_code == 0, result.stderr
    return long_path


def test_off_a_terminal_a_big_table_is_drawn_whole(mlrig_run: Any) -> None:
    long_path = _register_long(mlrig_run)
    result = mlrig_run("artifact-store", "list")
    assert result.exit_code == 0, result.stderr
    lines = _lines(result.stdout)
    assert sum("store-" in line for line in lines) == 12
    assert all(long_path in line for line in lines if "store-" in line)
    assert len({cell_len(line) for line in lines}) == 1
    assert "\x1b[" not in result.stdout  # no styles into a pipe


def _run_on_terminal(args: list[str], columns: int, env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([*mlrig_command(), *args], stdout=follower,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                env={**env, "COLUMNS": str(columns), "TERM": "xterm"})
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            ready, _, _ = select.select([leader], [], [], 30)
            if not ready:
                proc.kill()
                raise AssertionError("no output from mlrig on the terminal within 30 s")
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower side closed: the process is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=30) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8")


def _visible(line: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", line)


def test_on_a_narrow_terminal_the_table_is_folded_to_fit(mlrig_run: Any,
                                                       mlrig_config_dir: Path) -> None:
    _register_long(mlrig_run, count=3)
    env = {**os.environ}
    out = _run_on_terminal(["artifact-store", "list"], 60, env)
    lines = [_visible(line) for line in out.replace("\r\n", "\n").split("\n") if line.strip()]
    table = [line for line in lines if line[:1] in "┏┃┠┗"]
    assert table and all(cell_len(line) <= 60 for line in table), table
    assert sum("store-" in line for line in table) == 3
    # the long path is folded onto more lines of its cell, not drawn over the edge
    assert sum("/srv/" in line for line in table) == 3
    assert sum("artifacts" in line for line in table) == 3


def test_on_a_wide_terminal_the_table_is_drawn_whole_with_a_bold_header(
        mlrig_run: Any, mlrig_config_dir: Path) -> None:
    long_path = _register_long(mlrig_run, count=2)
    out = _run_on_terminal(["artifact-store", "list"], 400, {**os.environ})
    lines = [line for line in out.replace("\r\n", "\n").split("\n") if line.strip()]
    assert sum(long_path in _visible(line) for line in lines) == 2
    header = next(line for line in lines if "NAME" in line)
    assert "\x1b[1m" in header  # the header is bold on a terminal, as before
