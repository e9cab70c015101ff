#!/usr/bin/env python3
"""mlrig benchmarks: whole-process timings of the real ``mlrig`` executable.

    python3 bench/run.py                 # quick: every row, fewer repeats (~2-4 minutes)
    python3 bench/run.py --full          # what bench/README.md reports (~10 minutes)
    python3 bench/run.py --stores local,sqlite --only growth
    python3 bench/run.py --help

Every figure is the median of repeated runs of a fresh ``mlrig`` process (subprocess +
``time.perf_counter``), with ``python3 -c pass`` (the interpreter ``mlrig`` runs on) measured
in the same run as the floor. Big profiles are built through the store API in one
transaction, not with thousands of CLI calls. Results are printed as a Markdown table and
written as JSON to ``bench/results/`` (ignored by git). Nothing here is collected by pytest
(``testpaths = ["tests"]``) and nothing is asserted: the numbers are reported, not gated.

Stores: ``local`` always; ``sqlite`` once ``mlrig.stores.sql`` exists; ``postgres`` when
``MLRIG_TEST_POSTGRES_URL`` is set or ``scripts/start-postgres.sh`` can start a server.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlrig.testing.stores import store_of

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
ALL_STORES = ("local", "sqlite", "postgres", "rest")
SECTIONS = ("default", "scale", "concurrency")


# ----------------------------------------------------------------------------- plumbing
def mlrig_executable() -> list[str]:
    """The real console script, not a version-manager shim (pyenv's adds ~80 ms of bash)."""
    beside = Path(sys.executable).with_name("mlrig")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("mlrig")
    if found:
        return [found]
    return [sys.executable, "-m", "mlrig"]


def base_env(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLRIG_")}
    env["MLRIG_CONFIG_PATH"] = str(config_dir)
    env["COLUMNS"] = "120"
    return env


def run_once(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    return elapsed, proc.returncode, proc.stderr.decode("utf-8", "replace")


@dataclass
class Row:
    section: str
    what: str
    store: str
    components: int | None
    median_ms: float
    min_ms: float
    max_ms: float
    runs: int
    target_ms: float | None
    failures: int = 0
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.failures:
            return f"FAILED ({self.failures} runs)"
        if self.target_ms is None:
            return ""
        if self.median_ms <= self.target_ms:
            return "met"
        return f"missed by {self.median_ms - self.target_ms:.0f} ms"


@dataclass
class ConcurrencyResult:
    store: str
    mode: str
    processes: int
    per_process: int
    present: int
    expected: int
    duplicates: int
    errors: int
    seconds: float
    first_error: str = ""
    files_ok: bool | None = None

    @property
    def per_second(self) -> float:
        return self.present / self.seconds if self.seconds else 0.0


@dataclass
class Report:
    started: str
    machine: dict[str, Any]
    options: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    concurrency: list[ConcurrencyResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path, repeat: int, *,
          vary: Any = None, warmup: int = 1) -> tuple[list[float], int, str]:
    """Run ``argv`` ``warmup + repeat`` times; ``vary(i)`` may return per-run argv."""
    times: list[float] = []
    failures, first_error = 0, ""
    for i in range(warmup + repeat):
        args = vary(i) if vary is not None else argv
        elapsed, code, err = run_once(args, env, cwd)
        if code != 0:
            failures += 1
            lines = err.strip().splitlines()
            first_error = first_error or (lines[-1] if lines else f"exit {code}")
        if i >= warmup:
            times.append(elapsed)
    return times, failures, first_error


def make_row(section: str, what: str, store: str, components: int | None, times: list[float],
             *, target_ms: float | None = None, failures: int = 0, note: str = "") -> Row:
    ms = [t * 1000 for t in times]
    return Row(section, what, store, components, statistics.median(ms), min(ms), max(ms),
               len(ms), target_ms, failures, note)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- stores
def sql_store_available() -> bool:
    return importlib.util.find_spec("mlrig.stores.sql") is not None


_STARTED_SERVERS: list[tuple[str, str]] = []  # (pg_ctl, data dir) of servers we started


def postgres_url(allow_start: bool) -> str | None:
    url = os.environ.get("MLRIG_TEST_POSTGRES_URL")
    if url:
        return url
    script = ROOT / "scripts" / "start-postgres.sh"
    if not allow_start or not script.is_file():
        return None
    progress("starting PostgreSQL with scripts/start-postgres.sh")
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        progress(f"start-postgres.sh failed: {proc.stderr.strip()[-300:]}")
        return None
    stop = re.search(r"stop it with: (\S+pg_ctl) -D (\S+) stop", proc.stdout)
    if stop:
        _STARTED_SERVERS.append((stop.group(1), stop.group(2)))
    for line in reversed(proc.stdout.splitlines()):
        match = re.search(r"(postgres(?:ql)?(?:\+\w+)?://\S+)", line)
        if match:
            return match.group(1).strip("'\"")
    return None


def stop_started_servers() -> None:
    for pg_ctl, data in _STARTED_SERVERS:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(Path(data).parent, ignore_errors=True)
        progress(f"stopped the PostgreSQL server in {Path(data).parent}")


class PostgresDatabases:
    """A fresh database per benchmark profile, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list[str] = []

    def _admin(self) -> Any:
        import psycopg

        conninfo = re.sub(r"^postgres(?:ql)?\+\w+://", "postgresql://", self.url)
        return psycopg.connect(conninfo, autocommit=True)

    def new(self) -> str:
        name = f"mlrig_bench_{uuid.uuid4().hex[:10]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def drop_all(self) -> None:
        with contextlib.suppress(Exception), self._admin() as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class StoreTarget:
    label: str  # local | sqlite | postgres
    store_type: str  # local | sql
    pg: PostgresDatabases | None = None

    def url(self) -> str | None:
        return self.pg.new() if self.pg is not None else None


# ----------------------------------------------------------------------------- profiles
O_T, M_T, A_T = "orchestrator", "metadata_store", "artifact_store"
# (type, flavor, config for component i) -- valid configs of built-in flavors
KINDS: list[tuple[str, str, Any]] = [
    (O_T, "local", lambda i: {}),
    (M_T, "sqlite", lambda i: {"uri": f"/srv/meta/{i}/metadata.db"}),
    (A_T, "local", lambda i: {"path": f"/srv/artifacts/{i}"}),
    ("container_registry", "default", lambda i: {"uri": f"registry.example.com/team{i}"}),
    ("step_operator", "local", lambda i: {"max_workers": 1 + i % 4}),
    ("secrets_manager", "local", lambda i: {"secrets_file": f"/srv/secrets/{i}.yaml"}),
    ("feature_store", "feast", lambda i: {"feast_repo": f"/srv/feast/{i}"}),
    ("model_deployer", "mlflow", lambda i: {"tracking_uri": f"http://mlflow{i}:5000"}),
    ("experiment_tracker", "mlflow", lambda i: {"tracking_uri": f"http://mlflow{i}:5000",
                                                 "tracking_password": "hunter2"}),
    ("alerter", "slack", lambda i: {"slack_token": "xoxb-secret", "default_slack_channel_id":
                                    f"C{i:06d}"}),
    ("data_validator", "great_expectations", lambda i: {"context_root_dir": f"/srv/ge/{i}"}),
    ("annotator", "label_studio", lambda i: {"port": 8000 + i % 1000}),
]


def populate(config_dir: Path, target: StoreTarget, components: int, stacks: int) -> float:
    """Create profile ``big`` (active) with ``components`` components spread over all 12
    types and ``stacks`` stacks, in one transaction through the store API. Returns seconds."""
    from mlrig.client import Client
    from mlrig.models import Component, ComponentType, Stack

    client = Client(config_dir, on_event=lambda level, message: None)
    client.config()
    client.create_profile("big", target.store_type, target.url())
    client.set_profile("big", global_=True)
    client = Client(config_dir, on_event=lambda level, message: None)
    start = time.perf_counter()
    per_type: dict[str, int] = {}
    with store_of(client, "big").write() as txn:
        existing = {(c.type.value, c.name) for c in txn.list_components()}
        for i in range(components):
            type_, flavor, config = KINDS[i % len(KINDS)]
            index = per_type.get(type_, 0)
            per_type[type_] = index + 1
            name = f"{type_.replace('_', '-')}-{index:05d}"
            if (type_, name) in existing:
                continue
            txn.create_component(Component(ComponentType(type_), name, flavor, config(i)))
        for s in range(stacks):
            parts = {
                ComponentType(t): f"{t.replace('_', '-')}-{s % per_type[t]:05d}"
                for t in (O_T, M_T, A_T, "container_registry", "experiment_tracker")
                if per_type.get(t)
            }
            txn.create_stack(Stack(f"stack-{s:05d}", parts))
    elapsed = time.perf_counter() - start
    if stacks:
        client.set_stack("stack-00000", global_=True)
    client.close()
    return elapsed


# ----------------------------------------------------------------------------- sections
def bench_default(report: Report, exe: list[str], repeat: int, work: Path) -> None:
    config_dir = work / "default-config"
    env = base_env(config_dir)
    cases: list[tuple[str, list[str], float]] = [
        ("profile list", ["profile", "list"], 100),
        ("stack list", ["stack", "list"], 100),
        ("stack describe", ["stack", "describe"], 100),
        ("profile current", ["profile", "current"], 60),
        ("--help", ["--help"], 60),
        ("stack current", ["stack", "current"], 60),
    ]
    # the first command creates the default profile; it is timed as its own row
    times, failures, err = timed([*exe, "profile", "list"], env, work, 1, warmup=0)
    report.rows.append(make_row("default", "first run (creates default profile)", "local",
                                3, times, failures=failures, note=err))
    for what, args, target in cases:
        progress(f"default profile: {what}")
        times, failures, err = timed([*exe, *args], env, work, repeat)
        report.rows.append(make_row("default", what, "local", 3, times, target_ms=target,
                                    failures=failures, note=err))


def bench_scale(report: Report, exe: list[str], repeat: int, work: Path, *,
                targets: list[StoreTarget], sizes: list[int]) -> None:
    for target in targets:
        for size in sizes:
            stacks = max(1, size // 10)
            config_dir = work / f"scale-{target.label}-{size}"
            progress(f"{target.label}: building a profile of {size} components, "
                     f"{stacks} stacks")
            try:
                build = populate(config_dir, target, size, stacks)
            except Exception as exc:
                report.notes.append(f"{target.label} @ {size}: could not build the profile: "
                                    f"{type(exc).__name__}: {exc}")
                progress(report.notes[-1])
                continue
            report.notes.append(f"{target.label} @ {size} components / {stacks} stacks: "
                                f"built in one transaction in {build:.1f} s")
            env = base_env(config_dir)
            middle = f"stack-{stacks // 2:05d}"
            other = "stack-00001" if stacks > 1 else "stack-00000"
            run_id = uuid.uuid4().hex[:6]

            def register(i: int, run_id: str = run_id) -> list[str]:
                return [*exe, "artifact-store", "register", f"bench-{run_id}-{i}", "-f",
                        "local", f"--path=/srv/bench/{i}"]

            def set_stack(i: int, middle: str = middle, other: str = other) -> list[str]:
                return [*exe, "stack", "set", middle if i % 2 else other]

            cases: list[tuple[str, list[str], Any, float | None]] = [
                ("stack list", ["stack", "list"], None, 300 if size >= 10_000 else None),
                ("stack list -o json", ["stack", "list", "-o", "json"], None, None),
                ("artifact-store register", [], register, 150),
                ("stack describe NAME", ["stack", "describe", middle], None, 150),
                ("stack set NAME", [], set_stack, 150),
                ("artifact-store describe NAME", ["artifact-store", "describe",
                                                  "artifact-store-00000"], None, None),
            ]
            for what, args, vary, target_ms in cases:
                progress(f"{target.label} @ {size}: {what}")
                times, failures, err = timed([*exe, *args], env, work, repeat, vary=vary)
                report.rows.append(make_row("scale", what, target.label, size, times,
                                            target_ms=target_ms, failures=failures, note=err))


WORKER_CODE = r"""
import sys, time
from mlrig.client import Client
from mlrig.exceptions import MlrigError
worker, count = int(sys.argv[1]), int(sys.argv[2])
client = Client(on_event=lambda level, message: None)
errors = 0
for i in range(count):
    try:
        client.register_component("artifact_store", f"w{worker}-{i}", "local",
                                  {"path": f"/srv/w{worker}/{i}"})
    except MlrigError as exc:
        errors += 1
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
print(errors)
"""


def _count_present(config_dir: Path, processes: int, per_process: int) -> tuple[int, int]:
    from mlrig.client import Client

    client = Client(config_dir, on_event=lambda level, message: None)
    names = [c.name for c in client.list_components("artifact_store")]
    client.close()
    expected = {f"w{w}-{i}" for w in range(processes) for i in range(per_process)}
    present = sum(1 for n in set(names) if n in expected)
    return present, len(names) - len(set(names))


def _files_parse(config_dir: Path) -> bool:
    import yaml

    for path in config_dir.rglob("*.yaml"):
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except Exception:
            return False
    return True


@dataclass
class WriterJob:
    exe: list[str]
    env: dict[str, str]
    work: Path
    count: int
    errors: list[str]  # list.append/extend are atomic under the GIL


def _cli_writer(job: WriterJob, w: int) -> None:
    for i in range(job.count):
        _, code, err = run_once(
            [*job.exe, "artifact-store", "register", f"w{w}-{i}", "-f", "local",
             f"--path=/srv/w{w}/{i}"], job.env, job.work)
        if code != 0:
            lines = err.strip().splitlines()
            job.errors.append(lines[-1] if lines else f"exit {code}")


def _library_writer(job: WriterJob, w: int) -> None:
    proc = subprocess.run([sys.executable, "-c", WORKER_CODE, str(w), str(job.count)],
                          env=job.env, cwd=job.work, capture_output=True, text=True)
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    if proc.returncode != 0:
        job.errors.append(lines[-1] if lines else f"exit {proc.returncode}")
        job.errors.extend(["(worker died)"] * (job.count - 1))
    else:
        job.errors.extend(lines[: int(proc.stdout.strip() or 0)])


def bench_concurrency(report: Report, exe: list[str], work: Path, *, targets: list[StoreTarget],
                      processes: int, per_process: int, cli_per_process: int) -> None:
    for target in targets:
        for mode, count in (("cli", cli_per_process), ("library", per_process)):
            config_dir = work / f"conc-{target.label}-{mode}"
            try:
                populate(config_dir, target, 0, 0)
            except Exception as exc:
                report.notes.append(f"{target.label} concurrency: cannot create the profile: "
                                    f"{type(exc).__name__}: {exc}")
                continue
            env = base_env(config_dir)
            progress(f"{target.label}: {processes} processes x {count} registrations ({mode})")
            errors: list[str] = []
            writer = _cli_writer if mode == "cli" else _library_writer
            job = WriterJob(exe, env, work, count, errors)
            threads = [threading.Thread(target=writer, args=(job, w)) for w in range(processes)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - start
            present, duplicates = _count_present(config_dir, processes, count)
            report.concurrency.append(ConcurrencyResult(
                target.label, mode, processes, count, present, processes * count, duplicates,
                len(errors), seconds, errors[0] if errors else "",
                _files_parse(config_dir) if target.label == "local" else None))


# ----------------------------------------------------------------------------- output
def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "platform": platform.platform(), "executable": " ".join(mlrig_executable()),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def format_table(report: Report, floor_ms: float) -> str:
    lines = [
        "| what | store | components | median ms | over floor | min–max ms | runs | "
        "target ms | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report.rows:
        over = "" if r.what.startswith("python3") else f"{r.median_ms - floor_ms:.0f}"
        lines.append(
            f"| {r.what} | {r.store} | {'' if r.components is None else f'{r.components:,}'} | "
            f"{r.median_ms:.0f} | {over} | {r.min_ms:.0f}–{r.max_ms:.0f} | {r.runs} | "
            f"{'' if r.target_ms is None else f'≤ {r.target_ms:.0f}'} | {r.verdict} |"
        )
    if report.concurrency:
        lines += [
            "",
            "| concurrent writers | store | via | present / expected | duplicates | errors | "
            "seconds | registrations/s | files parse |",
            "|---|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for c in report.concurrency:
            lines.append(
                f"| {c.processes} × {c.per_process} | {c.store} | {c.mode} | "
                f"{c.present} / {c.expected} | {c.duplicates} | {c.errors} | {c.seconds:.1f} | "
                f"{c.per_second:.1f} | "
                f"{'' if c.files_ok is None else ('yes' if c.files_ok else 'NO')} |"
            )
        errs = [f"{c.store}/{c.mode}: {c.first_error}" for c in report.concurrency
                if c.first_error]
        lines += [f"\nfirst error — {e}" for e in errs]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer repeats (the default)")
    mode.add_argument("--full", action="store_true",
                      help="21 repeats, 8 x 100 CLI registrations (what README reports)")
    parser.add_argument("--stores", default=",".join(ALL_STORES),
                        help="comma-separated subset of local,sqlite,postgres "
                        "(unavailable ones are skipped with a note)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--sizes", default="100,1000,10000",
                        help="component counts of the scale profiles (stacks = count/10)")
    parser.add_argument("--repeat", type=int, help="runs per figure (after one warm-up)")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--per-process", type=int, default=100,
                        help="registrations per process (library mode, and CLI in --full)")
    parser.add_argument("--no-start-postgres", action="store_true",
                        help="do not run scripts/start-postgres.sh")
    parser.add_argument("--json", type=Path, help="where to write the raw results")
    parser.add_argument("--keep", action="store_true", help="keep the temp config dirs")
    parser.add_argument("--goals", action="store_true",
                        help="the goals of issue 14 as paired ratios with pass/miss (see "
                        "bench/goals.py); --stores may add 'rest'")
    parser.add_argument("--no-tables", action="store_true",
                        help="with --goals: skip goal 1 (it builds a 10,000-component profile)")
    return parser.parse_args(argv)


def store_targets(names: list[str], allow_start: bool, report: Report
                  ) -> Iterator[StoreTarget]:
    for name in names:
        if name == "local":
            yield StoreTarget("local", "local")
        elif not sql_store_available():
            report.notes.append(f"{name}: skipped, mlrig.stores.sql does not exist yet")
        elif name == "sqlite":
            yield StoreTarget("sqlite", "sql")
        elif name == "postgres":
            url = postgres_url(allow_start)
            if url is None:
                report.notes.append("postgres: skipped (no MLRIG_TEST_POSTGRES_URL and "
                                    "scripts/start-postgres.sh missing or failed)")
            else:
                yield StoreTarget("postgres", "sql", PostgresDatabases(url))
        else:
            raise SystemExit(f"unknown store {name!r}")


def compile_package() -> None:
    """Compile mlrig's bytecode first, as an installed package has it.

    An editable install has none, and with PYTHONDONTWRITEBYTECODE set (as on the machines
    these numbers come from) every run would compile mlrig's sources again (~30 ms): that
    measures the development set-up, not what a user runs.
    """
    import compileall

    import mlrig

    compileall.compile_dir(Path(mlrig.__file__).parent, quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    full = bool(args.full)
    repeat = args.repeat or (21 if full else 7)
    cli_per_process = args.per_process if full else max(1, args.per_process // 4)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    exe = mlrig_executable()
    compile_package()
    report = Report(
        started=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        machine=machine_info(),
        options={"mode": "full" if full else "quick", "repeat": repeat, "sizes": sizes,
                 "processes": args.processes, "per_process_library": args.per_process,
                 "per_process_cli": cli_per_process, "sections": sections},
    )
    names = [s.strip() for s in args.stores.split(",") if s.strip()]
    targets = list(store_targets([n for n in names if n != "rest"],
                                 not args.no_start_postgres, report))
    if args.goals:
        if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, not the root
            sys.path.insert(0, str(ROOT))
        from bench import goals

        work = Path(tempfile.mkdtemp(prefix="mlrig-goals-"))
        try:
            return goals.main(args, exe, work, base_env=base_env, populate=populate,
                              targets=targets)
        finally:
            for t in targets:
                if t.pg is not None:
                    t.pg.drop_all()
            stop_started_servers()
            shutil.rmtree(work, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="mlrig-bench-"))
    try:
        progress(f"executable: {' '.join(exe)}; floor: {sys.executable} -c pass")
        floor_times, _, _ = timed([sys.executable, "-c", "pass"], base_env(work / "x"), work,
                                  repeat)
        report.rows.append(make_row("floor", "python3 -c pass (floor)", "", None, floor_times))
        if "default" in sections:
            bench_default(report, exe, repeat, work)
        if "scale" in sections:
            bench_scale(report, exe, repeat, work, targets=targets, sizes=sizes)
        if "concurrency" in sections:
            bench_concurrency(report, exe, work, targets=targets, processes=args.processes,
                              per_process=args.per_process, cli_per_process=cli_per_process)
        # the floor again at the end: a drift between the two says the machine was noisy
        floor_end, _, _ = timed([sys.executable, "-c", "pass"], base_env(work / "x"), work,
                                repeat)
        report.rows.append(make_row("floor", "python3 -c pass (floor, again at the end)", "",
                                    None, floor_end))
    finally:
        for t in targets:
            if t.pg is not None:
                t.pg.drop_all()
        stop_started_servers()
        if args.keep:
            progress(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    floor_ms = report.rows[0].median_ms
    print(f"\nmlrig benchmarks — {report.started} — {report.machine['cpu']}, "
          f"{report.machine['cores']} cores, Python {report.machine['python']}, "
          f"{report.options['mode']} ({repeat} runs per figure); load average "
          f"{report.machine['load_average_at_start'][0]} at start, "
          f"{report.machine['load_average_at_end'][0]} at end\n")
    print(format_table(report, floor_ms))
    for note in report.notes:
        print(f"\n- {note}", end="")
    print()
    out = args.json or RESULTS_DIR / f"bench-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**asdict(report), "floor_ms": floor_ms}, indent=2))
    progress(f"raw results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
