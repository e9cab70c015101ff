"""Many processes writing one SQL store at once: nothing lost, nothing duplicated, no
"database is locked", and a race for one name fails exactly like a sequential duplicate."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlrig.client import Client
from mlrig.testing.clients import quiet
from mlrig.testing.runs import env_for, mlrig_command

pytestmark = pytest.mark.slow

PROCESSES, EACH = 4, 25
PROFILE = "team"


def make_profile(config_dir: Path, url: str) -> None:
    client = Client(config_dir, on_event=quiet)
    client.create_profile(PROFILE, store_type="sql", url=url)
    client.close()


def register_many(config_dir: str, worker: int, count: int, barrier: Any) -> list[str]:
    """In a child process: ``count`` components and stacks; returns the errors."""
    client = Client(config_dir, profile=PROFILE, on_event=quiet)
    errors: list[str] = []
    barrier.wait()
    for i in range(count):
        try:
            client.register_component("artifact_store", f"w{worker}-{i}", "local",
                                      {"path": f"/srv/{worker}/{i}"})
            client.register_stack(f"s{worker}-{i}", {"orchestrator": "default",
                                                     "metadata_store": "default",
                                                     "artifact_store": f"w{worker}-{i}"})
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    client.close()
    return errors


def race_for_names(config_dir: str, names: list[str], barrier: Any) -> dict[str, str]:
    """In a child process: try to register every name; ``{name: "ok" | error message}``."""
    client = Client(config_dir, profile=PROFILE, on_event=quiet)
    outcome: dict[str, str] = {}
    barrier.wait()
    for name in names:
        try:
            client.register_component("artifact_store", name, "local", {"path": f"/{name}"})
            outcome[name] = "ok"
        except Exception as exc:
            outcome[name] = f"{type(exc).__name__}: {exc}"
    client.close()
    return outcome


def test_n_processes_times_m_registrations(any_url: str, config_dir: Path) -> None:
    make_profile(config_dir, any_url)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        with context.Pool(PROCESSES) as pool:
            results = pool.starmap(register_many, [(str(config_dir), w, EACH, barrier)
                                                   for w in range(PROCESSES)])
    assert results == [[]] * PROCESSES
    client = Client(config_dir, profile=PROFILE, on_event=quiet)
    components = [c.name for c in client.list_components("artifact_store")]
    stacks = {s.name: s for s in client.list_stacks()}
    client.close()
    expected = {f"w{w}-{i}" for w in range(PROCESSES) for i in range(EACH)}
    assert len(components) == PROCESSES * EACH + 1  # and the default one
    assert set(components) == expected | {"default"}
    assert len(stacks) == PROCESSES * EACH + 1
    for w in range(PROCESSES):
        for i in range(EACH):
            assert stacks[f"s{w}-{i}"].components[_artifact()] == f"w{w}-{i}"


def _artifact() -> Any:
    from mlrig.models import ComponentType

    return ComponentType.ARTIFACT_STORE


def test_a_race_for_one_name_has_one_winner_and_the_usual_error(any_url: str,
                                                                config_dir: Path) -> None:
    make_profile(config_dir, any_url)
    names = [f"shared-{i}" for i in range(20)]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            outcomes = pool.starmap(race_for_names, [(str(config_dir), names, barrier)] * 2)
    for name in names:
        results = sorted(o[name] for o in outcomes)
        assert results == [
            f"AlreadyExistsError: A component of type 'artifact_store' with the name '{name}' "
            "already exists.",
            "ok",
        ], results


def test_parallel_cli_invocations_never_fail_with_database_is_locked(
        any_url: str, config_dir: Path) -> None:
    """Real ``mlrig`` processes: 4 shells, each running 3 registrations one after another."""
    make_profile(config_dir, any_url)
    mlrig = " ".join(mlrig_command())
    procs = []
    for w in range(4):
        script = "; ".join(
            f"{mlrig} --profile {PROFILE} artifact-store register c{w}-{i} -f local "
            f"--path=/tmp/{w}/{i} || echo FAILED" for i in range(3))
        procs.append(subprocess.Popen(["bash", "-c", script], env=env_for(config_dir),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    outputs = [p.communicate(timeout=240) for p in procs]
    for stdout, stderr in outputs:
        assert "FAILED" not in stdout, stderr
        assert "locked" not in stderr.lower() and "Traceback" not in stderr
    listed = subprocess.run(
        [*mlrig_command(), "--profile", PROFILE, "artifact-store", "list", "-o", "json"],
        env=env_for(config_dir), capture_output=True, text=True, timeout=60, check=True)
    names = sorted(c["name"] for c in json.loads(listed.stdout)["artifact_stores"])
    assert names == sorted(["default"] + [f"c{w}-{i}" for w in range(4) for i in range(3)])


def test_two_cli_processes_racing_for_one_name(any_url: str, config_dir: Path) -> None:
    make_profile(config_dir, any_url)
    for round_ in range(3):
        name = f"race{round_}"
        procs = [subprocess.Popen(
            [*mlrig_command(), "--profile", PROFILE, "artifact-store", "register", name,
             "-f", "local", f"--path=/tmp/{name}"],
            env=env_for(config_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True) for _ in range(2)]
        results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 1], results
        loser = next(err for code, err in results if code == 1)
        error_lines = [line for line in loser.splitlines() if line.startswith("Error:")]
        assert error_lines == [
            f"Error: A component of type 'artifact_store' with the name '{name}' already exists."
        ], loser
    assert os.environ.get("MLRIG_CONFIG_PATH") == str(config_dir)


# ------------------------------------------------- the fast stores and SqlStore side by side


def increment(url: str, fast: bool, count: int, barrier: Any) -> list[str]:
    """In a child process: ``count`` read-modify-write transactions adding 1 to the
    component 'counter' — through the store the ``sql`` backend opens (sqlite3 or psycopg2)
    or through SqlStore (SQLAlchemy); returns the store's class and the errors."""
    from mlrig.models import Component, ComponentType, ProfileConfig
    from mlrig.stores import backend
    from mlrig.stores.sql import SqlStore

    a = ComponentType.ARTIFACT_STORE
    store: Any = (backend("sql").open(ProfileConfig("p", "sql", url), env=None, events=None)
                  if fast else SqlStore(url))
    errors: list[str] = [type(store).__name__]
    barrier.wait()
    for _ in range(count):
        try:
            with store.write() as txn:
                current = txn.get_component(a, "counter")
                txn.update_component(Component(a, "counter", "local",
                                               {"n": current.config["n"] + 1},
                                               id=current.id))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    store.close()
    return errors


@pytest.mark.parametrize("url_fixture", ["sqlite_url", "pg_url"])
def test_writers_on_both_paths_lose_no_update(url_fixture: str,
                                              request: pytest.FixtureRequest) -> None:
    """Processes writing through sqlite3/psycopg2 and processes writing through SQLAlchemy
    serialise against each other (BEGIN IMMEDIATE, the mlrig_store row lock): every
    increment of one value survives."""
    from mlrig.models import Component, ComponentType
    from mlrig.stores.sql import SqlStore

    url = str(request.getfixturevalue(url_fixture))
    store = SqlStore(url)
    store.initialize()
    with store.write() as txn:
        txn.create_component(Component(ComponentType.ARTIFACT_STORE, "counter", "local",
                                       {"n": 0}))
    store.close()
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        with context.Pool(PROCESSES) as pool:
            results = pool.starmap(increment, [(url, w % 2 == 0, EACH, barrier)
                                               for w in range(PROCESSES)])
    fast = "SqliteStore" if url_fixture == "sqlite_url" else "PostgresStore"
    assert results == [[fast], ["SqlStore"]] * (PROCESSES // 2)
    with store.read() as view:
        counter = view.get_component(ComponentType.ARTIFACT_STORE, "counter")
    store.close()
    assert counter is not None and counter.config["n"] == PROCESSES * EACH
