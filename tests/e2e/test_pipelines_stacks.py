"""The issue's "done when", with the real executable: the digits example on the default
stack, then on a second stack (an ``s3`` artifact store on the test S3 server, its
credentials secret references, and a ``dask`` orchestrator on a real LocalCluster) chosen
by ``MLRIG_ACTIVE_STACK``; the second run there is served from the cache and says so;
``runs describe``, ``artifact get`` and the library show the same run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.testing.runs import Run, run_mlrig_in
from mlrig.testing.s3 import S3Server

ROOT = Path(__file__).resolve().parents[2]
TARGET = f"{ROOT / 'examples' / 'digits' / 'pipeline.py'}:digits"
CONFIG = str(ROOT / "examples" / "digits" / "run.yaml")
STEPS = ("load_digits", "split", "train", "evaluate")

pytest.importorskip("sklearn")
pytest.importorskip("distributed")




def mlrig(client: Client, *args: str, **env: str) -> Run:
    return run_mlrig_in(client.config_dir, *args, timeout=300, **env)


def test_the_same_code_runs_on_the_default_stack_then_on_s3_and_dask(
        client: Client, s3_server: S3Server, s3_path: str, dask_address: str) -> None:
    local = mlrig(client, "pipeline", "run", TARGET, "--config", CONFIG)
    assert local.exit_code == 0, local.stderr
    assert "on stack 'default'" in local.stderr

    client.register_component("secrets_manager", "vault", "local", {})
    client.register_component("orchestrator", "cluster", "dask", {"address": dask_address})
    client.register_stack("remote", {"orchestrator": "cluster", "metadata_store": "default",
                                     "artifact_store": "default",
                                     "secrets_manager": "vault"})
    env = {"MLRIG_ACTIVE_STACK": "remote"}
    secret = mlrig(client, "secret", "register", "lake", f"--key={s3_server.access_key}",
                   f"--secret={s3_server.secret_key}", **env)
    assert secret.exit_code == 0, secret.stderr
    registered = mlrig(
        client, "artifact-store", "register", "lake", "--flavor", "s3", f"--path={s3_path}",
        f"--endpoint_url={s3_server.endpoint_url}", "--region=us-east-1",
        "--key={{lake.key}}", "--secret={{lake.secret}}", **env)
    assert registered.exit_code == 0, registered.stderr
    updated = mlrig(client, "stack", "update", "remote", "-a", "lake", **env)
    assert updated.exit_code == 0, updated.stderr

    first = mlrig(client, "pipeline", "run", TARGET, "--config", CONFIG, **env)
    assert first.exit_code == 0, first.stderr
    assert "on stack 'remote'" in first.stderr and "Using cached" not in first.stderr
    second = mlrig(client, "pipeline", "run", TARGET, "--config", CONFIG, **env)
    assert second.exit_code == 0, second.stderr
    for step in STEPS:
        assert f"Using cached version of step '{step}'." in second.stderr
    run_id = second.stdout.split("'")[1]

    described = mlrig(client, "pipeline", "runs", "describe", run_id, "-o", "json", **env)
    assert described.exit_code == 0, described.stderr
    document = json.loads(described.stdout)["run"]
    assert (document["stack"], document["orchestrator"]) == ("remote", "cluster (dask)")
    steps = {s["name"]: s for s in document["steps"]}
    assert all(steps[name]["cached"] for name in STEPS)
    accuracy_id = steps["evaluate"]["outputs"]["accuracy"]["id"]
    got = mlrig(client, "artifact", "get", accuracy_id, **env)
    assert got.exit_code == 0, got.stderr

    library = Client(client.config_dir, stack="remote").get_pipeline_run(run_id)
    accuracy = library.steps["evaluate"].outputs["accuracy"].load()
    assert 0.9 < accuracy <= 1.0
    assert str(accuracy) in got.stdout
    # the bytes are in the bucket, and the stored config keeps the references
    assert library.steps["train"].outputs["model"].record.uri.startswith(s3_path)
    stored = client.get_component("artifact_store", "lake").config
    assert stored["secret"] == "{{lake.secret}}" and stored["key"] == "{{lake.key}}"
