"""``mlrig pipeline runs list`` at 100 and at 100,000 runs, paired with ``mlrig stack list``.

    python3 bench/runs_bench.py [--repeat 31] [--sizes 100,100000]

Each size gets a fresh config dir whose default stack's SQLite metadata store holds that
many runs (10 pipelines, 3 step runs each, every tenth run failed), created through the
store itself (schema, indexes) and filled in one transaction. Each round then runs, one
after the other, ``stack list`` and ``pipeline runs list`` on every size, and the
filtered listings on the largest (``--pipeline``, ``--status failed``), through the real
``mlrig`` executable, so a busy machine slows all of them alike. The table gives medians
and the ratios of the goals (issue 13): at most 2 times the 100-run command, at most 1.5
times ``stack list``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def mlrig_executable() -> list[str]:
    beside = Path(sys.executable).with_name("mlrig")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("mlrig")
    return [found] if found else [sys.executable, "-m", "mlrig"]


def metadata_file(config_dir: Path, env: dict[str, str]) -> Path:
    shown = subprocess.run([*mlrig_executable(), "metadata-store", "describe", "default",
                            "-o", "json"], env=env, capture_output=True, text=True, check=True)
    return Path(json.loads(shown.stdout)["metadata_store"]["config"]["uri"])


def fill(path: Path, count: int) -> None:
    """``count`` runs in the metadata store at ``path`` (its schema made by the store)."""
    from mlrig.runtime.metadata.sql import SQLMetadataStore

    store = SQLMetadataStore("default", sqlite_file=path)
    store.check()  # creates the database with the head schema
    store.close()
    host, start = socket.gethostname(), time.time() - count * 60
    runs, steps = [], []
    for i in range(count):
        run_id = uuid.uuid4().hex
        started = start + i * 60
        status = "failed" if i % 10 == 9 else "completed"
        runs.append((run_id, f"pipeline_{i % 10}", status, "default", "default",
                     "default (local)", started, started + 5, "{}", host, 1, None, None, None))
        for position, name in enumerate(("load", "train", "evaluate")):
            steps.append((uuid.uuid4().hex, run_id, position, name, "completed", False,
                          uuid.uuid4().hex, "{}", "{}", "[]", started + position,
                          started + position + 1, 1, None, None, None))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO mlrig_pipeline_runs (id, pipeline, status, stack, profile, "
                     "orchestrator, started, finished, parameters, host, pid, process_start, "
                     "resumed_from, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     runs)
    conn.executemany("INSERT INTO mlrig_step_runs (id, run_id, position, name, status, "
                     "cached, cache_key, cache_parts, parameters, upstream, started, "
                     "finished, attempts, error, logs_uri, original_step_run_id) VALUES "
                     "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", steps)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def timed(args: list[str], env: dict[str, str]) -> float:
    begin = time.perf_counter()
    done = subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = (time.perf_counter() - begin) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--sizes", default="100,100000")
    parser.add_argument("--keep", action="store_true", help="keep the config dirs made")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    exe = mlrig_executable()
    # timed as users run it: with bytecode compiled (PYTHONDONTWRITEBYTECODE would make
    # every command compile what it imports, and more so the one that imports more)
    import mlrig

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(mlrig.__file__).parent)],
                   check=True, stdout=subprocess.DEVNULL)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    envs: dict[int, dict[str, str]] = {}
    try:
        run_bench(options, sizes, exe, envs)
    finally:
        if not options.keep:
            for env in envs.values():
                shutil.rmtree(env["MLRIG_CONFIG_PATH"], ignore_errors=True)


def run_bench(options: argparse.Namespace, sizes: list[int], exe: list[str],
              envs: dict[int, dict[str, str]]) -> None:
    for size in sizes:
        config_dir = Path(tempfile.mkdtemp(prefix=f"mlrig-runs-{size}-"))
        env = dict(os.environ, MLRIG_CONFIG_PATH=str(config_dir), COLUMNS="200")
        envs[size] = env
        subprocess.run([*exe, "stack", "list"], env=env, capture_output=True, check=True)
        begin = time.perf_counter()
        fill(metadata_file(config_dir, env), size)
        print(f"{size:,} runs written in {time.perf_counter() - begin:.1f}s ({config_dir})")
    largest = max(sizes)
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "stack list": ([*exe, "stack", "list"], envs[largest])}
    for size in sizes:
        commands[f"pipeline runs list ({size:,} runs)"] = (
            [*exe, "pipeline", "runs", "list"], envs[size])
    commands[f"pipeline runs list --pipeline pipeline_3 ({largest:,} runs)"] = (
        [*exe, "pipeline", "runs", "list", "--pipeline", "pipeline_3"], envs[largest])
    commands[f"pipeline runs list --status failed ({largest:,} runs)"] = (
        [*exe, "pipeline", "runs", "list", "--status", "failed"], envs[largest])
    commands[f"pipeline runs list -o json ({largest:,} runs)"] = (
        [*exe, "pipeline", "runs", "list", "-o", "json"], envs[largest])
    for args, env in commands.values():  # warm the caches once
        timed(args, env)
    results: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(options.repeat):
        names = list(commands)
        if round_ % 2:  # A B A B: alternate the order, so no command always runs first
            names.reverse()
        for name in names:
            args, env = commands[name]
            results[name].append(timed(args, env))
    stack_list = statistics.median(results["stack list"])
    smallest = statistics.median(results[f"pipeline runs list ({min(sizes):,} runs)"])
    print(f"\n{options.repeat} rounds; load average {os.getloadavg()[0]:.2f} at the end")
    print("| command | median ms | × stack list | × runs list at "
          f"{min(sizes):,} |\n|---|---:|---:|---:|")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"| `mlrig {name}` | {median:.0f} | {median / stack_list:.2f} | "
              f"{median / smallest:.2f} |")


if __name__ == "__main__":
    main()
