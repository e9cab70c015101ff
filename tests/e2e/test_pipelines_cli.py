"""``mlrig pipeline run`` and ``mlrig pipeline runs resume`` with the real executable: the
digits example on every orchestrator (the default stack, worker processes, a real Dask
LocalCluster), the cache at work, a failure named in one line and resumed, preflight."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.testing.runs import Run, assert_one_line_error, run_mlrig_in

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "digits"
STEPS = ("load_digits", "split", "train", "evaluate")

pytest.importorskip("sklearn")




@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example (its config is edited by a test)."""
    target = tmp_path / "digits"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def mlrig(client: Client, *args: str, **env: str) -> Run:
    return run_mlrig_in(client.config_dir, *args, timeout=240, **env)


def cached_steps(stderr: str) -> list[str]:
    return [step for step in STEPS if f"Using cached version of step '{step}'." in stderr]


@pytest.mark.parametrize("orchestrator", ["default", "parallel", "dask"])
def test_the_digits_example_trains_on_each_orchestrator_and_is_cached_the_second_time(
        client: Client, example: Path, orchestrator: str, request: pytest.FixtureRequest
) -> None:
    stack: dict[str, str] = {}
    if orchestrator != "default":
        config = ({"parallelism": 2} if orchestrator == "parallel"
                  else {"address": request.getfixturevalue("dask_address")})
        client.register_component("orchestrator", orchestrator,
                                  "local" if orchestrator == "parallel" else "dask", config)
        client.register_stack(orchestrator, {"orchestrator": orchestrator,
                                              "metadata_store": "default",
                                              "artifact_store": "default"})
        stack = {"MLRIG_ACTIVE_STACK": orchestrator}
    target = f"{example / 'pipeline.py'}:digits"
    first = mlrig(client, "pipeline", "run", target, "--config", str(example / "run.yaml"),
                  **stack)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.endswith("of pipeline 'digits' completed.\n"), first.stdout
    assert cached_steps(first.stderr) == []
    run = client.get_pipeline_run(first.stdout.split("'")[1])
    assert run.status.value == "completed"
    accuracy = run.steps["evaluate"].outputs["accuracy"].load()
    assert 0.9 < accuracy <= 1.0
    assert run.steps["split"].parameters == {"test_size": 0.2, "seed": 1}

    second = mlrig(client, "pipeline", "run", target, "--config", str(example / "run.yaml"),
                   **stack)
    assert second.exit_code == 0, second.stderr
    assert cached_steps(second.stderr) == list(STEPS)

    (example / "run.yaml").write_text(
        (example / "run.yaml").read_text().replace("c: 0.5", "c: 2.0"))
    third = mlrig(client, "pipeline", "run", target, "--config", str(example / "run.yaml"),
                  **stack)
    assert third.exit_code == 0, third.stderr
    assert cached_steps(third.stderr) == ["load_digits", "split"]
    third_id = third.stdout.split("'")[1]
    why = mlrig(client, "pipeline", "runs", "explain-cache", third_id, "train", "-o", "json",
                **stack)
    assert why.exit_code == 0, why.stderr
    assert '"changed": [\n      "parameter:c"\n    ]' in why.stdout


FLOWS = '''
from pathlib import Path
from mlrig import pipeline, step

HERE = Path(__file__).parent

@step
def prepare() -> int:
    with open(HERE / "calls", "a") as handle:
        handle.write("prepare\\n")
    return 2

@step
def gate(value: int) -> int:
    if (HERE / "broken").exists():
        raise RuntimeError("the gate is closed")
    return value * 21

@pipeline
def gated() -> None:
    gate(prepare())
'''


def test_a_failed_run_is_one_line_and_resumes_from_the_failed_step(
        client: Client, tmp_path: Path) -> None:
    flows = tmp_path / "flows.py"
    flows.write_text(textwrap.dedent(FLOWS))
    (tmp_path / "broken").write_text("")
    failed = mlrig(client, "pipeline", "run", f"{flows}:gated")
    # the run's progress, then one error line; no traceback
    assert failed.exit_code == 1 and "Traceback" not in failed.stderr, failed.stderr
    errors = [x for x in failed.stderr.splitlines() if x.startswith("Error:")]
    assert len(errors) == 1, failed.stderr
    line = errors[0]
    assert "Step 'gate' of pipeline 'gated' failed: RuntimeError: the gate is closed." in line
    assert "Fix it, then run 'mlrig pipeline runs resume " in line
    run_id = line.split("mlrig pipeline runs resume ")[1].split("'")[0]
    logs = mlrig(client, "pipeline", "runs", "logs", run_id, "gate")
    assert "Traceback" in logs.stdout and "the gate is closed" in logs.stdout

    (tmp_path / "broken").unlink()
    resumed = mlrig(client, "pipeline", "runs", "resume", run_id)
    assert resumed.exit_code == 0, resumed.stderr
    assert f"(resumed from run '{run_id}')" in resumed.stdout
    assert f"Reusing step 'prepare' of run {run_id}." in resumed.stderr
    assert (tmp_path / "calls").read_text() == "prepare\n"
    new = client.get_pipeline_run(resumed.stdout.split("'")[1])
    assert new.steps["gate"].outputs["output"].load() == 42
    again = mlrig(client, "pipeline", "runs", "resume", new.id)
    assert "nothing to resume" in assert_one_line_error(again.exit_code, again.stdout, again.stderr)


def test_preflight_and_bad_targets_are_one_line(client: Client, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    client.register_component("orchestrator", "far", "dask",
                              {"address": "tcp://127.0.0.1:9", "timeout": 0.5})
    client.register_stack("far", {"orchestrator": "far", "metadata_store": "default",
                                  "artifact_store": "default"})
    far = mlrig(client, "pipeline", "run", "mlrig.testing.pipelines:linear",
                MLRIG_ACTIVE_STACK="far")
    line = assert_one_line_error(far.exit_code, far.stdout, far.stderr)
    assert line.startswith("Error: Preflight: the orchestrator 'far' (dask) of stack 'far' of "
                           "profile 'default' (chosen by ")
    assert "MLRIG_ACTIVE_STACK" in line
    for target, message in [
        ("nowhere.py:p", "No file 'nowhere.py'"),
        ("mlrig.testing.pipelines:nothing", "is nothing, not a pipeline"),
        ("mlrig.testing.pipelines:make_numbers", "not a pipeline"),
        ("no_such_module_x:p", "Cannot import 'no_such_module_x'"),
        ("justaname", "names no pipeline"),
    ]:
        result = mlrig(client, "pipeline", "run", target)
        line = assert_one_line_error(result.exit_code, result.stdout, result.stderr)
        assert message in line, target
    (tmp_path / "bad.yaml").write_text("parameters:\n  scale: {factor: much}\n")
    bad = mlrig(client, "pipeline", "run", "mlrig.testing.pipelines:linear", "--config",
                str(tmp_path / "bad.yaml"))
    assert "Parameter 'factor' of step 'scale' is not valid" in assert_one_line_error(
        bad.exit_code, bad.stdout, bad.stderr)
    assert client.list_pipeline_runs().runs == []
