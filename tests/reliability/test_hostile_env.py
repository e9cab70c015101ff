"""Bad values of the environment variables mlrig reads.

Every variable is validated once, before a command does anything, and a bad value is one
line naming the variable and what it must be (exit 1, no traceback, nothing changed) — for
the hot ``profile current`` / ``stack current`` too, whose fast path hands such a case to the
full CLI. An empty variable counts as unset.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

from mlrig.core.session import check_environment
from mlrig.exceptions import InputError
from mlrig.testing.files import diff, snapshot
from mlrig.testing.runs import assert_one_line_error, env_for, run_mlrig_in

GUARD = 60
COMMANDS = (["profile", "current"], ["stack", "current"], ["stack", "list"],
            ["profile", "list", "-o", "json"], ["profile", "create", "other"], ["status"])

BAD: list[tuple[str, str]] = [
    ("MLRIG_LOCK_TIMEOUT", "abc"),
    ("MLRIG_LOCK_TIMEOUT", "nan"),
    ("MLRIG_LOCK_TIMEOUT", "-5"),
    ("MLRIG_LOCK_TIMEOUT", "inf"),
    ("MLRIG_LOCK_TIMEOUT", "1e400"),
    ("MLRIG_LOCK_TIMEOUT", "3O"),
    ("MLRIG_LOCK_TIMEOUT", "9" * 5000),
    ("MLRIG_CONFIG_PATH", "~nouser-mlrig-test/x"),
    ("MLRIG_REPOSITORY_PATH", "~nouser-mlrig-test"),
    ("MLRIG_CACHE_PATH", "~nouser-mlrig-test/cache"),
    ("MLRIG_ACTIVE_PROFILE", "a/b"),
    ("MLRIG_ACTIVE_PROFILE", "x" * 5000),
    ("MLRIG_ACTIVE_STACK", ".."),
    ("MLRIG_ACTIVE_STACK", "tab\there"),
    ("MLRIG_DEFAULT_STORE_TYPE", "rst"),
]


@pytest.fixture
def ready(config_dir: Path) -> Path:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    return config_dir


@pytest.mark.parametrize(("variable", "value"), BAD,
                         ids=[f"{v}={x[:12]}" for v, x in BAD])
def test_a_bad_value_is_one_line_naming_the_variable(ready: Path, tmp_path: Path,
                                                     variable: str, value: str) -> None:
    before = snapshot(tmp_path)
    for args in COMMANDS:
        result = run_mlrig_in(ready, *args, timeout=GUARD, **{variable: value})
        line = assert_one_line_error(result.exit_code, result.stdout, result.stderr, codes=(1,))
        assert variable in line, line
        assert len(line) < 600, line
    assert diff(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize(("variable", "value"), [("MLRIG_LOCK_TIMEOUT", "abc"),
                                                 ("MLRIG_CONFIG_PATH", "~nouser-mlrig-test")])
def test_a_bad_value_on_the_first_run(config_dir: Path, tmp_path: Path, variable: str,
                                      value: str) -> None:
    """No config dir yet: nothing is created either."""
    for args in (["profile", "current"], ["stack", "list"], ["--version"]):
        result = run_mlrig_in(config_dir, *args, timeout=GUARD, **{variable: value})
        if args == ["--version"]:
            assert result.exit_code == 0  # nothing to configure: no reason to refuse
            continue
        assert variable in assert_one_line_error(result.exit_code, result.stdout, result.stderr,
                                                 codes=(1,))
    assert not config_dir.exists()


@pytest.mark.parametrize("variable", ["MLRIG_LOCK_TIMEOUT", "MLRIG_CONFIG_PATH",
                                      "MLRIG_ACTIVE_PROFILE", "MLRIG_ACTIVE_STACK",
                                      "MLRIG_DEFAULT_STORE_TYPE", "MLRIG_REPOSITORY_PATH",
                                      "MLRIG_DEBUG", "MLRIG_CACHE_PATH"])
def test_an_empty_variable_counts_as_unset(ready: Path, variable: str) -> None:
    env = {variable: ""}
    if variable == "MLRIG_CONFIG_PATH":
        env["HOME"] = str(ready.parent / "home")  # the default place, under a test HOME
        env["XDG_CONFIG_HOME"] = str(ready.parent / "xdg")
    for args in (["profile", "current"], ["stack", "current"], ["stack", "list"]):
        result = run_mlrig_in(ready, *args, timeout=GUARD, **env)
        assert result.exit_code == 0, result.stderr
        assert "Traceback" not in result.stderr


def test_the_variables_are_read_at_import_without_failing(ready: Path) -> None:
    """A bad MLRIG_LOCK_TIMEOUT never fails an import (a library user gets the error from
    Client, with the message, not an import-time traceback)."""
    code = ("import mlrig.fsutil, mlrig.stores.sql; from mlrig import Client\n"
            "try:\n    Client()\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=GUARD, env=env_for(ready, MLRIG_LOCK_TIMEOUT="nan"))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.startswith("InputError") and "MLRIG_LOCK_TIMEOUT" in proc.stdout


@pytest.mark.parametrize("value", ["0", "0.3", " 1 "])
def test_small_lock_timeouts_mean_what_they_say(ready: Path, tmp_path: Path,
                                                value: str) -> None:
    """0 and fractions are valid: with the lock held elsewhere, a writer gives up with the
    lock-timeout error (not at once with a nonsense message, not never)."""
    before = snapshot(tmp_path)
    with open(ready / "config.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        result = run_mlrig_in(ready, "profile", "create", "other", timeout=GUARD,
                           MLRIG_LOCK_TIMEOUT=value)
    line = assert_one_line_error(result.exit_code, result.stdout, result.stderr, codes=(1,))
    assert "lock" in line.lower() and "MLRIG_LOCK_TIMEOUT" in line
    assert diff(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize(("variable", "value"), BAD, ids=[f"{v}={x[:12]}" for v, x in BAD])
def test_the_library_refuses_the_same_values(ready: Path, variable: str, value: str) -> None:
    from mlrig.client import Client

    env = {"MLRIG_CONFIG_PATH": str(ready), variable: value}
    with pytest.raises(InputError) as raised:
        Client(env=env)
    assert variable in raised.value.message
    with pytest.raises(InputError):
        check_environment(env)
