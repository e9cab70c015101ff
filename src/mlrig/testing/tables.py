"""mlrig's tables as rows of cells, to compare a listing exactly (paths aside)."""

from __future__ import annotations

#: the frame's corner and rule characters
TOP, HEADER_RULE, BOTTOM = "┏", "┠", "┗"

#: the header rows of ``profile list`` and ``stack list`` (the spec's tables)
PROFILE_HEADER = ["ACTIVE", "PROFILE NAME", "STORE TYPE", "URL", "ACTIVE STACK"]
STACK_HEADER = ["ACTIVE", "STACK NAME", "ARTIFACT_STORE", "METADATA_STORE", "ORCHESTRATOR"]


def parse_table(stdout: str) -> list[list[str]]:
    """Rows of cells (header first) of the table in ``stdout``; checks the frame."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines[0].startswith(TOP) and lines[0].endswith("┓"), stdout
    assert lines[2].startswith(HEADER_RULE) and lines[2].endswith("┨"), stdout
    assert lines[-1].startswith(BOTTOM) and lines[-1].endswith("┛"), stdout
    rows = []
    for line in [lines[1], *lines[3:-1]]:
        assert line.startswith("┃") and line.endswith("┃"), line
        rows.append([cell.strip() for cell in line[1:-1].split("│")])
    return rows
