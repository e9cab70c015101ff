"""``mlrig.core.runs`` through the Client: run views that load artifacts from the stack the
run ran on (or the active stack's artifact store once that stack is gone), lineage, logs
and what deleting a run removes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.exceptions import NotFoundError

DIAMOND = "mlrig.testing.pipelines:diamond"
LINEAR = "mlrig.testing.pipelines:linear"


def test_a_run_on_another_stack_loads_from_that_stacks_artifact_store(
        client: Client, tmp_path: Path) -> None:
    client.config()
    client.register_component("artifact_store", "elsewhere", "local",
                              {"path": str(tmp_path / "elsewhere")})
    client.register_stack("other", {"orchestrator": "default", "metadata_store": "default",
                                    "artifact_store": "elsewhere"})
    on_other = Client(stack="other").run_pipeline(DIAMOND)
    run = client.get_pipeline_run(on_other.id)  # the active stack is still 'default'
    assert run.stack == "other"
    assert run.steps["upper"].outputs["output"].load() == "QUICK BROWN JUMPS OVER LAZY"
    # the stack is gone and the active one's artifact store never had the bytes
    client.delete_stack("other")
    with pytest.raises(NotFoundError, match="not in the artifact store of stack 'other'") \
            as info:
        client.get_pipeline_run(on_other.id).steps["upper"].outputs["output"].load()
    assert "\n" not in info.value.message


def test_once_its_stack_is_gone_the_active_stacks_artifact_store_serves(
        client: Client) -> None:
    client.config()
    client.register_stack("twin", {"orchestrator": "default", "metadata_store": "default",
                                   "artifact_store": "default"})
    done = Client(stack="twin").run_pipeline(LINEAR)
    client.delete_stack("twin")
    assert client.get_pipeline_run(done.id).steps["total"].outputs["output"].load() == 20.0


def test_lineage_and_logs(client: Client) -> None:
    run = client.run_pipeline(DIAMOND)
    view = client.get_pipeline_run(run.id)
    long_words = view.steps["split_words"].outputs["long"]
    document = client.artifact_document(long_words.id)["artifact"]
    assert document["producer"]["step"] == "split_words"
    assert [c["step"] for c in document["consumers"]] == ["upper"]
    assert client.get_artifact(long_words.id).load() == ["quick", "brown", "jumps", "over",
                                                         "lazy"]
    logs = client.get_pipeline_run_logs(run.id)
    assert set(logs) == {"split_words", "count_words", "upper", "summary"}


def test_delete_removes_the_runs_own_logs_only(client: Client) -> None:
    first = client.run_pipeline(LINEAR, config={"parameters": {"make_numbers": {"count": 3}}})
    other = client.run_pipeline(LINEAR, config={"parameters": {"make_numbers": {"count": 4}}})
    logs = [Path(s.logs_uri) for s in client.get_pipeline_run(first.id).steps.values()
            if s.logs_uri]
    assert logs and all(p.is_file() for p in logs)
    mine = logs[0].parent / "notes.txt"  # a file mlrig did not write
    mine.write_text("keep")
    client.delete_pipeline_run(first.id)
    assert not any(p.exists() for p in logs)
    assert mine.read_text() == "keep"
    assert client.get_pipeline_run_logs(other.id)["total"]
    with pytest.raises(NotFoundError):
        client.get_pipeline_run(first.id)
