"""The README's tour, run from README.md itself: every ``$ `` line of its console blocks, in
order, in one bash shell, as a new user would type them — a fresh HOME, no mlrig variables,
the real ``mlrig`` executable. README and behaviour cannot drift apart."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from mlrig.testing.plugin import MLRIG_VARIABLES as MLRIG_VARS

ROOT = Path(__file__).resolve().parents[2]
MARK = "README-COMMAND-FAILED"


def tour_commands(readme: str) -> list[str]:
    """The ``$ `` lines of the console blocks between '## A tour' and the next section."""
    start = readme.index("## A tour")
    following = readme.find("\n## ", start + 1)
    section = readme[start:following if following != -1 else len(readme)]
    commands: list[str] = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.DOTALL):
        commands.extend(line[2:] for line in block.splitlines() if line.startswith("$ "))
    return commands


def test_the_tour_has_commands() -> None:
    commands = tour_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) > 20
    assert commands[0].startswith("mlrig profile list")


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    commands = tour_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    # each command runs in the shell itself (an eval or unset must reach the next ones); a
    # failure stops the tour and names the command
    script = ["set -u"]
    for index, command in enumerate(commands):
        script.append(f"echo '>>> {index}' >&2")
        script.append(f"{{ {command}\n}} || {{ echo \"{MARK} $?: \"{shlex.quote(command)} >&2;"
                      " exit 1; }")
    home = tmp_path / "home"
    work = tmp_path / "tour"  # outside any repository (the `isolated` fixture made work/)
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in MLRIG_VARS and not k.startswith("XDG_")}
    exe = shutil.which("mlrig")
    bindir = str(Path(exe).parent) if exe else str(Path(sys.executable).parent)
    env.update(HOME=str(home), PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
               SHELL="/bin/bash", COLUMNS="100")
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    failed = [line for line in proc.stderr.splitlines() if MARK in line]
    assert proc.returncode == 0 and not failed, (
        f"{failed}\n--- stderr (tail)\n{proc.stderr[-3000:]}\n--- stdout (tail)\n"
        f"{proc.stdout[-2000:]}")
    # what the tour promises, checked on the result
    out = proc.stdout
    assert "********" in out  # the password of 'meta' is masked
    assert "s3cret" not in out and "s3cret" not in proc.stderr
    config = home / ".config" / "mlrig" / "config.yaml"
    assert config.is_file(), "the tour's configuration lives in the new HOME"
    assert (work / ".mlrig" / "config.yaml").is_file()  # mlrig init
    assert (work / "prod.yaml").is_file() and (work / "zenml.yaml").is_file()
    listing = subprocess.run(["mlrig", "profile", "list", "-o", "json"], cwd=work, env=env,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    names = {p["name"] for p in json.loads(listing.stdout)["profiles"]}
    assert names == {"default", "zenml", "team"}


def section_commands(readme: str, heading: str) -> list[str]:
    """The ``$ `` lines of the console blocks of one section of the README."""
    start = readme.index(heading)
    following = readme.find("\n## ", start + 1)
    section = readme[start:following if following != -1 else len(readme)]
    return [line[2:] for block in re.findall(r"```console\n(.*?)```", section, flags=re.DOTALL)
            for line in block.splitlines() if line.startswith("$ ")]


def test_readme_pipelines_run_as_written(tmp_path: Path) -> None:
    """The pipelines section: the example on the default stack, again from the cache, then
    on a Dask stack chosen by MLRIG_ACTIVE_STACK, and the runs it leaves."""
    commands = section_commands((ROOT / "README.md").read_text(encoding="utf-8"),
                                "## Pipelines on the active stack")
    assert any("MLRIG_ACTIVE_STACK=on-dask" in c for c in commands)
    home, work = tmp_path / "home", tmp_path / "clone"
    home.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")  # as in a clone's root
    script = ["set -u"]
    for command in commands:
        script.append(f"{{ {command}\n}} || {{ echo \"{MARK} $?: \"{shlex.quote(command)} >&2;"
                      " exit 1; }")
    env = {k: v for k, v in os.environ.items()
           if k not in MLRIG_VARS and not k.startswith("XDG_")}
    exe = shutil.which("mlrig")
    bindir = str(Path(exe).parent) if exe else str(Path(sys.executable).parent)
    env.update(HOME=str(home), PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
               COLUMNS="200")
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    failed = [line for line in proc.stderr.splitlines() if MARK in line]
    assert proc.returncode == 0 and not failed, (
        f"{failed}\n--- stderr (tail)\n{proc.stderr[-3000:]}")
    assert proc.stderr.count("Using cached version of step 'load_digits'.") >= 3
    assert "'parameter:c' changed" in proc.stdout
    runs = subprocess.run(["mlrig", "pipeline", "runs", "list", "-o", "json"], cwd=work,
                          env=env, capture_output=True, text=True, timeout=60)
    assert runs.returncode == 0, runs.stderr
    listed = json.loads(runs.stdout)["runs"]
    assert [r["stack"] for r in listed] == ["on-dask", "on-dask", "default", "default"]
    assert {r["status"] for r in listed} == {"completed"}
