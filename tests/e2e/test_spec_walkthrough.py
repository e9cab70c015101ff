"""The whole walkthrough of spec/profiles.md, through the real ``mlrig`` executable.

Every message line (stderr) is compared exactly and in order; every table is parsed into
rows of cells and compared exactly, except the URL cells, which hold this machine's paths
(the spec's "paths aside") and are checked to be ``file://`` URLs of the config dir.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlrig.testing.tables import PROFILE_HEADER, STACK_HEADER, parse_table

BANNER = ["Running without an active repository root."]
def banner(profile: str) -> list[str]:
    return [*BANNER, f"Running with active profile: '{profile}' (global)"]


def default_stack_lines() -> list[str]:
    return [
        "Initializing store...",
        "Registered stack component with type 'orchestrator' and name 'default'.",
        "Registered stack component with type 'metadata_store' and name 'default'.",
        "Registered stack component with type 'artifact_store' and name 'default'.",
        "Registered stack with name 'default'.",
    ]




@pytest.fixture
def run(mlrig_exe, config_dir: Path):  # type: ignore[no-untyped-def]
    # the autouse fixture has removed every MLRIG_* variable (MLRIG_DEFAULT_STORE_TYPE too)
    env = {"COLUMNS": "80", "MLRIG_CONFIG_PATH": str(config_dir)}

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        result = mlrig_exe(*args, env=env)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        return result

    return invoke


def check_profiles(stdout: str, expected: list[list[str]], config_dir: Path) -> None:
    rows = parse_table(stdout)
    assert rows[0] == PROFILE_HEADER
    assert len(rows) - 1 == len(expected)
    for row, want in zip(rows[1:], expected, strict=True):
        url = row[3]
        full = (config_dir / "profiles" / want[1]).resolve().as_uri()
        # the cell is the profile's store URL, cut with … when it does not fit
        assert url == full or (url.endswith("…") and full.startswith(url[:-1])), url
        assert [row[0], row[1], row[2], row[4]] == want


def test_spec_walkthrough(run, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    # $ zenml profile list  (first run)
    first = run("profile", "list")
    assert first.stderr.splitlines() == [
        "Creating default profile...",
        "Initializing profile `default`...",
        *default_stack_lines(),
        "Created and activated default profile.",
        *banner("default"),
    ]
    check_profiles(first.stdout, [["👉", "default", "local", "default"]], config_dir)
    assert "┃   👉   │ default      │ local      │ file:///" in first.stdout

    # $ zenml profile create zenml
    created = run("profile", "create", "zenml")
    assert created.stderr.splitlines() == [
        *banner("default"), "Initializing profile `zenml`...", *default_stack_lines()]
    assert created.stdout.splitlines() == ["Profile 'zenml' successfully created."]

    listed = run("profile", "list")
    assert listed.stderr.splitlines() == banner("default")
    check_profiles(listed.stdout, [["👉", "default", "local", "default"],
                                   ["", "zenml", "local", "default"]], config_dir)

    switched = run("profile", "set", "zenml")
    assert switched.stderr.splitlines() == banner("default")
    assert switched.stdout.splitlines() == ["Active profile changed to: 'zenml'"]

    listed = run("profile", "list")
    assert listed.stderr.splitlines() == banner("zenml")
    check_profiles(listed.stdout, [["", "default", "local", "default"],
                                   ["👉", "zenml", "local", "default"]], config_dir)

    registered = run("stack", "register", "custom", "-m", "default", "-a", "default",
                     "-o", "default")
    assert registered.stderr.splitlines() == [
        *banner("zenml"), "Registered stack with name 'custom'."]
    assert registered.stdout.splitlines() == ["Stack 'custom' successfully registered!"]

    activated = run("stack", "set", "custom")
    assert activated.stderr.splitlines() == banner("zenml")
    assert activated.stdout.splitlines() == ["Active stack set to: 'custom'"]

    stacks = run("stack", "list")
    assert stacks.stderr.splitlines() == banner("zenml")
    assert parse_table(stacks.stdout) == [
        STACK_HEADER,
        ["👉", "custom", "default", "default", "default"],
        ["", "default", "default", "default", "default"],
    ]

    listed = run("profile", "list")
    check_profiles(listed.stdout, [["", "default", "local", "default"],
                                   ["👉", "zenml", "local", "custom"]], config_dir)

    back = run("profile", "set", "default")
    assert back.stderr.splitlines() == banner("zenml")
    assert back.stdout.splitlines() == ["Active profile changed to: 'default'"]

    stacks = run("stack", "list")
    assert stacks.stderr.splitlines() == banner("default")
    assert parse_table(stacks.stdout) == [
        STACK_HEADER, ["👉", "default", "default", "default", "default"]]
    # the spec's exact table text for this last one (no paths in it)
    assert stacks.stdout == (
        "┏━━━━━━━━┯━━━━━━━━━━━━┯━━━━━━━━━━━━━━━━┯━━━━━━━━━━━━━━━━┯━━━━━━━━━━━━━━┓\n"
        "┃ ACTIVE │ STACK NAME │ ARTIFACT_STORE │ METADATA_STORE │ ORCHESTRATOR ┃\n"
        "┠────────┼────────────┼────────────────┼────────────────┼──────────────┨\n"
        "┃   👉   │ default    │ default        │ default        │ default      ┃\n"
        "┗━━━━━━━━┷━━━━━━━━━━━━┷━━━━━━━━━━━━━━━━┷━━━━━━━━━━━━━━━━┷━━━━━━━━━━━━━━┛\n"
    )


def test_first_run_happens_once_for_any_command(run, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    first = run("stack", "list")
    assert first.stderr.splitlines()[0] == "Creating default profile..."
    second = run("stack", "list")
    assert "Creating default profile..." not in second.stderr
    assert (config_dir / "config.yaml").is_file()
    assert os.stat(config_dir).st_mode & 0o777 == 0o700
