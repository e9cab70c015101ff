"""Pipeline runs with real processes: a script's steps in worker processes, two runs at
once, a run killed with SIGKILL and resumed, the guard a worker needs, a LocalCluster
started by the run, preflight, retries and explain-cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.core import pipelines as core
from mlrig.core.runtime_stack import runtime_stack
from mlrig.core.session import Session
from mlrig.models import ComponentType
from mlrig.runtime.records import MetadataStore, RunStatus

SCRIPT = '''
import os, sys, time
from pathlib import Path
from mlrig import pipeline, step

DIR = Path(os.environ["PIPELINE_DIR"])

@step
def first(tag: str = "a") -> int:
    with open(DIR / "calls", "a") as handle:
        handle.write(f"first {os.getpid()}\\n")
    return 1

@step
def wait(x: int) -> int:
    (DIR / f"started-{os.getpid()}").write_text("")
    while not (DIR / "go").exists():
        time.sleep(0.02)
    with open(DIR / "calls", "a") as handle:
        handle.write(f"wait {os.getpid()}\\n")
    return x + 1

@step
def where() -> int:
    return os.getpid()

@pipeline
def killable(tag: str = "a") -> None:
    wait(first(tag=tag))

@pipeline
def pids() -> None:
    for _ in range(3):
        where()

if __name__ == "__main__":
    name = sys.argv[1]
    kwargs = dict(a.split("=", 1) for a in sys.argv[3:])
    stack = sys.argv[2] if sys.argv[2] != "-" else None
    record = {"killable": killable, "pids": pids}[name].run(stack=stack, enable_cache=False,
                                                          **kwargs)
    print("RUN", record.id, record.status.value, os.getpid())
'''


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "flows.py"
    path.write_text(SCRIPT)
    monkeypatch.setenv("PIPELINE_DIR", str(tmp_path))
    return path


def metadata(client: Client) -> MetadataStore:
    store: MetadataStore = runtime_stack(Session(client.config_dir)).implementation(
        ComponentType.METADATA_STORE)
    return store


def run_script(script: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def run_id(proc: subprocess.CompletedProcess[str]) -> str:
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RUN "))
    return line.split()[1]


def test_two_runs_at_once_on_one_stack_are_both_recorded_complete(
        client: Client, script: Path, tmp_path: Path) -> None:
    client.list_stacks()
    procs = [subprocess.Popen([sys.executable, str(script), "killable", "-", f"tag={t}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for t in ("one", "two")]
    deadline = time.time() + 60
    while len(list(tmp_path.glob("started-*"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(list(tmp_path.glob("started-*"))) == 2, [p.poll() for p in procs]
    (tmp_path / "go").write_text("")
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ids = [next(line.split()[1] for line in out.splitlines() if line.startswith("RUN "))
           for out, _ in outputs]
    store = metadata(client)
    for identifier in ids:
        run = store.get_run(identifier)
        assert run.status is RunStatus.COMPLETED
        assert [(s.name, s.status.value) for s in run.steps] == [
            ("first", "completed"), ("wait", "completed")]
    listed = {r.id for r in store.list_runs(pipeline="killable").runs}
    assert set(ids) <= listed


def test_a_run_killed_with_sigkill_is_failed_and_resumes_reusing_finished_steps(
        client: Client, script: Path, tmp_path: Path) -> None:
    client.list_stacks()
    proc = subprocess.Popen([sys.executable, str(script), "killable", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not list(tmp_path.glob("started-*")) and time.time() < deadline:
        time.sleep(0.02)
    assert list(tmp_path.glob("started-*")), proc.communicate(timeout=5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    store = metadata(client)
    killed = store.list_runs(pipeline="killable").runs[0]
    assert killed.pid == proc.pid
    (tmp_path / "go").write_text("")
    events: list[str] = []
    session = Session(client.config_dir, events=lambda e: events.append(e.message))
    resumed = core.resume_run(session, killed.id)
    assert resumed.status is RunStatus.COMPLETED and resumed.resumed_from == killed.id
    steps = {s.name: s for s in resumed.steps}
    assert steps["first"].cached and steps["first"].status.value == "cached"
    assert steps["wait"].status.value == "completed"
    calls = (tmp_path / "calls").read_text().split()
    assert calls.count("first") == 1 and calls.count("wait") == 1
    assert f"Reusing step 'first' of run {killed.id}." in events
    assert store.get_run(killed.id).status is RunStatus.FAILED
    with pytest.raises(Exception, match="nothing to resume"):
        core.resume_run(session, resumed.id)


def test_a_scripts_steps_run_in_worker_processes(client: Client, script: Path) -> None:
    client.register_component("orchestrator", "par", "local", {"parallelism": 2})
    client.register_stack("par", {"orchestrator": "par", "metadata_store": "default",
                                  "artifact_store": "default"})
    proc = run_script(script, "pids", "par")
    assert proc.returncode == 0, proc.stderr
    run = metadata(client).get_run(run_id(proc))
    store = runtime_stack(Session(client.config_dir)).implementation(
        ComponentType.ARTIFACT_STORE)
    pids = set()
    for step in run.steps:
        artifact = metadata(client).get_artifact(step.outputs["output"])
        pids.add(int(store.get(artifact.digest)))
    driver = int(proc.stdout.split()[-1])
    assert pids and driver not in pids


def test_an_unguarded_pipeline_call_is_refused_in_a_worker(client: Client, tmp_path: Path) -> None:
    client.register_component("orchestrator", "par", "local", {"parallelism": 2})
    client.register_stack("par", {"orchestrator": "par", "metadata_store": "default",
                                  "artifact_store": "default"}, set_active=True)
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent('''
        from mlrig import pipeline, step

        @step
        def one() -> int:
            return 1

        @pipeline
        def p() -> None:
            one()

        p()
    '''))
    proc = run_script(script)
    assert proc.returncode != 0
    assert "put the call under if __name__ == '__main__':" in proc.stderr


def test_the_dask_orchestrator_without_an_address_starts_a_local_cluster(
        client: Client, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    client.register_component("orchestrator", "dask", "dask", {"n_workers": 1})
    client.register_stack("dask", {"orchestrator": "dask", "metadata_store": "default",
                                   "artifact_store": "default"}, set_active=True)
    script = tmp_path / "on_dask.py"
    script.write_text(textwrap.dedent('''
        import os
        from mlrig import pipeline, step

        @step
        def where() -> int:
            return os.getpid()

        @pipeline
        def p() -> None:
            where()

        if __name__ == "__main__":
            record = p()
            print("RUN", record.id, os.getpid())
    '''))
    proc = run_script(script, timeout=180)
    assert proc.returncode == 0, proc.stderr
    identifier, driver = proc.stdout.split()[1:3]
    run = metadata(client).get_run(identifier)
    assert run.orchestrator == "dask (dask)" and run.status is RunStatus.COMPLETED
    store = runtime_stack(Session(client.config_dir)).implementation(
        ComponentType.ARTIFACT_STORE)
    artifact = metadata(client).get_artifact(run.steps[0].outputs["output"])
    assert int(store.get(artifact.digest)) != int(driver)


def test_preflight_names_the_component_the_stack_and_the_scope(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    from mlrig.testing.pipelines import linear

    client.register_component("orchestrator", "far", "dask",
                              {"address": "tcp://127.0.0.1:9", "timeout": 0.5})
    client.register_stack("far", {"orchestrator": "far", "metadata_store": "default",
                                  "artifact_store": "default"})
    monkeypatch.setenv("MLRIG_ACTIVE_STACK", "far")
    with pytest.raises(core.PreflightError) as info:
        linear.run(config_path=client.config_dir, events=lambda e: None)
    message = str(info.value)
    assert message.startswith("Preflight: the orchestrator 'far' (dask) of stack 'far'")
    assert "MLRIG_ACTIVE_STACK" in message and "\n" not in message
    assert metadata(client).list_runs().runs == []


def test_bad_parameters_and_configs_are_one_line_and_run_nothing(
        client: Client, tmp_path: Path) -> None:
    from mlrig.testing.pipelines import linear

    quiet = {"config_path": client.config_dir, "events": lambda e: None}
    cases = [
        ({"parameters": {"scale": {"factor": "much"}}}, "Parameter 'factor' of step 'scale'"),
        ({"parameters": {"scale": {"nope": 1}}}, "Step 'scale' has no parameter 'nope'"),
        ({"parameters": {"scale": {"numbers": [1]}}}, "which is an input"),
        ({"parameters": {"missing": {"a": 1}}}, "step 'missing', which pipeline 'linear'"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ]
    for config, message in cases:
        with pytest.raises(Exception, match=message) as info:
            linear.run(config=config, **quiet)
        assert "\n" not in str(info.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters: [1, 2]\n")
    with pytest.raises(Exception, match="maps each step"):
        linear.run(config=bad, **quiet)
    assert metadata(client).list_runs().runs == []


def test_a_config_file_sets_parameters_and_explain_cache_says_what_changed(
        client: Client, tmp_path: Path) -> None:
    from mlrig.testing.pipelines import linear

    quiet = {"config_path": client.config_dir, "events": lambda e: None}
    first = linear.run(**quiet)
    config = tmp_path / "run.yaml"
    config.write_text("parameters:\n  scale:\n    factor: 3\n")
    second = linear.run(config=config, **quiet)
    steps = {s.name: s for s in second.steps}
    assert steps["make_numbers"].cached and not steps["scale"].cached
    assert steps["scale"].parameters == {"factor": 3.0}
    session = Session(client.config_dir)
    why = core.explain_cache(session, second.id, "scale")
    assert why.changed == ["parameter:factor"] and why.previous_run_id == first.id
    assert "'parameter:factor' changed" in why.summary
    part = next(p for p in why.parts if p.name == "parameter:factor")
    assert (part.value, part.previous) == ("3.0", "2.0")
    # total's input changed because scale's output did
    assert core.explain_cache(session, second.id, "total").changed == ["input:values"]
    cached = core.explain_cache(session, second.id, "make_numbers")
    assert cached.cached and cached.changed == [] and "served from the cache" in cached.summary


def test_retries_are_recorded_with_every_attempt_in_the_log(
        client: Client, tmp_path: Path) -> None:
    from mlrig.testing.pipelines import retrying

    record = retrying.run(directory=str(tmp_path), config_path=client.config_dir,
                          events=lambda e: None)
    step = record.steps[0]
    assert step.status.value == "completed" and step.attempts == 3
    log = Path(step.logs_uri or "").read_text()
    assert log.count("ConnectionError: attempt") == 2 and "Retrying step 'flaky'" in log


def test_preflight_resolves_secret_references_and_names_a_missing_one(
        client: Client, tmp_path: Path) -> None:
    from mlrig.testing.pipelines import linear

    client.register_component("secrets_manager", "vault", "local", {})
    client.register_component("artifact_store", "lake", "local",
                              {"path": "{{lake.path}}"})
    client.register_stack("sealed", {"orchestrator": "default", "metadata_store": "default",
                                     "artifact_store": "lake", "secrets_manager": "vault"},
                          set_active=True)
    quiet = {"config_path": client.config_dir, "events": lambda e: None}
    with pytest.raises(core.PreflightError) as info:
        linear.run(**quiet)
    message = str(info.value)
    assert message.startswith("Preflight: the artifact store 'lake' (local) of stack 'sealed'")
    assert "secret 'lake'" in message and "\n" not in message
    lake = tmp_path / "lake"
    client.register_secret("lake", {"path": str(lake)})
    record = linear.run(**quiet)
    assert record.status is RunStatus.COMPLETED
    assert any((lake / "artifacts").rglob("*"))  # the outputs went where the secret says
    stored = client.get_component("artifact_store", "lake").config
    assert stored == {"path": "{{lake.path}}"}  # the reference, never the value


def test_a_cache_hit_reads_no_artifact_until_a_step_that_runs_needs_it(
        client: Client, tmp_path: Path) -> None:
    from mlrig.testing.pipelines import linear

    quiet = {"config_path": client.config_dir, "events": lambda e: None}
    first = linear.run(**quiet)
    store = metadata(client)
    artifacts = runtime_stack(Session(client.config_dir)).implementation(
        ComponentType.ARTIFACT_STORE)
    for step in first.steps:  # take every output's bytes away
        digest = store.get_artifact(step.outputs["output"]).digest
        Path(artifacts.uri(digest)).unlink()
    again = linear.run(**quiet)
    assert [s.status.value for s in again.steps] == ["cached"] * 3
    # scale runs again and needs make_numbers' output: now it is read, and missing
    with pytest.raises(Exception, match="Step 'scale'") as info:
        linear.run(config={"parameters": {"scale": {"factor": 5}}}, **quiet)
    assert "holds no artifact" in str(info.value)
