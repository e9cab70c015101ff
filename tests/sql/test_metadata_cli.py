"""A stack whose metadata store is on PostgreSQL or MariaDB: a pipeline run recorded there
and inspected with the real executable; a wrong password is one line, never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mlrig.client import Client
from mlrig.testing.runs import assert_one_line_error, run_mlrig_in


@pytest.fixture(params=["postgresql", "mysql"])
def server_metadata(request: pytest.FixtureRequest, config_dir: Path) -> dict[str, str]:
    """The default stack with a metadata store 'shared' on a new database of the server."""
    url = make_url(str(request.getfixturevalue("pg_url" if request.param == "postgresql"
                                               else "mysql_url")))
    password = str(url.password)
    register = run_mlrig_in(
        config_dir, "metadata-store", "register", "shared", "-f", request.param,
        f"--host={url.host}", f"--port={url.port}", f"--database={url.database}",
        f"--username={url.username}", f"--password={password}")
    assert register.exit_code == 0, register.stderr
    assert run_mlrig_in(config_dir, "stack", "update", "default", "-m", "shared").exit_code == 0
    return {"flavor": request.param, "password": password, "database": str(url.database)}


def test_runs_recorded_on_a_server_and_listed(server_metadata: dict[str, str],
                                              client: Client, config_dir: Path) -> None:
    first = client.run_pipeline("mlrig.testing.pipelines:diamond")
    second = client.run_pipeline("mlrig.testing.pipelines:diamond")
    listed = run_mlrig_in(config_dir, "pipeline", "runs", "list", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)["runs"]] == [second.id, first.id]
    described = json.loads(run_mlrig_in(config_dir, "pipeline", "runs", "describe", second.id,
                                        "-o", "json").stdout)["run"]
    assert all(s["cached"] for s in described["steps"])
    run = client.get_pipeline_run(second.id)
    assert run.steps["summary"].outputs["report"].load() == {
        "short": 4, "long": "QUICK BROWN JUMPS OVER LAZY"}
    assert ":***@" not in listed.output  # nothing about the URL shown at all


def test_a_wrong_password_is_one_line_and_masked(server_metadata: dict[str, str],
                                                 config_dir: Path) -> None:
    wrong = "Wr0ng-Passw0rd-xyz"
    update = run_mlrig_in(config_dir, "metadata-store", "update", "shared",
                          f"--password={wrong}")
    assert update.exit_code == 0, update.stderr
    done = run_mlrig_in(config_dir, "pipeline", "runs", "list")
    line = assert_one_line_error(done.exit_code, done.stdout, done.stderr)
    assert "metadata store 'shared'" in line and server_metadata["database"] in line
    assert wrong not in done.output
    assert "mlrig metadata-store update shared" in line
