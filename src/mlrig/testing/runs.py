"""The real ``mlrig`` executable in a subprocess, and checks of what it printed.

For store and flavor authors as for mlrig's own tests: a test that proves what a user sees
runs the installed console script, never the CLI in-process.

* :func:`run_mlrig` — the executable with the current environment plus ``env``;
* :func:`run_mlrig_in` — the executable on a given config directory (``MLRIG_CONFIG_PATH``),
  wide output (``COLUMNS=200``), no stdin unless ``input`` is given;
* :func:`assert_one_line_error` — the shape of every refusal: exit 1 or 2, one ``Error:``
  line, no traceback;
* :func:`modules_imported_by` and :func:`heavy` — what a command imports (its start-up cost).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: the informational lines commands print on stderr before doing their work
BANNER_PREFIXES = ("Running without an active repository root.", "Running with active ")

#: SQL, HTTP and server libraries: none of them belongs on a local profile's read path
HEAVY_MODULES = ("sqlalchemy", "alembic", "psycopg", "psycopg2", "pymysql", "httpx",
                 "requests", "fastapi", "uvicorn", "starlette", "urllib3", "mlrig.stores.sql",
                 "mlrig.server")


@dataclass
class Run:
    """What one run of the ``mlrig`` executable did."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stderr + self.stdout


def mlrig_command() -> list[str]:
    """The real executable: the ``mlrig`` script next to this interpreter (not a version
    manager's shim), else the one on PATH, else ``python -m mlrig``."""
    beside = Path(sys.executable).with_name("mlrig")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("mlrig")
    return [found] if found else [sys.executable, "-m", "mlrig"]


def run_mlrig(*args: str, env: dict[str, str] | None = None, cwd: str | Path | None = None,
              input: str | None = None, timeout: float = 60) -> Run:
    """Run the real executable with the current environment plus ``env``; ``timeout``
    guards against a hang (it is no speed limit)."""
    proc = subprocess.run([*mlrig_command(), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, input=input,
                          timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def env_for(config_dir: Path, **extra: str) -> dict[str, str]:
    """The current environment pointed at ``config_dir``, with wide output (``COLUMNS``
    200) and ``extra`` on top."""
    env = dict(os.environ)
    env["MLRIG_CONFIG_PATH"] = str(config_dir)
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_mlrig_in(config_dir: Path, *args: str, cwd: Path | None = None, timeout: float = 60,
                 input: str | None = None, **extra_env: str) -> Run:
    """The real executable on ``config_dir`` (:func:`env_for` plus ``extra_env``); stdin is
    empty unless ``input`` is given; ``timeout`` guards against a hang."""
    proc = subprocess.run(
        [*mlrig_command(), *args], capture_output=True, text=True, timeout=timeout,
        env=env_for(config_dir, **extra_env), cwd=cwd,
        stdin=subprocess.DEVNULL if input is None else None, input=input,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def error_lines(stderr: str) -> list[str]:
    """The ``Error:`` lines of ``stderr``."""
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def assert_one_line_error(code: int, stdout: str, stderr: str, codes: tuple[int, ...] = (1, 2)
                          ) -> str:
    """Exit 1 or 2, exactly one ``Error:`` line, nothing else but the banner, no traceback;
    returns the error line."""
    assert code in codes, f"exit code {code}\nstdout: {stdout!r}\nstderr: {stderr!r}"
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    errors = error_lines(stderr)
    assert len(errors) == 1, f"expected one error line, got: {stderr!r}"
    others = [line for line in stderr.splitlines()
              if not line.startswith("Error:") and not line.startswith(BANNER_PREFIXES)]
    assert others == [], f"unexpected stderr lines: {others!r}"
    assert not errors[0].startswith("Error: unexpected "), f"an internal error: {errors[0]!r}"
    return errors[0]


#: the program :func:`modules_imported_by` runs: ``python -c IMPORTS_WRAPPER OUT ARGS...`` runs
#: ``mlrig ARGS...`` and writes its exit code and the modules it imported, sorted, to the file
#: OUT. Modules already loaded when the wrapper starts (by the interpreter's start-up: ``site``
#: and the ``.pth`` files of the environment, which may import anything) are not the
#: command's and are left out; the wrapper's own ``json`` is imported only after the list is
#: taken.
IMPORTS_WRAPPER = """
import sys
before = set(sys.modules)
out = sys.argv[1]
sys.argv = ["mlrig", *sys.argv[2:]]
from mlrig.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
modules = sorted(set(sys.modules) - before)
import json
with open(out, "w") as handle:
    json.dump({"code": code, "modules": modules}, handle)
"""


def modules_imported_by(config_dir: Path, tmp_path: Path, *args: str) -> list[str]:
    """Every module the command ``mlrig *args`` has imported when it ends (beyond those
    the interpreter's start-up loaded), in a fresh interpreter on ``config_dir`` (through
    the executable's entry point; the command's own output is untouched). The command must
    succeed."""
    out = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTS_WRAPPER, str(out), *args], capture_output=True,
        text=True, env=env_for(config_dir), cwd=tmp_path, timeout=60,
    )
    assert out.exists(), proc.stderr
    data = json.loads(out.read_text())
    assert data["code"] in (0, None), proc.stderr
    return list(data["modules"])


def heavy(modules: list[str], packages: tuple[str, ...] = HEAVY_MODULES) -> list[str]:
    """The ``modules`` that are (or are inside) one of ``packages``."""
    return sorted(m for m in modules if m.split(".")[0] in packages or any(
        m == f or m.startswith(f + ".") for f in packages))
