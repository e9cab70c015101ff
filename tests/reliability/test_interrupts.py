"""Ctrl-C at any moment of a command, start-up included: exit 130 (or the command's normal
exit, if it had finished), quietly, never a traceback.

The real program is started and sent SIGINT at a random early moment, many times over: in
Python's own start-up, while mlrig's modules load, in the command, while it exits.

One stretch is outside any program's reach: the interpreter's start-up (``site``) and the
lines an installer writes into the ``mlrig`` script before it imports mlrig (``import re``).
No code of mlrig has run then, so an interrupt there is Python's to report; such runs are
recognised by their traceback (no frame of mlrig's code) and counted apart. Everything from
the first line of mlrig's own code on must be quiet.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlrig
from mlrig.testing.files import diff, snapshot
from mlrig.testing.runs import env_for, error_lines, mlrig_command, run_mlrig_in

TRIES = 30
LATEST = 0.150  # seconds after the start
GUARD = 60
PACKAGE = Path(mlrig.__file__).resolve().parent
_FRAME = re.compile(r'File "([^"]+)", line \d+')


def in_mlrig_code(stderr: str) -> bool:
    """Whether a traceback went through mlrig's code (beyond the first lines of
    ``mlrig/__init__.py``, which install the handler as the program's first act)."""
    for name in _FRAME.findall(stderr):
        path = Path(name)
        if not path.is_absolute():
            continue  # <frozen importlib._bootstrap> and the like
        resolved = path.resolve()
        if PACKAGE in resolved.parents and resolved != PACKAGE / "__init__.py":
            return True
    return False


def interrupt_many(argv: list[str], env: dict[str, str], tries: int = TRIES,
                   seed: int = 0) -> list[tuple[float, int, str]]:
    rng = random.Random(seed)
    runs = []
    for _ in range(tries):
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        delay = rng.uniform(0, LATEST)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=GUARD)
        runs.append((delay, proc.returncode, err))
    return runs


def check(runs: list[tuple[float, int, str]]) -> None:
    startup = 0
    for delay, code, err in runs:
        where = f"SIGINT after {delay * 1000:.0f} ms: exit {code}\n{err[-3000:]}"
        if (("Traceback" in err and not in_mlrig_code(err)) or (code == 1 and not err)
                or (code == 1 and err.strip() == "KeyboardInterrupt")):
            # Python's start-up (a fatal error before its streams exist prints nothing; an
            # interrupt before the first Python frame is printed without a traceback, as a
            # bare "KeyboardInterrupt": a frame of mlrig's code would be in a traceback) or
            # the installer's script: not mlrig's code
            startup += 1
            continue
        assert "Traceback" not in err, where
        # 130: interrupted; -SIGINT: killed before Python installed its handler; 0: done
        assert code in (0, 130, -signal.SIGINT), where
        # quiet: what the command had said so far, then at most "Interrupted."
        assert not error_lines(err), where
    assert startup < len(runs)


@pytest.fixture
def ready(config_dir: Path) -> Path:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    assert run_mlrig_in(config_dir, "profile", "list").exit_code == 0  # caches built
    return config_dir


@pytest.mark.parametrize("args", [["profile", "current"], ["stack", "current"],
                                  ["stack", "list"], ["profile", "describe", "default"]],
                         ids=["profile-current", "stack-current", "stack-list", "describe"])
def test_an_interrupt_at_start_up_is_quiet(ready: Path, tmp_path: Path,
                                           args: list[str]) -> None:
    before = snapshot(tmp_path)
    check(interrupt_many([*mlrig_command(), *args], env_for(ready)))
    assert diff(before, snapshot(tmp_path)) == []


def test_an_interrupt_of_python_m_mlrig_is_quiet(ready: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    check(interrupt_many([sys.executable, "-m", "mlrig", "stack", "list"], env_for(ready),
                         seed=1))
    assert diff(before, snapshot(tmp_path)) == []


def test_an_interrupt_of_completion_is_quiet(ready: Path, tmp_path: Path) -> None:
    env = env_for(ready, _MLRIG_COMPLETE="bash_complete", COMP_WORDS="mlrig stack use ",
                  COMP_CWORD="3")
    before = snapshot(tmp_path)
    check(interrupt_many(mlrig_command(), env, seed=2))
    assert diff(before, snapshot(tmp_path)) == []


def test_an_interrupt_of_a_first_run_is_quiet(tmp_path: Path) -> None:
    """The first command creates the default profile: interrupted anywhere, the next one
    still works (a half-made profile is finished or removed)."""
    runs = []
    for i in range(10):
        config = tmp_path / f"config{i}"
        runs += interrupt_many([*mlrig_command(), "stack", "list"], env_for(config), tries=1,
                               seed=10 + i)
        after = run_mlrig_in(config, "stack", "list", timeout=GUARD)
        assert after.exit_code == 0, after.stderr
    check(runs)


def test_an_interrupt_in_the_middle_of_an_import(ready: Path, tmp_path: Path) -> None:
    """A long command (reading a large bundle): 130 and nothing changed, or done."""
    lines = ["format_version: 1", "kind: mlrig-profile", "profile: {name: big}",
             "stacks: []", "components:"]
    lines += [f"- {{type: artifact_store, name: a{i}, flavor: local, config: "
              f"{{path: /data/{i}}}}}" for i in range(60_000)]
    bundle = tmp_path / "big.yaml"
    bundle.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = snapshot(ready)
    proc = subprocess.Popen([*mlrig_command(), "profile", "import", str(bundle)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env_for(ready))
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=GUARD * 5)
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 130), err
    if proc.returncode == 130:
        after = run_mlrig_in(ready, "profile", "list")  # recovers anything half done
        assert after.exit_code == 0
        assert "big" not in after.stdout
        changed = [c for c in diff(before, snapshot(ready)) if "cache" not in c]
        assert changed == [] or all("pending" in c for c in changed), changed
    assert os.path.exists(bundle)
