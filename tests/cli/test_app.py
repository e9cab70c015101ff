"""The application as a whole (``mlrig`` itself, cli/app.py): bare groups print their help,
terminal manners (colours, tables, encodings), ``--debug`` anywhere, usage errors."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from mlrig.testing.plugin import mlrig_command


# ---------------------------------------------------------------- bare groups print their help
@pytest.mark.parametrize("group", [(), ("stack",), ("profile",), ("artifact-store",),
                                   ("orchestrator", "flavor")])
def test_bare_group_prints_its_help(mlrig_exe, group: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    bare = mlrig_exe(*group)
    helped = mlrig_exe(*group, "--help")
    assert helped.exit_code == 0
    assert bare.exit_code == 0, bare.stderr
    assert bare.stdout == helped.stdout
    assert bare.stdout.startswith(f"Usage: mlrig {' '.join(group)}".rstrip() + " [OPTIONS]")
    assert "Commands:" in bare.stdout
    assert "Error" not in bare.stderr


# ---------------------------------------------------------------- terminal manners
def run_on_pty(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, bytes]:
    """Run with stdout and stderr on a pseudo-terminal; returns (exit code, all output)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([*mlrig_command(), *args], stdin=subprocess.DEVNULL,
                            stdout=terminal, stderr=terminal, env={**os.environ, **env})
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(controller)
    return proc.wait(timeout=10), output


_SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def has_color(output: bytes) -> bool:
    """Whether any SGR sequence sets a foreground or background color (NO_COLOR is about
    colors; bold or underline may stay)."""
    for match in _SGR.finditer(output):
        for code in match.group(1).split(b";"):
            if code and (30 <= int(code) <= 49 or 90 <= int(code) <= 107):
                return True
    return False


def test_colors_on_a_terminal_and_no_color(mlrig_exe) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "list").exit_code == 0
    for args in (["stack", "describe", "ghost"], ["stack", "list"]):
        env = {"MLRIG_ACTIVE_STACK": "ghost"} if args[1] == "list" else {}
        code, colored = run_on_pty(args, env)
        assert has_color(colored), (args, colored)  # a terminal gets colors ...
        code_plain, plain = run_on_pty(args, {**env, "NO_COLOR": "1"})
        assert code_plain == code
        assert not has_color(plain), (args, plain)  # ... unless NO_COLOR is set
        assert (b"Error:" if args[1] == "describe" else b"Warning:") in plain


def test_debug_anywhere_on_the_command_line(mlrig_exe) -> None:  # type: ignore[no-untyped-def]
    plain = mlrig_exe("stack", "describe", "ghost")
    assert plain.exit_code == 1 and "Traceback" not in plain.stderr
    for args in (("--debug", "stack", "describe", "ghost"),
                 ("stack", "describe", "ghost", "--debug"),
                 ("stack", "--debug", "describe", "ghost")):
        result = mlrig_exe(*args)
        assert result.exit_code == 1, args
        assert "Traceback" in result.stderr, args
    via_env = mlrig_exe("stack", "describe", "ghost", env={"MLRIG_DEBUG": "1"})
    assert "Traceback" in via_env.stderr


def test_tables_off_a_terminal_show_whole_values(mlrig_exe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    deep = tmp_path / ("a-rather-long-directory-name-" * 4) / "store"
    assert mlrig_exe("profile", "create", "far", "--url", str(deep)).exit_code == 0
    url = json.loads(mlrig_exe("profile", "describe", "far", "-o", "json").stdout)
    shown = url["profile"]["url"] if "profile" in url else None
    listing = mlrig_exe("profile", "list", env={"COLUMNS": "80"})
    assert listing.exit_code == 0
    assert shown is None or shown in listing.stdout
    assert deep.as_uri() in listing.stdout
    assert "…" not in listing.stdout


def test_an_ascii_terminal_gets_an_ascii_table(mlrig_exe) -> None:  # type: ignore[no-untyped-def]
    result = mlrig_exe("profile", "list", env={"PYTHONIOENCODING": "ascii"})
    assert result.exit_code == 0, result.stderr
    assert "default" in result.stdout
    result.stdout.encode("ascii")  # nothing the encoding cannot show
    stacks = mlrig_exe("stack", "list", env={"PYTHONIOENCODING": "ascii"})
    assert stacks.exit_code == 0 and "*" in stacks.stdout


def test_debug_shows_traceback_only_when_asked(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    plain = cli("stack", "describe", "nope")
    assert plain.exit_code == 1 and "Traceback" not in plain.output
    debug = cli("--debug", "stack", "describe", "nope")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr


def test_usage_errors_exit_2_with_one_line(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    for args in (("stack", "lisst"), ("profile", "create"), ("--nope",),
                 ("stack", "list", "-o", "xml")):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("Error: ")
