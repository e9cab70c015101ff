"""The goals of issue 14, each as a paired ratio with a pass/miss mark.

    python3 bench/run.py --goals [--repeat 21] [--stores local,sqlite,postgres,rest]

Every command of every goal runs once per round, in the same order, round after round
(A B C A B C ...), so that a busy machine slows them all alike; ``python3 -c pass`` (the
interpreter ``mlrig`` runs on) is one of them. Each run is a fresh process; the figures are
medians of its wall time and of its CPU time (user + sys of the child, from ``os.wait4``:
less noisy than wall time on a shared machine). A goal's ratio is the ratio of two medians
of CPU time (wall in brackets); the mark is for the CPU ratio. Peak memory is measured
after the rounds with ``/usr/bin/time -f %M``. Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Argv = list[str]
Vary = Callable[[int], Argv]


@dataclass
class Case:
    key: str
    argv: Argv | Vary
    env: dict[str, str]
    cwd: Path
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)  # MiB, from peak_memory()
    failures: int = 0
    error: str = ""

    def args(self, i: int) -> Argv:
        return self.argv(i) if callable(self.argv) else self.argv


def run_case(case: Case, i: int, record: bool) -> None:
    start = time.perf_counter()
    proc = subprocess.Popen(case.args(i), env=case.env, cwd=case.cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        case.failures += 1
        lines = err.decode("utf-8", "replace").strip().splitlines()
        case.error = case.error or (lines[-1] if lines else f"exit {proc.returncode}")
    if record:
        case.wall.append(elapsed * 1000)
        case.cpu.append((usage.ru_utime + usage.ru_stime) * 1000)


def peak_memory(case: Case, runs: int = 3) -> None:
    """The command's peak RSS, measured apart from the timed rounds by ``/usr/bin/time``: a
    child forked from this (big) Python process would report this process's pages too."""
    for i in range(runs):
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", *case.args(10_000 + i)],
                              env=case.env, cwd=case.cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        with contextlib.suppress(IndexError, ValueError):
            case.rss.append(int(lines[-1]) / 1024)  # KiB -> MiB


#: what a read on a PostgreSQL profile needs before any of mlrig's own code: the CLI
#: framework, psycopg2 imported as mlrig imports it (without Python's ssl), one connection
#: (scram-sha-256: OpenSSL's digests and random generator initialised) and one query
_PG_FLOOR = """
import sys
import click
from mlrig.stores.sql_backend import _import_psycopg2
from mlrig.stores.sql_fast import postgres_params
conn = _import_psycopg2().connect(**postgres_params(sys.argv[1]))
cur = conn.cursor()
cur.execute("SELECT 1")
assert cur.fetchall() == [(1,)]
"""


def pg_floor_memory(url: str, runs: int = 3) -> float:
    """The peak RSS (MiB) of :data:`_PG_FLOOR` against ``url``: the floor under every read
    of a PostgreSQL profile (the imports of mlrig modules it uses are a few hundred KiB)."""
    case = Case("pg floor", [sys.executable, "-c", _PG_FLOOR, url], dict(os.environ), Path.cwd())
    peak_memory(case, runs)
    return max(case.rss, default=float("nan"))


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Goal:
    number: int
    what: str
    numerator: str
    denominator: str
    limit: float


def env_of(base: dict[str, str], config_dir: Path) -> dict[str, str]:
    env = dict(base)
    env["MLRIG_CONFIG_PATH"] = str(config_dir)
    return env


@contextlib.contextmanager
def rest_profile(work: Path, exe: Argv) -> Iterator[Path | None]:
    """A config dir whose active profile ``team`` is on an mlrig server (on a local store)."""
    try:
        from mlrig.testing.server import served
    except ImportError:
        yield None
        return
    from mlrig.client import Client

    with served(work / "srv") as server:
        config_dir = work / "rest-config"
        client = Client(config_dir, on_event=lambda level, message: None)
        client.config()
        token = work / "token"
        token.write_text(server.admin_token)
        token.chmod(0o600)
        client.create_profile("team", store_type="rest", url=server.url,
                              options={"token_file": str(token)})
        client.set_profile("team", global_=True)
        client.close()
        yield config_dir


def main(args: Any, exe: Argv, work: Path, *, base_env: Callable[[Path], dict[str, str]],
         populate: Callable[..., float], targets: list[Any]) -> int:
    repeat = args.repeat or 15
    wanted = {s.strip() for s in args.stores.split(",")}
    cases: dict[str, Case] = {}

    def add(key: str, argv: Argv | Vary, config_dir: Path, cwd: Path | None = None) -> None:
        cases[key] = Case(key, argv, base_env(config_dir), cwd or work)

    add("floor", [sys.executable, "-c", "pass"], work / "floor")
    goals: list[Goal] = []
    stores = {t.label: t for t in targets}
    # a small profile per store: the default one's 3 components + 2 stacks
    for label in ("local", "sqlite", "postgres"):
        if label not in stores:
            continue
        config_dir = work / f"goals-{label}"
        populate(config_dir, stores[label], 24, 2)
        run_id = uuid.uuid4().hex[:6]

        def register(i: int, run_id: str = run_id) -> Argv:
            return [*exe, "artifact-store", "register", f"g-{run_id}-{i}", "-f", "local",
                    f"--path=/srv/g/{i}"]

        def update(i: int) -> Argv:
            return [*exe, "artifact-store", "update", "artifact-store-00000",
                    f"--path=/srv/u/{i}"]

        def stack_register(i: int, run_id: str = run_id) -> Argv:
            return [*exe, "stack", "register", f"s-{run_id}-{i}", "-o", "orchestrator-00000",
                    "-m", "metadata-store-00000", "-a", "artifact-store-00000"]

        def stack_set(i: int) -> Argv:
            return [*exe, "stack", "set", "stack-00001" if i % 2 else "stack-00000"]

        add(f"profile current/{label}", [*exe, "profile", "current"], config_dir)
        add(f"stack current/{label}", [*exe, "stack", "current"], config_dir)
        add(f"stack list/{label}", [*exe, "stack", "list"], config_dir)
        add(f"stack describe/{label}", [*exe, "stack", "describe", "stack-00001"], config_dir)
        add(f"stack set/{label}", stack_set, config_dir)
        add(f"status/{label}", [*exe, "status"], config_dir)
        add(f"artifact-store register/{label}", register, config_dir)
        if label == "local":
            add("artifact-store update/local", update, config_dir)
            add("stack register/local", stack_register, config_dir)
    for label in ("local", "sqlite", "postgres"):
        if label in stores:
            goals.append(Goal(2, f"profile current, {label}", f"profile current/{label}",
                              "floor", 2.0))
            goals.append(Goal(2, f"stack current, {label}", f"stack current/{label}",
                              "floor", 2.0))
    if "local" in stores:
        goals.append(Goal(3, "artifact-store register / stack register",
                          "artifact-store register/local", "stack register/local", 1.2))
        goals.append(Goal(3, "artifact-store update / stack register",
                          "artifact-store update/local", "stack register/local", 1.2))
        for label, limit in (("sqlite", 1.5), ("postgres", 2.0)):
            if label not in stores:
                continue
            for what in ("stack list", "stack describe", "stack set", "status",
                         "artifact-store register"):
                goals.append(Goal(4, f"{what}, {label} / local", f"{what}/{label}",
                                  f"{what}/local", limit))
        goals.append(Goal(5, "status, local", "status/local", "floor", 5.0))
    # goal 1: tables at 10 and at 1,000 stacks (local)
    if "local" in stores and not args.no_tables:
        for stacks in (10, 1000):
            config_dir = work / f"goals-tables-{stacks}"
            populate(config_dir, stores["local"], stacks * 10, stacks)
            add(f"stack list/{stacks}", [*exe, "stack", "list"], config_dir)
            add(f"stack list -o json/{stacks}", [*exe, "stack", "list", "-o", "json"],
                config_dir)
            add(f"artifact-store list/{stacks}", [*exe, "artifact-store", "list"], config_dir)
            add(f"artifact-store list -o json/{stacks}",
                [*exe, "artifact-store", "list", "-o", "json"], config_dir)
        goals.append(Goal(1, "stack list / its -o json, 1,000 stacks", "stack list/1000",
                          "stack list -o json/1000", 1.5))
        goals.append(Goal(1, "stack list, 1,000 / 10 stacks", "stack list/1000",
                          "stack list/10", 2.0))
        goals.append(Goal(1, "artifact-store list / its -o json, 10,000 components",
                          "artifact-store list/1000", "artifact-store list -o json/1000", 1.5))
        goals.append(Goal(1, "artifact-store list, 10,000 / 100 components",
                          "artifact-store list/1000", "artifact-store list/10", 2.0))
    with contextlib.ExitStack() as stack:
        if "rest" in wanted:
            rest_dir = stack.enter_context(rest_profile(work, exe))
            if rest_dir is not None:
                add("profile current/rest", [*exe, "profile", "current"], rest_dir)
                add("stack current/rest", [*exe, "stack", "current"], rest_dir)
                goals.insert(0, Goal(2, "profile current, rest", "profile current/rest",
                                     "floor", 2.0))
                goals.insert(1, Goal(2, "stack current, rest", "stack current/rest", "floor",
                                     2.0))
        load_start = os.getloadavg()
        for i in range(repeat + 1):  # round 0 warms up
            print(f"[goals] round {i}/{repeat}", file=sys.stderr, flush=True)
            for case in cases.values():
                run_case(case, i, record=i > 0)
        load_end = os.getloadavg()
        if os.path.exists("/usr/bin/time"):
            for case in cases.values():
                peak_memory(case)
    print(f"\nissue 14 goals — {repeat} interleaved rounds of {len(cases)} commands; load "
          f"average {load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f} at the "
          f"start, {load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f} at the end\n")
    print("| goal | what | ratio CPU (wall) | limit | result |\n|---:|---|---:|---:|---|")
    missed = 0
    for g in sorted(goals, key=lambda g: g.number):
        a, b = cases[g.numerator], cases[g.denominator]
        cpu = med(a.cpu) / med(b.cpu)
        wall = med(a.wall) / med(b.wall)
        failed = a.failures or b.failures
        mark = "FAILED RUNS" if failed else ("pass" if cpu <= g.limit else "miss")
        missed += mark != "pass"
        print(f"| {g.number} | {g.what} | {cpu:.2f} ({wall:.2f}) | ≤ {g.limit:g} | {mark} |")
    postgres = stores.get("postgres")
    pg_url = postgres.pg.url if postgres is not None and postgres.pg is not None else None
    read_names = ("stack list", "stack describe", "status", "profile current", "stack current",
                  "stack list -o json", "artifact-store list", "artifact-store list -o json")
    for where, labels in (("local, SQLite and rest profiles", ("local", "sqlite", "rest", "10",
                                                                "1000")),
                          ("PostgreSQL profiles (psycopg2)", ("postgres",))):
        reads = [c for k, c in cases.items()
                 if k.split("/")[0] in read_names and k.split("/")[1] in labels and c.rss]
        if not reads:
            continue
        peak = max(max(c.rss) for c in reads)
        print(f"| 6 | peak memory of a read on {where} (max of {len(reads)} commands) | "
              f"{peak:.1f} MiB | ≤ 25 MiB | {'pass' if peak <= 25 else 'miss'} |")
        if labels == ("postgres",) and pg_url is not None:
            floor = pg_floor_memory(pg_url)
            print(f"| 6 | (context) the same without mlrig: a bare interpreter imports click "
                  f"and psycopg2 as mlrig does and runs one query | {floor:.1f} MiB | | |")
    print("| 6 | every read and write at or below its ratio to ZenML 0.13.2 | see "
          "bench/README.md (not set up by this script) | | |")
    print("\n| command | median CPU ms | median wall ms | peak MiB | runs | failed |\n"
          "|---|---:|---:|---:|---:|---:|")
    for key, c in cases.items():
        rss = f"{max(c.rss):.1f}" if c.rss else ""
        print(f"| {key} | {med(c.cpu):.1f} | {med(c.wall):.1f} | {rss} | "
              f"{len(c.cpu)} | {c.failures}{' — ' + c.error if c.error else ''} |")
    return 0
