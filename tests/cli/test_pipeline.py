"""``mlrig pipeline list`` and ``mlrig pipeline runs …`` with the real executable, over runs
recorded by real pipeline runs on the default stack (SQLite metadata store, local artifact
store); the library's view of the same runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.client import Client
from mlrig.testing.metadata import settled_snapshot
from mlrig.testing.runs import (
    Run,
    assert_one_line_error,
    env_for,
    error_lines,
    heavy,
    modules_imported_by,
    run_mlrig_in,
)

LINEAR = "mlrig.testing.pipelines:linear"
DIAMOND = "mlrig.testing.pipelines:diamond"


def mlrig(config_dir: Path, *args: str, **kwargs: Any) -> Run:
    return run_mlrig_in(config_dir, *args, **kwargs)


def document(config_dir: Path, *args: str) -> dict[str, Any]:
    done = mlrig(config_dir, *args, "-o", "json")
    assert done.exit_code == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture
def recorded(client: Client, config_dir: Path) -> dict[str, str]:
    """Three runs: linear, linear again (from the cache), diamond."""
    first = client.run_pipeline(LINEAR)
    second = client.run_pipeline(LINEAR)
    third = client.run_pipeline(DIAMOND)
    return {"first": first.id, "second": second.id, "diamond": third.id}


def test_pipeline_list(recorded: dict[str, str], config_dir: Path) -> None:
    listed = mlrig(config_dir, "pipeline", "list")
    assert listed.exit_code == 0, listed.stderr
    assert "linear" in listed.stdout and "diamond" in listed.stdout
    found = document(config_dir, "pipeline", "list")["pipelines"]
    assert [(p["name"], p["runs"]) for p in found] == [("diamond", 1), ("linear", 2)]
    assert all(p["last_run"] for p in found)


def test_runs_list_newest_first_with_filters(recorded: dict[str, str], config_dir: Path) -> None:
    runs = document(config_dir, "pipeline", "runs", "list")["runs"]
    assert [r["id"] for r in runs] == [recorded["diamond"], recorded["second"],
                                       recorded["first"]]
    for run in runs:
        assert run["status"] == "completed"
        assert run["stack"] == "default" and run["profile"] == "default"
        assert set(run) >= {"id", "pipeline", "status", "stack", "profile", "started",
                            "finished", "duration"}
    only = document(config_dir, "pipeline", "runs", "list", "--pipeline", "linear")["runs"]
    assert [r["id"] for r in only] == [recorded["second"], recorded["first"]]
    assert document(config_dir, "pipeline", "runs", "list", "--status", "failed")["runs"] == []
    table = mlrig(config_dir, "pipeline", "runs", "list")
    assert table.exit_code == 0
    for run_id in recorded.values():
        assert run_id[:12] in table.stdout
    as_yaml = yaml.safe_load(mlrig(config_dir, "pipeline", "runs", "list", "-o", "yaml").stdout)
    assert as_yaml == document(config_dir, "pipeline", "runs", "list")


def test_runs_list_in_pages(recorded: dict[str, str], config_dir: Path) -> None:
    first = mlrig(config_dir, "pipeline", "runs", "list", "--limit", "2")
    assert first.exit_code == 0
    hint = [line for line in first.stderr.splitlines() if line.startswith("More runs:")]
    assert len(hint) == 1
    command = hint[0].removeprefix("More runs: mlrig ").split()
    rest = document(config_dir, *command)
    page = document(config_dir, "pipeline", "runs", "list", "--limit", "2")
    assert page["next_cursor"] == command[-1]
    shown = [r["id"] for r in page["runs"]] + [r["id"] for r in rest["runs"]]
    assert shown == [recorded["diamond"], recorded["second"], recorded["first"]]
    assert rest["next_cursor"] is None


def test_runs_describe(recorded: dict[str, str], config_dir: Path) -> None:
    run = document(config_dir, "pipeline", "runs", "describe", recorded["second"][:8])["run"]
    assert run["id"] == recorded["second"]
    assert (run["pipeline"], run["status"], run["stack"], run["profile"]) == (
        "linear", "completed", "default", "default")
    steps = {s["name"]: s for s in run["steps"]}
    assert list(steps) == ["make_numbers", "scale", "total"]
    assert all(s["cached"] and s["status"] == "cached" for s in steps.values())
    assert steps["total"]["upstream"] == ["scale"]
    output = steps["total"]["outputs"]["output"]
    assert output["data_type"] and output["digest"].startswith("sha256:")
    first = document(config_dir, "pipeline", "runs", "describe", recorded["first"])["run"]
    assert not any(s["cached"] for s in first["steps"])
    # the cached run shows the outputs of the run it reused
    assert {s["name"]: s["outputs"]["output"]["id"] for s in first["steps"]} == {
        name: s["outputs"]["output"]["id"] for name, s in steps.items()}
    table = mlrig(config_dir, "pipeline", "runs", "describe", recorded["diamond"])
    assert table.exit_code == 0, table.stderr
    for name in ("split_words", "count_words", "upper", "summary", "DAG:", "CACHED"):
        assert name in table.stdout
    dag = table.stdout.split("DAG:", 1)[1]
    assert dag.index("split_words") < dag.index("count_words") < dag.index("summary")


def test_runs_logs(recorded: dict[str, str], config_dir: Path) -> None:
    one = mlrig(config_dir, "pipeline", "runs", "logs", recorded["first"], "total")
    assert one.exit_code == 0, one.stderr
    assert "total of 5 values" in one.stdout
    every = mlrig(config_dir, "pipeline", "runs", "logs", recorded["first"])
    assert "==> total <==" in every.stdout and "==> scale <==" in every.stdout
    missing = mlrig(config_dir, "pipeline", "runs", "logs", recorded["first"], "nope")
    line = assert_one_line_error(missing.exit_code, missing.stdout, missing.stderr)
    assert "'nope'" in line and "'total'" in line


def test_runs_delete(recorded: dict[str, str], config_dir: Path) -> None:
    before = settled_snapshot(config_dir)
    refused = mlrig(config_dir, "pipeline", "runs", "delete", recorded["first"])
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    assert len(error_lines(refused.stderr)) == 1 and "--yes" in refused.stderr
    assert settled_snapshot(config_dir) == before
    done = mlrig(config_dir, "pipeline", "runs", "delete", recorded["first"], "-y")
    assert done.exit_code == 0, done.stderr
    assert f"Deleted run '{recorded['first']}'" in done.stdout
    gone = mlrig(config_dir, "pipeline", "runs", "describe", recorded["first"])
    assert "No pipeline run" in assert_one_line_error(gone.exit_code, gone.stdout, gone.stderr)
    # the cached run still shows its outputs and their logs, which the deleted run made
    second = document(config_dir, "pipeline", "runs", "describe", recorded["second"])["run"]
    assert all("data_type" in s["outputs"]["output"] for s in second["steps"])
    logs = mlrig(config_dir, "pipeline", "runs", "logs", recorded["second"], "total")
    assert logs.exit_code == 0 and "total of 5 values" in logs.stdout
    assert [r["id"] for r in document(config_dir, "pipeline", "runs", "list")["runs"]] == [
        recorded["diamond"], recorded["second"]]


def test_explain_cache(client: Client, config_dir: Path) -> None:
    client.run_pipeline(LINEAR)
    changed = client.run_pipeline(
        LINEAR, config={"parameters": {"make_numbers": {"count": 7}}})
    explained = document(config_dir, "pipeline", "runs", "explain-cache", changed.id,
                         "make_numbers")["explanation"]
    assert explained["changed"] == ["parameter:count"]
    assert explained["cached"] is False
    table = mlrig(config_dir, "pipeline", "runs", "explain-cache", changed.id, "make_numbers")
    assert table.exit_code == 0, table.stderr
    assert "'parameter:count' changed" in table.stdout
    assert "parameter:count" in table.stdout and "source" in table.stdout


@pytest.mark.parametrize("args", [
    ("pipeline", "runs", "describe", "nope"),
    ("pipeline", "runs", "list", "--cursor", "garbage!"),
    ("pipeline", "runs", "list", "--status", "sleeping"),
    ("pipeline", "runs", "list", "--limit", "0"),
    ("pipeline", "runs", "logs", "nope"),
    ("pipeline", "runs", "delete", "nope", "-y"),
    ("pipeline", "runs", "explain-cache", "nope", "x"),
])
def test_bad_input_is_one_line_and_changes_nothing(recorded: dict[str, str], config_dir: Path,
                                                   args: tuple[str, ...]) -> None:
    before = settled_snapshot(config_dir)
    done = mlrig(config_dir, *args)
    assert_one_line_error(done.exit_code, done.stdout, done.stderr)
    assert settled_snapshot(config_dir) == before


def test_an_ambiguous_prefix_is_one_line(client: Client, config_dir: Path) -> None:
    ids = [client.run_pipeline(LINEAR).id for _ in range(17)]
    # among 17 hex ids two share a first character
    prefix = next(i[0] for i in ids if sum(j[0] == i[0] for j in ids) > 1)
    done = mlrig(config_dir, "pipeline", "runs", "describe", prefix)
    assert "ambiguous" in assert_one_line_error(done.exit_code, done.stdout, done.stderr)


def test_an_empty_store_lists_nothing_and_creates_nothing(config_dir: Path) -> None:
    assert mlrig(config_dir, "stack", "list").exit_code == 0  # the default profile
    before = settled_snapshot(config_dir)
    listed = mlrig(config_dir, "pipeline", "runs", "list")
    assert listed.exit_code == 0 and "No pipeline runs found." in listed.stdout
    assert document(config_dir, "pipeline", "list") == {"format_version": 1, "pipelines": []}
    assert settled_snapshot(config_dir) == before  # no database made by reading


def test_runs_list_imports_no_sql_library(recorded: dict[str, str], config_dir: Path,
                                          tmp_path: Path) -> None:
    modules = modules_imported_by(config_dir, tmp_path, "pipeline", "runs", "list")
    assert heavy(modules, ("sqlalchemy", "alembic", "psycopg", "pymysql", "dask",
                           "distributed", "numpy", "pandas")) == []


def test_the_library_and_the_cli_show_the_same_run(recorded: dict[str, str],
                                                   config_dir: Path) -> None:
    run = Client().get_pipeline_run(recorded["diamond"][:10])
    assert run.id == recorded["diamond"]
    assert run.steps["summary"].outputs["report"].load() == {
        "short": 4, "long": "QUICK BROWN JUMPS OVER LAZY"}
    assert run.steps["split_words"].outputs["short"].load() == ["the", "fox", "the", "dog"]
    assert run.steps["upper"].inputs["words"].id == run.steps["split_words"].outputs["long"].id
    described = document(config_dir, "pipeline", "runs", "describe", run.id)["run"]
    assert [s["name"] for s in described["steps"]] == list(run.steps)
    for step in described["steps"]:
        view = run.steps[step["name"]]
        assert view.status.value == step["status"] and view.cached == step["cached"]
        assert {n: a.id for n, a in view.outputs.items()} == {
            n: a["id"] for n, a in step["outputs"].items()}


SLOW = textwrap.dedent("""
    import sys, time
    from mlrig import pipeline, step

    @step
    def quick() -> int:
        return 1

    @step
    def slow(value: int) -> int:
        time.sleep(600)
        return value

    @pipeline
    def hangs() -> None:
        slow(quick())

    if __name__ == "__main__":
        hangs()
""")


@pytest.mark.slow
def test_a_run_killed_with_sigkill_is_listed_as_failed(config_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "hangs.py"
    script.write_text(SLOW)
    assert mlrig(config_dir, "stack", "list").exit_code == 0
    driver = subprocess.Popen([sys.executable, str(script)], env=env_for(config_dir),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            runs = document(config_dir, "pipeline", "runs", "list")["runs"]
            if runs and any(s["status"] == "running" for s in document(
                    config_dir, "pipeline", "runs", "describe", runs[0]["id"])["run"]["steps"]):
                break
            assert time.monotonic() < deadline, "the run never reached its slow step"
            time.sleep(0.2)
        assert runs[0]["status"] == "running"
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    after = document(config_dir, "pipeline", "runs", "list")["runs"]
    assert after[0]["id"] == runs[0]["id"] and after[0]["status"] == "failed"
    assert str(driver.pid) in after[0]["error"]
    steps = document(config_dir, "pipeline", "runs", "describe",
                     runs[0]["id"])["run"]["steps"]
    assert {s["name"]: s["status"] for s in steps}["slow"] == "failed"
    table = mlrig(config_dir, "pipeline", "runs", "list", "--status", "failed")
    assert runs[0]["id"][:12] in table.stdout


def test_a_newer_schema_is_one_line_naming_the_database(recorded: dict[str, str],
                                                        config_dir: Path) -> None:
    import sqlite3

    (db,) = config_dir.rglob("metadata.db")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE mlrig_runs_alembic_version SET version_num = 'm0099_from_the_future'")
    conn.commit()
    conn.close()
    before = settled_snapshot(config_dir)
    for args in (("pipeline", "runs", "list"), ("pipeline", "list"),
                 ("pipeline", "runs", "describe", recorded["first"])):
        done = mlrig(config_dir, *args)
        line = assert_one_line_error(done.exit_code, done.stdout, done.stderr)
        assert str(db) in line and "m0099_from_the_future" in line and "untouched" in line
    assert settled_snapshot(config_dir) == before


def test_runs_logs_shows_only_logs_this_profile_wrote(recorded: dict[str, str], client: Client,
                                                      config_dir: Path, tmp_path: Path) -> None:
    """A record that names another file (an edited record, a shared metadata store) is
    refused in one line: the file is never read or printed."""
    import sqlite3

    private = tmp_path / "private.txt"
    private.write_text("ssh key material")
    database = client.get_component("metadata_store").config["uri"]
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE mlrig_step_runs SET logs_uri = ? WHERE run_id = ? AND name = ?",
                     (str(private), recorded["first"], "total"))
    done = mlrig(config_dir, "pipeline", "runs", "logs", recorded["first"], "total")
    line = assert_one_line_error(done.exit_code, done.stdout, done.stderr)
    assert "not one this profile wrote" in line
    assert "ssh key material" not in done.stdout + done.stderr


def test_a_script_that_exits_while_loading_is_one_line(config_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "exits.py"
    script.write_text("from mlrig import pipeline\nraise SystemExit(3)\n")
    assert mlrig(config_dir, "profile", "list").exit_code == 0  # the first run's lines
    done = mlrig(config_dir, "pipeline", "run", f"{script}:p")
    line = assert_one_line_error(done.exit_code, done.stdout, done.stderr)
    assert "SystemExit" in line and "__main__" in line
