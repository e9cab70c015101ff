"""The first things a newcomer types, through the real ``mlrig`` executable: bare groups,
repositories, terminal manners, missing names. Every refusal is one line and changes
nothing."""

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


def data_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json")
            and p.name not in (".lock", "config.lock")}


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


# ---------------------------------------------------------------- profile set in a repository
@pytest.fixture
def pinned_repo(mlrig_exe, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A repository pinning profile 'p' with its stack 's' (p's own active stack: default)."""
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    assert mlrig_exe("--profile", "p", "stack", "register", "s", "-o", "default", "-m",
                     "default", "-a", "default").exit_code == 0
    repo = tmp_path / "repo"
    repo.mkdir()
    assert mlrig_exe("profile", "set", "p", cwd=repo).exit_code == 0  # global: no repo yet
    assert mlrig_exe("init", cwd=repo).exit_code == 0
    assert mlrig_exe("stack", "set", "s", cwd=repo).exit_code == 0
    return repo


def test_setting_the_pinned_profile_again_changes_nothing(  # type: ignore[no-untyped-def]
        mlrig_exe, pinned_repo: Path, config_dir: Path) -> None:
    before = data_files(pinned_repo), data_files(config_dir)
    result = mlrig_exe("profile", "set", "p", cwd=pinned_repo)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Profile 'p' is already active.\n"
    assert (data_files(pinned_repo), data_files(config_dir)) == before
    assert mlrig_exe("stack", "current", cwd=pinned_repo).stdout == "s\n"


def test_switching_profile_in_a_repository_says_which_stack(  # type: ignore[no-untyped-def]
        mlrig_exe, pinned_repo: Path) -> None:
    result = mlrig_exe("profile", "set", "default", cwd=pinned_repo)
    assert result.exit_code == 0, result.stderr
    assert "Active profile changed to: 'default'" in result.stdout
    assert "This repository now uses stack 'default': the active stack of profile " \
        "'default'." in result.stdout
    assert mlrig_exe("stack", "current", cwd=pinned_repo).stdout == "default\n"
    back = mlrig_exe("profile", "set", "p", cwd=pinned_repo)
    assert "This repository now uses stack 'default': the active stack of profile 'p'." \
        in back.stdout
    # an environment variable still choosing another stack is pointed out
    shadowed = mlrig_exe("profile", "set", "default", cwd=pinned_repo,
                         env={"MLRIG_ACTIVE_STACK": "s"})
    assert "MLRIG_ACTIVE_STACK" in shadowed.stderr and "'s'" in shadowed.stderr


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


def test_profile_delete_asks(mlrig_exe, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "create", "gone").exit_code == 0
    before = data_files(config_dir)
    closed = mlrig_exe("profile", "delete", "gone")  # stdin: nothing to read
    assert closed.exit_code == 1
    errors = [line for line in closed.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "--yes" in errors[0], closed.stderr
    assert "Traceback" not in closed.stderr
    no = mlrig_exe("profile", "delete", "gone", input="n\n")
    assert no.exit_code == 1 and "Profile deletion canceled." in no.stderr
    assert data_files(config_dir) == before
    yes = mlrig_exe("profile", "delete", "gone", input="y\n")
    assert yes.exit_code == 0 and "Deleted profile 'gone'." in yes.stdout
    assert "with every stack and component in it" in yes.stderr
    assert mlrig_exe("profile", "create", "gone2").exit_code == 0
    assert mlrig_exe("profile", "delete", "gone2", "-y").exit_code == 0
    assert not (config_dir / "profiles" / "gone2").exists()


def test_connection_refused_is_punctuated(mlrig_exe) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as sock:  # a port on loopback where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = mlrig_exe("profile", "create", "pg", "-t", "sql", "--url",
                       f"postgresql+psycopg://u:pw@127.0.0.1:{port}/db")
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert "refused. " in line.lower() or "refused)." in line.lower(), line
    assert "pw" not in line.replace("pw@", "")  # and the password is masked
    assert ":***@" in line


# ---------------------------------------------------------------- missing names
def test_stack_list_with_a_missing_active_stack_warns(mlrig_exe) -> None:  # type: ignore[no-untyped-def]
    result = mlrig_exe("stack", "list", env={"MLRIG_ACTIVE_STACK": "ghost"})
    assert result.exit_code == 0, result.stderr
    assert "default" in result.stdout
    warning = [x for x in result.stderr.splitlines() if x.startswith("Warning:")]
    assert len(warning) == 1
    assert "'ghost'" in warning[0] and "MLRIG_ACTIVE_STACK" in warning[0]
    assert "profile 'default'" in warning[0]
    as_json = mlrig_exe("stack", "list", "-o", "json", env={"MLRIG_ACTIVE_STACK": "ghost"})
    assert not any(s["active"] for s in json.loads(as_json.stdout)["stacks"])


@pytest.mark.parametrize("args", [
    ("stack", "describe", "nope"),
    ("stack", "delete", "nope", "-y"),
    ("stack", "update", "nope", "-a", "default"),
    ("stack", "rename", "nope", "x"),
    ("stack", "export", "nope"),
    ("artifact-store", "describe", "nope"),
    ("artifact-store", "delete", "nope"),
    ("artifact-store", "update", "nope", "--path=/x"),
    ("stack", "register", "x", "-o", "default", "-m", "default", "-a", "nope"),
])
def test_not_found_names_the_profile(mlrig_exe, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "create", "other").exit_code == 0
    result = mlrig_exe("--profile", "other", *args)
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert "profile 'other'" in line, line


def test_rest_to_a_closed_port_is_one_line_and_changes_nothing(mlrig_exe, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "list").exit_code == 0
    before = data_files(config_dir)
    refused = mlrig_exe("profile", "create", "team", "-t", "rest", "--url", "http://127.0.0.1:9",
                        "--token-env", "TEAM_TOKEN", env={"TEAM_TOKEN": "mlrig_x"})
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    (line,) = [x for x in refused.stderr.splitlines() if x.startswith("Error:")]
    assert "http://127.0.0.1:9" in line
    assert data_files(config_dir) == before
