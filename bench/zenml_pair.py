"""mlrig against ZenML 0.13.2 (the profile era), the same commands paired round by round.

Issue 14, goal 6: every read and write stays at or below its ratio to ZenML 0.13.2. ZenML
0.13.2 needs Python 3.9 and the dependency versions of its day; set it up once with

    python3.9 -m venv /tmp/zenml-venv
    /tmp/zenml-venv/bin/pip install uv
    /tmp/zenml-venv/bin/uv pip install --python /tmp/zenml-venv/bin/python \\
        --exclude-newer 2022-09-10 zenml==0.13.2

and run

    python3 bench/zenml_pair.py [--zenml /tmp/zenml-venv/bin/zenml] [--repeat 7]

Each tool gets a fresh configuration directory (``MLRIG_CONFIG_PATH`` /
``ZENML_CONFIG_PATH``) with the same components and stacks; every round runs each command
once on both (mlrig first on even rounds, ZenML first on odd ones). ZenML's analytics are
off (``ZENML_ANALYTICS_OPT_IN=false``) and both run with ``HTTP(S)_PROXY`` pointed at a
closed port on 127.0.0.1, so nothing leaves the machine. The figures are medians of wall
and of CPU time (user + sys from ``os.wait4``) and the peak RSS from ``/usr/bin/time``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from goals import Argv, Case, med, peak_memory, run_case

#: (label, kind, the arguments for round i) — the same words for both tools
COMMANDS: list[tuple[str, str, object]] = [
    ("profile list", "read", ["profile", "list"]),
    ("stack list", "read", ["stack", "list"]),
    ("stack describe", "read", ["stack", "describe"]),
    ("artifact-store list", "read", ["artifact-store", "list"]),
    ("artifact-store describe", "read", ["artifact-store", "describe", "lake"]),
    ("stack set", "write", lambda i: ["stack", "set", ("dev", "default")[i % 2]]),
    ("artifact-store register", "write",
     lambda i: ["artifact-store", "register", f"a{i}-{time.time_ns()}", "-f", "local",
                f"--path=/tmp/bench-lake-{i}"]),
    ("artifact-store update", "write",
     lambda i: ["artifact-store", "update", "lake", f"--path=/tmp/bench-lake-u{i}"]),
    ("stack register", "write", None),  # tool-specific: ZenML needs --decouple_stores
    ("profile create", "write", lambda i: ["profile", "create", f"p{i}-{time.time_ns()}"]),
]


def prepare(exe: Argv, env: dict[str, str], zenml: bool) -> None:
    for args in (["stack", "list"],
                 ["artifact-store", "register", "lake", "-f", "local", "--path=/tmp/bench-lake"],
                 ["stack", "register", "dev", "-o", "default", "-a", "lake", "-m", "default",
                  *(["--decouple_stores"] if zenml else [])],
                 ["stack", "set", "default"]):
        proc = subprocess.run([*exe, *args], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(exe + args)} failed: {proc.stderr.strip()[-400:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zenml", default="/tmp/zenml-venv/bin/zenml")
    parser.add_argument("--mlrig", default=shutil.which("mlrig") or "mlrig")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not Path(args.zenml).is_file():
        raise SystemExit(f"no ZenML at {args.zenml}: see this script's docstring")
    work = Path(tempfile.mkdtemp(prefix="mlrig-zenml-pair-"))
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("MLRIG_", "ZENML_"))}
    base.update({"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
                 "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
                 "NO_PROXY": "", "ZENML_ANALYTICS_OPT_IN": "false", "COLUMNS": "120",
                 "ZENML_CONFIG_PATH": str(work / "zenml"),
                 "MLRIG_CONFIG_PATH": str(work / "mlrig"),
                 "MLRIG_CACHE_PATH": str(work / "cache")})
    tools = {"mlrig": [args.mlrig], "zenml": [args.zenml]}
    for name, exe in tools.items():
        prepare(exe, base, name == "zenml")
    cases: dict[tuple[str, str], Case] = {}
    for label, _, argv in COMMANDS:
        for name, exe in tools.items():
            if label == "stack register":
                extra = ["--decouple_stores"] if name == "zenml" else []

                def vary(i: int, exe: Argv = exe, extra: Argv = extra) -> Argv:
                    return [*exe, "stack", "register", f"s{i}-{time.time_ns()}", "-o",
                            "default", "-a", "lake", "-m", "default", *extra]
            elif callable(argv):
                def vary(i: int, exe: Argv = exe, argv: object = argv) -> Argv:
                    return [*exe, *argv(i)]  # type: ignore[operator]
            else:
                def vary(i: int, exe: Argv = exe, argv: object = argv) -> Argv:
                    return [*exe, *argv]  # type: ignore[misc]
            cases[(label, name)] = Case(f"{label}/{name}", vary, base, work)
    load_start = os.getloadavg()
    for i in range(args.repeat + 1):
        order = ("mlrig", "zenml") if i % 2 == 0 else ("zenml", "mlrig")
        for label, _, _ in COMMANDS:
            for name in order:
                run_case(cases[(label, name)], i, record=i > 0)
    for case in cases.values():
        peak_memory(case, runs=2)
    load_end = os.getloadavg()
    print(f"load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end; "
          f"{args.repeat} rounds after a warm-up\n")
    print("| command | kind | mlrig wall ms | ZenML wall ms | ratio wall | ratio CPU | "
          "mlrig MiB | ZenML MiB | failed |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, kind, _ in COMMANDS:
        m, z = cases[(label, "mlrig")], cases[(label, "zenml")]
        print(f"| {label} | {kind} | {med(m.wall):.0f} | {med(z.wall):.0f} | "
              f"{med(m.wall) / med(z.wall):.3f} | {med(m.cpu) / med(z.cpu):.3f} | "
              f"{max(m.rss, default=float('nan')):.1f} | {max(z.rss, default=float('nan')):.1f} "
              f"| {m.failures}/{z.failures} |")
        for case in (m, z):
            if case.error:
                print(f"|   {case.key}: {case.error[:160]} | | | | | | | | |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
