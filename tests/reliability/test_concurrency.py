"""Concurrency: several real processes write the same profile and the global config at once.

Nothing acknowledged may be lost, nothing may be duplicated, every file must parse, and no
writer may fail (names never collide, so every operation is valid whatever the order).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlrig.models import ComponentType
from mlrig.testing.clients import quiet_client
from mlrig.testing.files import assert_all_yaml_parses
from mlrig.testing.runs import env_for, mlrig_command, run_mlrig_in
from mlrig.testing.stores import store_of

WORKER = Path(__file__).with_name("worker.py")
DEFAULT_COMPONENTS = {("orchestrator", "default"), ("metadata_store", "default"),
                      ("artifact_store", "default")}


def expected_state(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Replay the acknowledged operations (each worker's names are its own)."""
    components: set[tuple[str, str]] = set(DEFAULT_COMPONENTS)
    stacks: dict[str, dict[str, str]] = {
        "default": {"orchestrator": "default", "metadata_store": "default",
                    "artifact_store": "default"}}
    profiles = {"default"}
    set_stacks, set_profiles = {"default"}, {"default"}
    for e in events:
        op = e["op"]
        if op == "component":
            components.add((e["type"], e["name"]))
        elif op == "delete_component":
            components.remove((e["type"], e["name"]))
        elif op == "rename_component":
            components.remove((e["type"], e["old"]))
            components.add((e["type"], e["new"]))
            for stack in stacks.values():
                if stack.get(e["type"]) == e["old"]:
                    stack[e["type"]] = e["new"]
        elif op == "stack":
            stacks[e["name"]] = {"orchestrator": e["orchestrator"], "metadata_store": "default",
                                 "artifact_store": e["artifact_store"]}
        elif op == "rename_stack":
            stacks[e["new"]] = stacks.pop(e["old"])
        elif op == "delete_stack":
            del stacks[e["name"]]
        elif op == "set_stack":
            set_stacks.add(e["name"])
        elif op == "profile":
            profiles.add(e["name"])
        elif op == "delete_profile":
            profiles.remove(e["name"])
        elif op == "rename_profile":
            profiles.remove(e["old"])
            profiles.add(e["new"])
        elif op == "set_profile":
            set_profiles.add(e["name"])
    return {"components": components, "stacks": stacks, "profiles": profiles,
            "set_stacks": set_stacks, "set_profiles": set_profiles}


def check_final_state(config_dir: Path, expected: dict[str, Any]) -> None:
    c = quiet_client(config_dir, profile="default")
    config = c.config(reload=True)
    assert set(config.profiles) == expected["profiles"]
    assert config.active_profile in expected["set_profiles"]
    assert config.active_profile in config.profiles
    assert config.profiles["default"].active_stack in expected["set_stacks"]
    for name in config.profiles:
        store = store_of(c, name)
        assert store.is_initialized(), name
        with store.read() as view:
            assert view.get_stack("default") is not None, name
    with store_of(c, "default").read() as view:
        components = [(x.type.value, x.name) for x in view.list_components()]
        stacks = {s.name: {t.value: n for t, n in s.components.items()}
                  for s in view.list_stacks()}
    assert not [k for k, n in Counter(components).items() if n > 1], "duplicated components"
    assert set(components) == expected["components"]
    assert stacks == expected["stacks"]
    assert config.profiles["default"].active_stack in stacks
    # profiles deleted by the workers left no store directory behind
    on_disk = {p.name for p in (config_dir / "profiles").iterdir()}
    assert on_disk == expected["profiles"]
    assert assert_all_yaml_parses(config_dir) > 0
    leftovers = [p for p in config_dir.rglob("*") if p.name.endswith(".tmp")
                 or p.name == ".journal.yaml"]
    assert leftovers == []


def test_client_processes_write_profile_and_global_config_at_once(config_dir: Path,
                                                                  store_type: str) -> None:
    quiet_client(config_dir).config()  # the default profile exists before the race starts
    workers, iterations = 4, 6
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), str(w), str(iterations)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env_for(config_dir))
        for w in range(workers)
    ]
    events: list[dict[str, Any]] = []
    failures = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        events.extend(lines)
        if proc.returncode != 0:
            failures.append((proc.returncode, lines[-1:] or err[-2000:]))
    assert failures == []
    assert sum(e["op"] == "component" for e in events) == workers * iterations * 2
    check_final_state(config_dir, expected_state(events))


def test_real_cli_processes_write_at_once(config_dir: Path, tmp_path: Path,
                                          store_type: str) -> None:
    assert run_mlrig_in(config_dir, "profile", "list").exit_code == 0
    workers, rounds = 4, (2 if store_type == "local" else 1)  # SQL start-up is slower
    exe = " ".join(f"'{part}'" for part in mlrig_command())
    scripts = []
    for w in range(workers):
        lines = ["set -e"]
        for i in range(rounds):
            lines += [
                f"{exe} artifact-store register c{w}-{i} -f local --path=/srv/{w}/{i}",
                f"{exe} stack register s{w}-{i} -o default -m default -a c{w}-{i}",
                f"{exe} stack set s{w}-{i}",
            ]
        lines.append(f"{exe} profile create p{w}")
        scripts.append("\n".join(lines))
    procs = [subprocess.Popen(["bash", "-c", script], env=env_for(config_dir), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for script in scripts]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        for stream in (p.stdout, p.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in results] == [0] * workers, results

    c = quiet_client(config_dir)
    names = {(x.type.value, x.name) for x in c.list_components(ComponentType.ARTIFACT_STORE)}
    assert names == {("artifact_store", "default")} | {
        ("artifact_store", f"c{w}-{i}") for w in range(workers) for i in range(rounds)}
    stacks = {s.name: s for s in c.list_stacks()}
    assert set(stacks) == {"default"} | {f"s{w}-{i}" for w in range(workers)
                                         for i in range(rounds)}
    for w in range(workers):
        for i in range(rounds):
            assert stacks[f"s{w}-{i}"].components[ComponentType.ARTIFACT_STORE] == f"c{w}-{i}"
    config = c.config(reload=True)
    assert set(config.profiles) == {"default"} | {f"p{w}" for w in range(workers)}
    assert config.profiles["default"].active_stack in {f"s{w}-{rounds - 1}"
                                                        for w in range(workers)}
    assert_all_yaml_parses(config_dir)


@pytest.mark.parametrize("command", [("profile", "list"), ("stack", "list")])
def test_first_runs_racing_create_one_default_profile(config_dir: Path, tmp_path: Path,
                                                     command: tuple[str, ...],
                                                     store_type: str) -> None:
    """Several first commands at once on an empty config dir: one default profile, one
    default stack, every command succeeds."""
    procs = [subprocess.Popen([*mlrig_command(), *command], env=env_for(config_dir), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outcomes = [(p.wait(timeout=60), p.communicate()[1]) for p in procs]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    created = sum("Created and activated default profile." in err for _, err in outcomes)
    assert created == 1
    c = quiet_client(config_dir)
    config = c.config(reload=True)
    assert list(config.profiles) == ["default"]
    assert config.profiles["default"].store_type == store_type
    assert [s.name for s in c.list_stacks()] == ["default"]
    with store_of(c).read() as view:
        assert len(view.list_components()) == 3
    assert_all_yaml_parses(config_dir)
