"""Benchmarks of ``mlrig server`` (issue 12), reported in bench/README.md, never asserted.

    python3 bench/server_bench.py [--rounds 21] [--sizes 100,10000] [--seconds 5]
                                  [--clients 20] [--writes 50] [--cli-writes 5]

Every server is a real uvicorn process on 127.0.0.1 (``mlrig.testing.server.served``).
Sections: (1) ``mlrig stack list`` on a rest profile vs a local one vs ``python3 -c pass``,
paired round by round; (2) p50/p95 of one page (``GET /api/v1/components/<type>?limit=100``
and ``GET /api/v1/stacks?limit=100``) with N components on SQLite (and PostgreSQL when
``MLRIG_TEST_POSTGRES_URL`` names a server); (3) authenticated requests per second with 1
and 4 workers next to a bare FastAPI endpoint; (4) concurrent writers through the library
and through the CLI: lost updates, conflicts, throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mlrig.models import Component, ComponentType, Stack  # noqa: E402
from mlrig.stores.rest import Http, RestStore  # noqa: E402
from mlrig.testing.server import free_port, served  # noqa: E402

A = ComponentType.ARTIFACT_STORE


def mlrig_argv() -> list[str]:
    beside = Path(sys.executable).with_name("mlrig")
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "mlrig"]


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    return (time.perf_counter() - start) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


SERVED: dict[str, str | None] = {"store": "sqlite"}


def served_store(tmp: Path, name: str) -> str | None:
    """The store a benchmark's server serves: a new SQLite file, or a new local store."""
    if SERVED["store"] == "sqlite":
        return f"sqlite:///{tmp / f'{name}.db'}"
    return None


def startup(rounds: int, tmp: Path) -> list[str]:
    lines = [f"### `mlrig stack list`: rest profile (server on {SERVED['store']}) vs local "
             "profile vs `python3 -c pass`", "",
             "| what | median ms | p95 ms | × python3 -c pass |", "|---|---:|---:|---:|"]
    with served(tmp / "startup", served_store(tmp, "startup")) as server:
        config = tmp / "startup-client"
        env = {**os.environ, "MLRIG_CONFIG_PATH": str(config), "MLRIG_TEAM": server.admin_token}
        mlrig = mlrig_argv()
        subprocess.run([*mlrig, "profile", "list"], env=env, capture_output=True, check=True)
        subprocess.run([*mlrig, "profile", "create", "team", "-t", "rest", "--url", server.url,
                        "--token-env", "MLRIG_TEAM"], env=env, capture_output=True, check=True)
        results: dict[str, list[float]] = {"python3 -c pass": [], "stack list (local)": [],
                                           "stack list (rest)": []}
        for _ in range(rounds + 1):
            results["python3 -c pass"].append(timed([sys.executable, "-c", "pass"], env))
            results["stack list (local)"].append(timed([*mlrig, "stack", "list"], env))
            results["stack list (rest)"].append(
                timed([*mlrig, "--profile", "team", "stack", "list"], env))
        for values in results.values():
            del values[0]  # warm-up
        floor = statistics.median(results["python3 -c pass"])
        for name, values in results.items():
            median = statistics.median(values)
            lines.append(f"| {name} | {median:.0f} | {pct(values, 0.95):.0f} | "
                         f"{median / floor:.2f} |")
        ratio = (statistics.median(results["stack list (rest)"])
                 / statistics.median(results["stack list (local)"]))
        lines += ["", f"rest / local: **{ratio:.2f}×** (goal: at most 1.5×); {rounds} paired "
                      f"rounds, load average {os.getloadavg()[0]:.2f} at the end.", ""]
    return lines


def populate(url: str, size: int) -> None:
    from mlrig.stores.sql import SqlStore

    store = SqlStore(url)
    store.initialize()
    types = list(ComponentType)
    with store.write() as txn:
        for index in range(size):
            type_ = types[index % len(types)]
            txn.create_component(Component(type_, f"c{index:05d}", "local",
                                           {"path": f"/tmp/{index}"}))
        stores = [f"c{i:05d}" for i in range(size) if types[i % len(types)] is A]
        for index in range(max(1, size // 10)):
            txn.create_stack(Stack(f"s{index:05d}", {A: stores[index % len(stores)]}))
    store.close()


def page_latency(sizes: list[int], requests: int, tmp: Path, limit: int = 100) -> list[str]:
    """p50/p95 of one page at each size, the sizes' servers up at once and asked in turn
    (A B A B), so that a change of the machine's load hits every size alike."""
    lines = [f"### One page (`limit={limit}`): p50 / p95 ms, sizes interleaved", "",
             "| store | components | entries per page | GET components p50 | p95 "
             "| GET stacks p50 | p95 |",
             "|---|---:|---|---:|---:|---:|---:|"]
    def sqlite_db(size: int) -> str:
        return f"sqlite:///{tmp / f'page-{size}.db'}"

    targets: list[tuple[str, Callable[[int], str]]] = [("sqlite", sqlite_db)]
    pg = os.environ.get("MLRIG_TEST_POSTGRES_URL")
    if pg:
        import uuid

        import sqlalchemy as sa

        def pg_db(size: int) -> str:
            name = f"mlrig_bench_{uuid.uuid4().hex[:8]}"
            engine = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
            engine.dispose()
            return sa.make_url(pg).set(database=name).render_as_string(hide_password=False)

        targets.append(("postgresql", pg_db))
    paths = (f"/api/v1/components/artifact_store?limit={limit}",
             f"/api/v1/stacks?limit={limit}")
    for label, make in targets:
        with contextlib.ExitStack() as stack:
            clients: dict[int, Http] = {}
            entries: dict[int, list[int]] = {}
            for size in sizes:
                url = make(size)
                populate(url, size)
                server = stack.enter_context(served(tmp / f"page-{label}-{size}", url))
                clients[size] = Http(server.url, server.admin_token, timeout=60)
                stack.callback(clients[size].close)
                entries[size] = []
                for path in paths:  # warm-up, and how many entries a page holds
                    _, doc, _ = clients[size].request("GET", path)
                    entries[size].append(len(next(v for v in doc.values()
                                                  if isinstance(v, list))))
            samples: dict[tuple[int, str], list[float]] = {
                (size, path): [] for size in sizes for path in paths}
            for _ in range(requests):
                for size in sizes:
                    for path in paths:
                        begin = time.perf_counter()
                        status, _, _ = clients[size].request("GET", path)
                        samples[(size, path)].append((time.perf_counter() - begin) * 1000)
                        assert status == 200
            for size in sizes:
                figures = []
                for path in paths:
                    figures += [statistics.median(samples[(size, path)]),
                                pct(samples[(size, path)], 0.95)]
                shown = " / ".join(str(n) for n in entries[size])
                lines.append(f"| {label} | {size} | {shown} | "
                             + " | ".join(f"{v:.1f}" for v in figures) + " |")
    lines.append("")
    return lines


BARE_APP = '''
from fastapi import FastAPI
app = FastAPI()

@app.get("/api/v1/health")
async def health() -> dict:
    return {"status": "ok"}
'''


def hammer(url: str, token: str | None, path: str, seconds: float, threads: int) -> float:
    count = [0] * threads
    stop = time.monotonic() + seconds

    def run(index: int) -> None:
        http = Http(url, token, timeout=30)
        while time.monotonic() < stop:
            status, _, _ = http.request("GET", path)
            assert status == 200, status
            count[index] += 1
        http.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(count) / seconds


def throughput(seconds: float, tmp: Path) -> list[str]:
    lines = ["### Requests per second (8 client threads, keep-alive, this machine's cores "
             f"{os.cpu_count()}, server on {SERVED['store']})", "",
             "| server | workers | requests/s |", "|---|---:|---:|"]
    for workers in (1, 4):
        with served(tmp / f"rps-{workers}", served_store(tmp, f"rps-{workers}"),
                    workers=workers) as server:
            with RestStore(server.url, token=server.admin_token).write() as txn:
                txn.create_component(Component(A, "lake", "local", {"path": "/a"}))
                txn.create_stack(Stack("s", {A: "lake"}))
            hammer(server.url, server.admin_token, "/api/v1/stacks?limit=10", 2.0, 8)  # warm-up
            rate = hammer(server.url, server.admin_token, "/api/v1/stacks?limit=10", seconds, 8)
            lines.append(f"| mlrig, `GET /api/v1/stacks` with a token | {workers} | {rate:.0f} |")
    app_dir = tmp / "bare"
    app_dir.mkdir()
    (app_dir / "bare_app.py").write_text(BARE_APP)
    for workers in (1, 4):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(workers), "--log-level", "warning"],
            cwd=app_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    Http(url, None, timeout=1).request("GET", "/api/v1/health")
                    break
                except Exception:
                    time.sleep(0.1)
            hammer(url, None, "/api/v1/health", 2.0, 8)  # warm-up: every worker started
            rate = hammer(url, None, "/api/v1/health", seconds, 8)
        finally:
            proc.terminate()
            proc.wait(10)
        lines.append(f"| bare FastAPI endpoint (the ceiling) | {workers} | {rate:.0f} |")
    lines.append("")
    return lines


def writers(clients: int, writes: int, cli_writes: int, tmp: Path) -> list[str]:
    lines = [f"### Concurrent writers to one profile (server on {SERVED['store']})", "",
             "| through | clients × writes | committed | conflicts reported | lost updates | "
             "writes/s |", "|---|---|---:|---:|---:|---:|"]
    with served(tmp / "writers", served_store(tmp, "writers")) as server:
        config = tmp / "writers-cli"
        env = {**os.environ, "MLRIG_CONFIG_PATH": str(config), "MLRIG_TEAM": server.admin_token}
        mlrig = mlrig_argv()
        subprocess.run([*mlrig, "profile", "list"], env=env, capture_output=True, check=True)
        subprocess.run([*mlrig, "profile", "create", "team", "-t", "rest", "--url", server.url,
                        "--token-env", "MLRIG_TEAM"], env=env, capture_output=True, check=True)
        with RestStore(server.url, token=server.admin_token).write() as txn:
            txn.create_component(Component(A, "counter", "local", {"path": "/c", "n": 0}))
        committed = [0] * clients
        conflicts = [0] * clients

        def library(index: int) -> None:
            store = RestStore(server.url, token=server.admin_token, timeout=60)
            for op in range(writes):
                while True:
                    try:
                        with store.write() as txn:
                            if op % 2 == 0:  # read-modify-write of one shared component
                                counter = txn.get_component(A, "counter")
                                assert counter is not None
                                counter.config["n"] = int(counter.config["n"]) + 1
                                txn.update_component(counter)
                            else:  # a component of its own
                                txn.create_component(Component(
                                    A, f"w{index}-{op}", "local", {"path": f"/{index}/{op}"}))
                        committed[index] += 1
                        break
                    except Exception as exc:
                        if "was changed by" not in str(exc):
                            raise
                        conflicts[index] += 1
            store.close()

        start = time.perf_counter()
        threads = [threading.Thread(target=library, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        with RestStore(server.url, token=server.admin_token).read() as view:
            counter = view.get_component(A, "counter")
            mine = len([c for c in view.list_components(A) if c.name.startswith("w")])
        assert counter is not None
        increments = sum((writes + 1) // 2 for _ in range(clients))
        lost = (increments - int(counter.config["n"])) + (clients * (writes // 2) - mine)
        lines.append(f"| library (`RestStore`, threads) | {clients} × {writes} | "
                     f"{sum(committed)} | {sum(conflicts)} | {lost} | "
                     f"{sum(committed) / elapsed:.0f} |")

        ok = [0] * clients
        refused = [0] * clients
        failed: list[str] = []

        def cli(index: int) -> None:
            for op in range(cli_writes):
                result = subprocess.run(
                    [*mlrig, "--profile", "team", "artifact-store", "register",
                     f"cli{index}-{op}", "--flavor", "local", f"--path=/cli/{index}/{op}"],
                    env=env, capture_output=True, text=True)
                if result.returncode == 0:
                    ok[index] += 1
                elif "was changed by" in result.stderr:
                    refused[index] += 1
                else:
                    failed.append(result.stderr.strip()[-200:])

        start = time.perf_counter()
        threads = [threading.Thread(target=cli, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        with RestStore(server.url, token=server.admin_token).read() as view:
            present = len([c for c in view.list_components(A) if c.name.startswith("cli")])
        lines.append(f"| CLI (`mlrig artifact-store register`, processes) | {clients} × "
                     f"{cli_writes} | {sum(ok)} | {sum(refused)} | {sum(ok) - present} | "
                     f"{sum(ok) / elapsed:.1f} |")
        if failed:
            lines.append(f"\n{len(failed)} CLI writes failed otherwise, e.g.: {failed[0]}")
    lines += ["", "lost updates: acknowledged writes missing from the store afterwards "
              "(increments of the shared counter not in its value, components not there).",
              ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--limit", type=int, default=100, help="the page size of 'pages'")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--cli-writes", type=int, default=5)
    parser.add_argument("--only", default="startup,pages,rps,writers")
    parser.add_argument("--served", choices=["sqlite", "local"], default="sqlite",
                        help="the store the servers of startup, rps and writers serve")
    options = parser.parse_args()
    SERVED["store"] = options.served
    only = set(options.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="mlrig-server-bench-"))
    out: list[str] = [f"`python3 bench/server_bench.py {' '.join(sys.argv[1:])}`".replace(
        " `", "`"), ""]
    if "startup" in only:
        out += startup(options.rounds, tmp)
    if "pages" in only:
        out += page_latency([int(s) for s in options.sizes.split(",")], options.requests, tmp,
                            options.limit)
    if "rps" in only:
        out += throughput(options.seconds, tmp)
    if "writers" in only:
        out += writers(options.clients, options.writes, options.cli_writes, tmp)
    print("\n".join(out))
    print(json.dumps({"tmp": str(tmp)}), file=sys.stderr)


if __name__ == "__main__":
    main()
