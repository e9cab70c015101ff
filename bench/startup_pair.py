"""Start-up of two source trees of mlrig, paired in one run with ``python3 -c pass``.

    git worktree add /tmp/before <commit>
    python3 bench/startup_pair.py --before /tmp/before/src [--after src] [--repeat 31]

Each round runs the floor, then each command on each tree, one after the other, so that a
busy machine slows all of them alike; the table gives medians and the ratio to the floor.
Each tree gets a fresh config dir made by its own first command. Commands run as
``python -c "from mlrig.cli import main; main()"`` with the tree on ``PYTHONPATH`` (the same
interpreter, site-packages and dependencies for both), not through a console script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {"stack list": ["stack", "list"], "profile current": ["profile", "current"],
            "stack current": ["stack", "current"], "stack describe": ["stack", "describe"],
            "status": ["status"], "stack set": ["stack", "set", "default"],
            "artifact-store list": ["artifact-store", "list"]}


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the src/ of the older tree")
    parser.add_argument("--after", default=str(Path(__file__).resolve().parents[1] / "src"))
    parser.add_argument("--repeat", type=int, default=31)
    options = parser.parse_args()
    trees = {"before": options.before, "after": options.after}
    envs = {}
    for label, src in trees.items():
        env = dict(os.environ, PYTHONPATH=src, MLRIG_CONFIG_PATH=tempfile.mkdtemp())
        env.pop("VIRTUAL_ENV", None)
        envs[label] = env
        code = "import sys; sys.argv=['mlrig','profile','list']; from mlrig.cli import main; main()"
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    results: dict[str, list[float]] = {"python3 -c pass": []}
    for _ in range(options.repeat):
        results["python3 -c pass"].append(timed([sys.executable, "-c", "pass"], dict(os.environ)))
        for label in trees:
            for name, args in COMMANDS.items():
                code = (f"import sys; sys.argv=['mlrig', *{args!r}]; "
                        "from mlrig.cli import main; main()")
                results.setdefault(f"{name} ({label})", []).append(
                    timed([sys.executable, "-c", code], envs[label]))
    floor = statistics.median(results["python3 -c pass"])
    print(f"{options.repeat} rounds; load average {os.getloadavg()[0]:.2f} at the end")
    print("| what | median ms | × python3 -c pass |\n|---|---:|---:|")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.0f} | {median / floor:.1f} |")


if __name__ == "__main__":
    main()
