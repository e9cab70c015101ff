"""Several real ``mlrig`` processes registering components in one profile at once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from mlrig.testing.plugin import mlrig_command

PROCESSES, EACH = 4, 6


def test_parallel_registrations_lose_nothing(mlrig_exe, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "list").exit_code == 0  # create the default profile first
    env = dict(os.environ)
    script = " && ".join(
        f"{' '.join(mlrig_command())} artifact-store register w$W-{i} -f local --path=/tmp/$W/{i}"
        f" >/dev/null 2>&1" for i in range(EACH)
    )
    procs = [
        subprocess.Popen(["bash", "-c", script], env={**env, "W": str(w)})
        for w in range(PROCESSES)
    ]
    assert [p.wait(timeout=240) for p in procs] == [0] * PROCESSES
    listed = mlrig_exe("artifact-store", "list", "-o", "json")
    names = sorted(c["name"] for c in json.loads(listed.stdout)["artifact_stores"])
    expected = sorted(["default"] + [f"w{w}-{i}" for w in range(PROCESSES)
                                     for i in range(EACH)])
    assert names == expected


def test_parallel_profile_and_stack_changes_keep_config_valid(mlrig_exe, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("profile", "list").exit_code == 0
    mlrig = " ".join(mlrig_command())
    procs = [
        subprocess.Popen(["bash", "-c",
                          f"{mlrig} profile create p{w} >/dev/null 2>&1 && "
                          f"{mlrig} --profile p{w} stack register s{w} -o default -a default "
                          f"-m default --set >/dev/null 2>&1"], env=dict(os.environ))
        for w in range(4)
    ]
    assert [p.wait(timeout=240) for p in procs] == [0] * 4
    data = json.loads(mlrig_exe("profile", "list", "-o", "json").stdout)["profiles"]
    by_name = {p["name"]: p for p in data}
    assert sorted(by_name) == ["default", "p0", "p1", "p2", "p3"]
    for w in range(4):
        assert by_name[f"p{w}"]["active_stack"] == f"s{w}"
