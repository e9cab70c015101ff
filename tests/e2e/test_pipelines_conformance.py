"""The conformance suite: every test pipeline on every orchestrator gives the same records.

One profile, one artifact store and one metadata store (the default ones), three stacks
that differ only in their orchestrator: ``local`` in the calling process, ``local`` with
two worker processes, and ``dask`` on a real ``distributed.LocalCluster`` started once per
test process (``dask_address`` of tests/e2e/conftest.py). Each pipeline first runs without
the cache on each orchestrator (same keys, same output digests, same statuses, attempts and
errors), then with it (every step that completed before is served from the cache, on every
orchestrator alike).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlrig.client import Client
from mlrig.core.runtime_stack import runtime_stack
from mlrig.core.session import Session
from mlrig.models import ComponentType
from mlrig.pipelines import StepFailedError
from mlrig.runtime.records import MetadataStore, PipelineRunRecord
from mlrig.testing.pipelines import CONFORMANCE

pytest.importorskip("distributed")

ORCHESTRATORS = ("serial", "parallel", "dask")




@pytest.fixture
def stacks(client: Client, dask_address: str) -> Client:
    base = {"metadata_store": "default", "artifact_store": "default"}
    client.register_component("orchestrator", "serial", "local", {})
    client.register_component("orchestrator", "parallel", "local", {"parallelism": 2})
    client.register_component("orchestrator", "dask", "dask", {"address": dask_address})
    for name in ORCHESTRATORS:
        client.register_stack(f"on-{name}", {**base, "orchestrator": name})
    return client


def metadata(client: Client) -> MetadataStore:
    store: MetadataStore = runtime_stack(Session(client.config_dir)).implementation(
        ComponentType.METADATA_STORE)
    return store


def run(client: Client, name: str, orchestrator: str, directory: Path,
        enable_cache: bool) -> PipelineRunRecord:
    definition, arguments = CONFORMANCE[name]
    args = {k: v.replace("{dir}", str(directory)) for k, v in arguments.items()}
    (directory / "flaky-count").unlink(missing_ok=True)
    try:
        record: PipelineRunRecord = definition.run(
            stack=f"on-{orchestrator}", config_path=client.config_dir,
            enable_cache=enable_cache, events=lambda event: None, **args)
        run_id = record.id
    except StepFailedError as error:
        run_id = error.run_id
    return metadata(client).get_run(run_id)


def normalized(store: MetadataStore, run: PipelineRunRecord) -> dict[str, Any]:
    """What must not depend on the orchestrator: everything but ids, times and paths."""
    def digest(artifact_id: str) -> tuple[str, str, str, str]:
        artifact = store.get_artifact(artifact_id)
        return artifact.name, artifact.digest, artifact.materializer, artifact.data_type

    steps = {}
    for step in run.steps:
        steps[step.name] = {
            "status": step.status.value,
            "cached": step.cached,
            "cache_key": step.cache_key,
            "cache_parts": dict(step.cache_parts),
            "parameters": dict(step.parameters),
            "upstream": sorted(step.upstream),
            "inputs": {k: digest(v) for k, v in step.inputs.items()},
            "outputs": {k: digest(v) for k, v in step.outputs.items()},
            "attempts": step.attempts,
            "error": step.error,
            "has_log": step.logs_uri is not None if not step.cached else None,
        }
    return {"pipeline": run.pipeline, "status": run.status.value, "error": run.error,
            "steps": steps}


@pytest.mark.parametrize("name", sorted(CONFORMANCE))
def test_every_orchestrator_records_the_same_run(stacks: Client, name: str,
                                                 tmp_path: Path) -> None:
    store = metadata(stacks)
    fresh = {o: run(stacks, name, o, tmp_path, enable_cache=False) for o in ORCHESTRATORS}
    documents = {o: normalized(store, r) for o, r in fresh.items()}
    assert documents["parallel"] == documents["serial"]
    assert documents["dask"] == documents["serial"]
    assert {r.orchestrator for r in fresh.values()} == {
        "serial (local)", "parallel (local)", "dask (dask)"}
    assert not any(s["cached"] for s in documents["serial"]["steps"].values())

    cached = {o: run(stacks, name, o, tmp_path, enable_cache=True) for o in ORCHESTRATORS}
    again = {o: normalized(store, r) for o, r in cached.items()}
    assert again["parallel"] == again["serial"] and again["dask"] == again["serial"]
    for step_name, step in again["serial"]["steps"].items():
        first = documents["serial"]["steps"][step_name]
        if first["status"] == "completed":
            assert step["cached"] and step["status"] == "cached", step_name
            assert step["outputs"] == first["outputs"] and step["cache_key"] == first["cache_key"]
        else:
            assert step["status"] == first["status"], step_name


def test_the_failing_pipeline_names_its_step_and_keeps_the_traceback_in_its_log(
        stacks: Client, tmp_path: Path) -> None:
    for orchestrator in ORCHESTRATORS:
        definition, _ = CONFORMANCE["failing"]
        with pytest.raises(StepFailedError) as info:
            definition.run(stack=f"on-{orchestrator}", config_path=stacks.config_dir,
                           events=lambda event: None)
        error = info.value
        assert error.step == "breaks"
        assert "Step 'breaks' of pipeline 'failing' failed: StepBroke: deliberately broken" in (
            str(error))
        assert "\n" not in str(error)
        record = metadata(stacks).get_run(error.run_id)
        steps = {s.name: s for s in record.steps}
        assert steps["after_break"].status.value == "skipped"
        assert steps["independent"].status.value in ("completed", "cached")
        log = Path(steps["breaks"].logs_uri or "").read_text()
        assert "Traceback (most recent call last)" in log and "StepBroke" in log
        assert "about to break" in log
