"""``mlrig artifact list|describe|get`` with the real executable, over the artifacts of real
runs: pages, lineage (producer, consumers), the stored bytes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlrig.client import Client
from mlrig.testing.metadata import settled_snapshot
from mlrig.testing.runs import Run, assert_one_line_error, run_mlrig_in

DIAMOND = "mlrig.testing.pipelines:diamond"


def mlrig(config_dir: Path, *args: str) -> Run:
    return run_mlrig_in(config_dir, *args)


def document(config_dir: Path, *args: str) -> dict[str, Any]:
    done = mlrig(config_dir, *args, "-o", "json")
    assert done.exit_code == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture
def run_id(client: Client) -> str:
    return client.run_pipeline(DIAMOND).id


def outputs(client: Client, run_id: str) -> dict[str, str]:
    run = client.get_pipeline_run(run_id)
    return {f"{s}.{n}": a.id for s, view in run.steps.items() for n, a in view.outputs.items()}


def test_list_in_pages(run_id: str, client: Client, config_dir: Path) -> None:
    made = outputs(client, run_id)
    listed = document(config_dir, "artifact", "list")["artifacts"]
    assert {a["id"] for a in listed} == set(made.values())
    first = document(config_dir, "artifact", "list", "--limit", "3")
    assert len(first["artifacts"]) == 3 and first["next_cursor"] == first["artifacts"][-1]["id"]
    rest = document(config_dir, "artifact", "list", "--cursor", first["next_cursor"])
    assert [a["id"] for a in first["artifacts"] + rest["artifacts"]] == [a["id"] for a in listed]
    table = mlrig(config_dir, "artifact", "list")
    assert table.exit_code == 0
    assert all(i[:12] in table.stdout for i in made.values())


def test_describe_shows_the_lineage(run_id: str, client: Client, config_dir: Path) -> None:
    made = outputs(client, run_id)
    long_words = document(config_dir, "artifact", "describe",
                          made["split_words.long"][:10])["artifact"]
    assert long_words["id"] == made["split_words.long"] and long_words["name"] == "long"
    assert long_words["producer"] == {"run": run_id, "pipeline": "diamond",
                                      "step": "split_words",
                                      "step_run": long_words["producer_step_run"],
                                      "status": "completed"}
    assert [c["step"] for c in long_words["consumers"]] == ["upper"]
    report = document(config_dir, "artifact", "describe", made["summary.report"])["artifact"]
    assert report["consumers"] == []
    table = mlrig(config_dir, "artifact", "describe", made["split_words.long"])
    assert table.exit_code == 0, table.stderr
    assert "split_words" in table.stdout and "upper" in table.stdout


def test_get_writes_the_stored_bytes(run_id: str, client: Client, config_dir: Path,
                                     tmp_path: Path) -> None:
    made = outputs(client, run_id)
    stored = client.get_artifact(made["summary.report"]).read_bytes()
    raw = mlrig(config_dir, "artifact", "get", made["summary.report"])
    assert raw.exit_code == 0 and raw.stdout.encode() == stored
    target = tmp_path / "report.json"
    written = mlrig(config_dir, "artifact", "get", made["summary.report"], "--out", str(target))
    assert written.exit_code == 0, written.stderr
    assert target.read_bytes() == stored
    again = mlrig(config_dir, "artifact", "get", made["summary.report"], "--out", str(target))
    assert "exists" in assert_one_line_error(again.exit_code, again.stdout, again.stderr)
    forced = mlrig(config_dir, "artifact", "get", made["upper.output"], "--out", str(target),
                   "--force")
    assert forced.exit_code == 0 and target.read_bytes() == client.get_artifact(
        made["upper.output"]).read_bytes()
    value = document(config_dir, "artifact", "get", made["summary.report"])["artifact"]
    assert value["value"] == {"short": 4, "long": "QUICK BROWN JUMPS OVER LAZY"}


def test_get_never_writes_through_a_link(run_id: str, client: Client, config_dir: Path,
                                         tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.txt"
    link.symlink_to(victim)
    artifact = outputs(client, run_id)["upper.output"]
    for extra in ((), ("--force",)):
        done = mlrig(config_dir, "artifact", "get", artifact, "--out", str(link), *extra)
        assert_one_line_error(done.exit_code, done.stdout, done.stderr)
    assert victim.read_text() == "keep me" and link.is_symlink()


@pytest.mark.parametrize("args", [
    ("artifact", "describe", "nope"),
    ("artifact", "get", "nope"),
    ("artifact", "list", "--cursor", "nope"),
    ("artifact", "list", "--limit", "5000"),
])
def test_bad_input_is_one_line_and_changes_nothing(run_id: str, config_dir: Path,
                                                   args: tuple[str, ...]) -> None:
    before = settled_snapshot(config_dir)
    done = mlrig(config_dir, *args)
    assert_one_line_error(done.exit_code, done.stdout, done.stderr)
    assert settled_snapshot(config_dir) == before


def test_get_replaces_only_a_regular_file(run_id: str, client: Client, config_dir: Path,
                                          tmp_path: Path) -> None:
    import os
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    artifact = outputs(client, run_id)["upper.output"]
    for extra in ((), ("--force",)):
        done = mlrig(config_dir, "artifact", "get", artifact, "--out", str(fifo), *extra)
        assert_one_line_error(done.exit_code, done.stdout, done.stderr)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".mlrig.")] == []


def test_only_plain_text_goes_to_a_terminal() -> None:
    from mlrig.cli.artifact import TERMINAL_LIMIT, _fit_for_a_terminal

    assert _fit_for_a_terminal("QUICK BROWN\tfox, ünïcode\n".encode())
    assert not _fit_for_a_terminal(b"\x1b[31mred\x1b[0m")  # an escape sequence
    assert not _fit_for_a_terminal(b"\x00\x01binary")
    assert not _fit_for_a_terminal("\u009b2J".encode())  # a C1 control (CSI)
    assert not _fit_for_a_terminal(b"\xff\xfe")  # not UTF-8
    assert not _fit_for_a_terminal(b"a" * (TERMINAL_LIMIT + 1))
