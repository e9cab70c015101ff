"""mlrig installed without extras: the local store works; a SQL profile fails with one line
naming the extra that adds it. A real fresh virtual environment, a real ``pip install``."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_without_the_sql_extra(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", str(ROOT)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    probe = subprocess.run([str(python), "-c", "import sqlalchemy"], capture_output=True)
    assert probe.returncode != 0, "the plain install must not bring SQLAlchemy"

    env = {k: v for k, v in os.environ.items() if not k.startswith("MLRIG_")}
    env["MLRIG_CONFIG_PATH"] = str(tmp_path / "config")
    mlrig = str(env_dir / "bin" / "mlrig")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([mlrig, *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)

    assert run("profile", "list").returncode == 0
    assert run("stack", "register", "s", "-o", "default", "-m", "default", "-a",
               "default").returncode == 0
    before = (tmp_path / "config" / "config.yaml").read_bytes()
    for args in (("profile", "create", "db", "--store-type", "sql"),
                 ("profile", "migrate", "default", "--to-store-type", "sql")):
        result = run(*args)
        assert result.returncode == 1, (args, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, result.stderr
        assert "mlrig[sql]" in errors[0]
        assert "Traceback" not in result.stderr
    assert (tmp_path / "config" / "config.yaml").read_bytes() == before
    assert run("stack", "describe", "s").returncode == 0
