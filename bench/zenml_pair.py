"""mlrig against ZenML 0.13.2 (the profile era), the same commands paired round by round.

Issue 14, goal 6: every read and write stays at or below its ratio to ZenML 0.13.2. ZenML
0.13.2 needs Python 3.9 and the dependency versions of its day; set it up once with

    python3.9 -m venv /tmp/zenml-venv
    /tmp/zenml-venv/bin/pip install uv
    /tmp/zenml-venv/bin/uv pip install --python /tmp/zenml-venv/bin/python \\
        --exclude-newer 2022-09-10 zenml==0.13.2

and run

    python3 bench/zenml_pair.py [--zenml /tmp/zenml-venv/bin/zenml] [--repeat 7]

With ``--before SRC`` (an older tree's ``src/``, e.g. ``git worktree add /tmp/before
423d998``, the tree issue 14 was measured on) that tree runs too, through the same
executable with ``PYTHONPATH=SRC``, in the same rounds: each command's ratio to ZenML now
and then, from one run.

Each tool gets a fresh configuration directory (``MLRIG_CONFIG_PATH`` /
``ZENML_CONFIG_PATH``) with the same components and stacks; every round runs each command
once on both (mlrig first on even rounds, ZenML first on odd ones). ZenML's analytics are
off (``ZENML_ANALYTICS_OPT_IN=false``) and both run with ``HTTP(S)_PROXY`` pointed at a
closed port on 127.0.0.1, so nothing leaves the machine. Both installations are compiled
to bytecode first and run without ``PYTHONDONTWRITEBYTECODE`` (an uncompiled ZenML pays
seconds per command to compile itself, which flatters mlrig's ratio). The figures are
medians of wall and of CPU time (user + sys from ``os.wait4``) and the peak RSS from
``/usr/bin/time``.
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


def interpreter_of(script: str) -> str:
    """The Python a console script runs (its ``#!`` line)."""
    with open(script, "rb") as f:
        first = f.readline().decode("utf-8", "replace").strip()
    if not first.startswith("#!"):
        raise SystemExit(f"{script} is not a Python console script")
    return first[2:].strip().split()[0]


def compile_both(mlrig: str, zenml: str) -> None:
    """Compile every module of both installations first (each with its own Python), so
    neither run pays for compiling and neither tool is favoured by a warmer cache."""
    for script in (mlrig, zenml):
        python = interpreter_of(shutil.which(script) or script)
        site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                               "['purelib'])"], capture_output=True, text=True, check=True)
        subprocess.run([python, "-m", "compileall", "-q", "-j0", site.stdout.strip()],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import mlrig as package

    subprocess.run([interpreter_of(shutil.which(mlrig) or mlrig), "-m", "compileall", "-q",
                    str(Path(package.__file__).parent)], stdout=subprocess.DEVNULL,
                   check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zenml", default="/tmp/zenml-venv/bin/zenml")
    parser.add_argument("--mlrig", default=shutil.which("mlrig") or "mlrig")
    parser.add_argument("--before", metavar="SRC",
                        help="also run an older mlrig tree's src/ (git worktree add /tmp/before "
                             "<commit>) with the same executable, on PYTHONPATH")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not Path(args.zenml).is_file():
        raise SystemExit(f"no ZenML at {args.zenml}: see this script's docstring")
    compile_both(args.mlrig, args.zenml)
    work = Path(tempfile.mkdtemp(prefix="mlrig-zenml-pair-"))
    # both run with their bytecode compiled, as installed packages have it:
    # PYTHONDONTWRITEBYTECODE would make every run compile what it imports
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("MLRIG_", "ZENML_")) and k != "PYTHONDONTWRITEBYTECODE"}
    base.update({"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
                 "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
                 "NO_PROXY": "", "ZENML_ANALYTICS_OPT_IN": "false", "COLUMNS": "120",
                 "ZENML_CONFIG_PATH": str(work / "zenml"),
                 "MLRIG_CONFIG_PATH": str(work / "mlrig"),
                 "MLRIG_CACHE_PATH": str(work / "cache")})
    tools: dict[str, tuple[Argv, dict[str, str]]] = {
        "mlrig": ([args.mlrig], base), "zenml": ([args.zenml], base)}
    if args.before:
        before = str(Path(args.before).resolve())
        subprocess.run([interpreter_of(shutil.which(args.mlrig) or args.mlrig), "-m",
                        "compileall", "-q", before], stdout=subprocess.DEVNULL, check=True)
        tools["before"] = ([args.mlrig], {**base, "PYTHONPATH": before,
                                          "MLRIG_CONFIG_PATH": str(work / "mlrig-before"),
                                          "MLRIG_CACHE_PATH": str(work / "cache-before")})
    for name, (exe, env) in tools.items():
        prepare(exe, env, name == "zenml")
    cases: dict[tuple[str, str], Case] = {}
    for label, _, argv in COMMANDS:
        for name, (exe, env) in tools.items():
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
            cases[(label, name)] = Case(f"{label}/{name}", vary, env, work)
    names = list(tools)
    load_start = os.getloadavg()
    for i in range(args.repeat + 1):
        order = names[i % len(names):] + names[:i % len(names)]  # each tool first in turn
        for label, _, _ in COMMANDS:
            for name in order:
                run_case(cases[(label, name)], i, record=i > 0)
    for case in cases.values():
        peak_memory(case, runs=2)
    load_end = os.getloadavg()
    print(f"load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end; "
          f"{args.repeat} rounds after a warm-up\n")
    old = "before" in tools
    head = ("| command | kind | mlrig wall ms | ZenML wall ms | ratio wall | ratio CPU | "
            "mlrig MiB | ZenML MiB |")
    rule = "|---|---|---:|---:|---:|---:|---:|---:|"
    if old:
        head += (" before wall ms | before ratio wall | before ratio CPU | before MiB |"
                 " at or below |")
        rule += "---:|---:|---:|---:|---|"
    print(head + " failed |")
    print(rule + "---:|")
    for label, kind, _ in COMMANDS:
        m, z = cases[(label, "mlrig")], cases[(label, "zenml")]
        row = (f"| {label} | {kind} | {med(m.wall):.0f} | {med(z.wall):.0f} | "
               f"{med(m.wall) / med(z.wall):.3f} | {med(m.cpu) / med(z.cpu):.3f} | "
               f"{max(m.rss, default=float('nan')):.1f} | "
               f"{max(z.rss, default=float('nan')):.1f} |")
        failed = f"{m.failures}/{z.failures}"
        shown = [m, z]
        if old:
            b = cases[(label, "before")]
            shown.append(b)
            ok = med(m.cpu) <= med(b.cpu) and med(m.wall) <= med(b.wall)
            row += (f" {med(b.wall):.0f} | {med(b.wall) / med(z.wall):.3f} | "
                    f"{med(b.cpu) / med(z.cpu):.3f} | {max(b.rss, default=float('nan')):.1f} | "
                    f"{'yes' if ok else 'no'} |")
            failed += f"/{b.failures}"
        print(f"{row} {failed} |")
        for case in shown:
            if case.error:
                print(f"|   {case.key}: {case.error[:160]} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
