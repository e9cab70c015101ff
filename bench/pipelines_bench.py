"""Benchmarks of pipeline runs (issue 13), reported in bench/README.md, never asserted.

    python3 bench/pipelines_bench.py [--rounds 3] [--repeat 3]
                                     [--prefect-python /tmp/prefect-venv/bin/python]

Every figure is measured inside a fresh child process, after one warm-up run (so neither
tool's import or first-run start-up — Prefect's temporary server, mlrig's default profile —
is counted), as the median of ``--repeat`` runs; records are included (mlrig: the default
stack's SQLite metadata store and local artifact store; Prefect: its ephemeral server's
database). With ``--prefect-python`` (a separate venv with ``pip install prefect``, never
the project's), the same flows run in Prefect 3, paired round by round: mlrig, Prefect,
mlrig, Prefect, …

Figures: per no-op step overhead (a 100-step pipeline of independent no-op steps with the
cache off, time / 100), the cost of a cache hit (the same pipeline again with the cache on:
every step a hit, time / 100), a 100-step pipeline end to end, and a 20-step pipeline on
``local``, ``local`` with ``parallelism: 2`` and ``dask`` (a LocalCluster of 2 workers,
started before the timing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- children
def mlrig_child(steps: int, repeat: int, orchestrators: bool) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "src"))
    from mlrig.client import Client
    from mlrig.testing.pipelines import wide

    config = Path(tempfile.mkdtemp(prefix="mlrig-bench-"))
    os.environ["MLRIG_CONFIG_PATH"] = str(config)
    client = Client(config, on_event=lambda level, message: None)
    client.list_stacks()  # the default profile
    quiet = {"events": lambda event: None, "config_path": config}

    def timed(**kwargs: Any) -> float:
        start = time.perf_counter()
        wide.run(**quiet, **kwargs)
        return time.perf_counter() - start

    result: dict[str, Any] = {}
    timed(length=steps, enable_cache=False)  # warm-up
    runs = [timed(length=steps, enable_cache=False) for _ in range(repeat)]
    result["run_s"] = statistics.median(runs)
    result["per_step_ms"] = result["run_s"] / steps * 1000
    hits = [timed(length=steps, enable_cache=True) for _ in range(repeat)]
    result["cached_run_s"] = statistics.median(hits)
    result["per_hit_ms"] = result["cached_run_s"] / steps * 1000
    if orchestrators:
        import distributed

        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        base = {"metadata_store": "default", "artifact_store": "default"}
        client.register_component("orchestrator", "par", "local", {"parallelism": 2})
        client.register_component("orchestrator", "dsk", "dask",
                                  {"address": cluster.scheduler_address})
        client.register_stack("par", {**base, "orchestrator": "par"})
        client.register_stack("dsk", {**base, "orchestrator": "dsk"})
        for label, stack in (("local", "default"), ("parallel", "par"), ("dask", "dsk")):
            timed(length=20, enable_cache=False, stack=stack)
            times = [timed(length=20, enable_cache=False, stack=stack) for _ in range(repeat)]
            result[f"20_{label}_s"] = statistics.median(times)
        cluster.close()
    return result


PREFECT_CHILD = r'''
import json, os, statistics, sys, tempfile, time
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-bench-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# a busy machine: give the temporary server time to start
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
from prefect import flow, task
from prefect.cache_policies import INPUTS, NO_CACHE

steps, repeat = int(sys.argv[1]), int(sys.argv[2])

@task(cache_policy=NO_CACHE, persist_result=False)
def noop(index: int) -> None:
    return None

@task(cache_policy=INPUTS, persist_result=True)
def cached_noop(index: int) -> None:
    return None

@flow
def many(n: int) -> None:
    for i in range(n):
        noop(i)

@flow
def many_cached(n: int) -> None:
    for i in range(n):
        cached_noop(i)

def timed(f):
    start = time.perf_counter(); f(steps); return time.perf_counter() - start

timed(many)  # warm-up: starts the temporary server
runs = [timed(many) for _ in range(repeat)]
timed(many_cached)  # fills the cache
hits = [timed(many_cached) for _ in range(repeat)]
result = {"run_s": statistics.median(runs), "cached_run_s": statistics.median(hits)}
result["per_step_ms"] = result["run_s"] / steps * 1000
result["per_hit_ms"] = result["cached_run_s"] / steps * 1000
print("RESULT " + json.dumps(result))
'''


def child(argv: list[str], tries: int = 2) -> dict[str, Any]:
    for _ in range(tries):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                return dict(json.loads(line[7:]))
        print(f"{argv[0]} failed, again:\n{proc.stderr[-1500:]}", file=sys.stderr)
    raise RuntimeError(f"{argv[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--prefect-python", default=None)
    parser.add_argument("--child", choices=["mlrig"], default=None)
    parser.add_argument("--orchestrators", action="store_true")
    args = parser.parse_args()
    if args.child == "mlrig":
        print("RESULT " + json.dumps(mlrig_child(args.steps, args.repeat, args.orchestrators)))
        return
    me = [sys.executable, str(Path(__file__).resolve()), "--child", "mlrig",
          "--steps", str(args.steps), "--repeat", str(args.repeat)]
    mlrig_rounds, prefect_rounds = [], []
    for round_ in range(args.rounds):
        mlrig_rounds.append(child(me + (["--orchestrators"] if round_ == 0 else [])))
        print(f"round {round_ + 1} mlrig: {json.dumps(mlrig_rounds[-1])}", flush=True)
        if args.prefect_python:
            prefect_rounds.append(child([args.prefect_python, "-c", PREFECT_CHILD,
                                         str(args.steps), str(args.repeat)]))
            print(f"round {round_ + 1} prefect: {json.dumps(prefect_rounds[-1])}", flush=True)

    def med(rounds: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    print(f"\nload average: {os.getloadavg()[0]:.1f}; {args.rounds} rounds, "
          f"median of {args.repeat} runs each")
    print("| figure | mlrig | Prefect 3 | ratio |")
    print("|---|---|---|---|")
    rows = [("per no-op step", "per_step_ms", "ms"), ("per cache hit", "per_hit_ms", "ms"),
            (f"{args.steps}-step pipeline end to end", "run_s", "s"),
            (f"{args.steps}-step pipeline, all cache hits", "cached_run_s", "s")]
    for label, key, unit in rows:
        ours = med(mlrig_rounds, key)
        if prefect_rounds:
            theirs = med(prefect_rounds, key)
            print(f"| {label} | {ours:.3g} {unit} | {theirs:.3g} {unit} | "
                  f"{ours / theirs:.3f}× |")
        else:
            print(f"| {label} | {ours:.3g} {unit} | – | – |")
    first = mlrig_rounds[0]
    print("\n| 20 no-op steps on | wall time | per step |")
    print("|---|---|---|")
    for label in ("local", "parallel", "dask"):
        seconds = first[f"20_{label}_s"]
        print(f"| {label} | {seconds * 1000:.0f} ms | {seconds / 20 * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
