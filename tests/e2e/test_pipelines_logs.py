"""A step's log with real processes: a step printing hundreds of MiB runs in bounded memory
(its log goes to its file as it grows, mlrig.runtime.step_logs), in the calling process
and in worker processes, and its log file holds all of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from mlrig.testing.runs import env_for, mlrig_command, run_mlrig_in

MIB = 1 << 20
#: what the loud step prints: far more than any run of mlrig needs in memory
PRINTED_MIB = 300
LAST_LINE = "the very last line\n"

SCRIPT = textwrap.dedent(f'''
    import sys
    from mlrig import pipeline, step

    @step(enable_cache=False)
    def loud(mebibytes: int = {PRINTED_MIB}, fail: bool = False) -> int:
        block = ("x" * 1023 + "\\n") * 1024
        for _ in range(mebibytes):
            sys.stdout.write(block)
        sys.stdout.write({LAST_LINE!r})
        if fail:
            raise ValueError("failed after the noise")
        return mebibytes

    @pipeline
    def noisy(fail: bool = False) -> None:
        loud(fail=fail)
''')


#: runs the command and prints its peak RSS (KiB): a fresh small process is its parent, so
#: the measure is the command's own (a child's peak starts at its parent's size when it is
#: forked, and a pytest worker may be large)
MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _run_measured(config_dir: Path, cwd: Path, *args: str) -> tuple[int, int, str]:
    """``mlrig ARGS`` with its stdout thrown away: (exit code, peak RSS in bytes of the
    process and the workers it waited for, stderr)."""
    measured = subprocess.run([sys.executable, "-c", MEASURE, *mlrig_command(), *args],
                              cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, env=env_for(config_dir), timeout=600)
    code, peak = (int(n) for n in measured.stdout.split())
    return code, peak * 1024, measured.stderr


def _last_run(config_dir: Path) -> dict:  # type: ignore[type-arg]
    listed = run_mlrig_in(config_dir, "pipeline", "runs", "list", "-o", "json")
    (run,) = json.loads(listed.stdout)["runs"][:1]
    shown = run_mlrig_in(config_dir, "pipeline", "runs", "describe", run["id"], "-o", "json")
    return json.loads(shown.stdout)["run"]  # type: ignore[no-any-return]


def _check_log(run: dict) -> Path:  # type: ignore[type-arg]
    (step,) = run["steps"]
    log = Path(step["logs"])
    assert log.stat().st_size >= PRINTED_MIB * MIB
    with open(log, "rb") as handle:
        handle.seek(PRINTED_MIB * MIB - 1024)
        assert handle.read(1024) == b"x" * 1023 + b"\n"
        rest = handle.read().decode()
    assert rest.startswith(LAST_LINE)
    assert [p.name for p in log.parent.iterdir() if p.name.endswith(".part")] == []
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    return log


def test_a_step_printing_hundreds_of_mib_runs_in_bounded_memory(
        config_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(SCRIPT)
    code, peak, stderr = _run_measured(config_dir, tmp_path, "pipeline", "run",
                                       "noisy.py:noisy")
    assert code == 0, stderr
    assert peak < PRINTED_MIB * MIB // 2, f"peak RSS {peak / MIB:.0f} MiB"
    log = _check_log(_last_run(config_dir))

    # a failing step: the error line, and its traceback at the end of the whole log
    code, peak, stderr = _run_measured(config_dir, tmp_path, "pipeline", "run",
                                       "noisy.py:noisy", "--config", str(_config(tmp_path)))
    assert code == 1
    assert "Step 'loud' of pipeline 'noisy' failed: ValueError: failed after the noise" \
        in stderr
    assert peak < PRINTED_MIB * MIB // 2, f"peak RSS {peak / MIB:.0f} MiB"
    failed_log = _check_log(_last_run(config_dir))
    assert failed_log != log
    with open(failed_log, "rb") as handle:  # never the whole file: this process is measured
        handle.seek(-4096, os.SEEK_END)
        assert handle.read().decode().rstrip().endswith("ValueError: failed after the noise")


def test_a_worker_process_spills_the_log_to_the_same_file(
        config_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(SCRIPT)
    run_mlrig_in(config_dir, "orchestrator", "register", "pool", "-f", "local",
                 "--parallelism=2")
    run_mlrig_in(config_dir, "stack", "copy", "default", "pooled")
    run_mlrig_in(config_dir, "stack", "update", "pooled", "-o", "pool")
    run_mlrig_in(config_dir, "stack", "set", "pooled")
    code, peak, stderr = _run_measured(config_dir, tmp_path, "pipeline", "run",
                                       "noisy.py:noisy")
    assert code == 0, stderr
    assert peak < PRINTED_MIB * MIB // 2, f"peak RSS {peak / MIB:.0f} MiB"
    run = _last_run(config_dir)
    assert run["orchestrator"] == "pool (local)"
    _check_log(run)


def _config(directory: Path) -> Path:
    path = directory / "fail.yaml"
    path.write_text("parameters:\n  loud:\n    fail: true\n")
    return path
