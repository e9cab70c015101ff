"""Huge bundles: refused for their structure in about the time it takes to read them.

A bundle's limits (size, number of values, no aliases) and its structure (kind, stacks and
their mandatory components) are checked while the file is read, before any component is
parsed, validated or planned. The subprocess timeout guards against a hang only.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.core.portability import MAX_BUNDLE_BYTES, MAX_BUNDLE_NODES
from mlrig.testing.files import diff, snapshot
from mlrig.testing.runs import assert_one_line_error, run_mlrig_in

GUARD = 300


def component(i: int, type_: str = "artifact_store") -> dict[str, Any]:
    config: dict[str, Any] = {"path": f"/data/bucket-{i}/" + "p" * 200}
    return {"type": type_, "name": f"a{i}", "flavor": "local", "id": uuid.uuid4().hex,
            "config": config}


def write_bundle(path: Path, doc: dict[str, Any]) -> Path:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(doc, handle, Dumper=dumper, sort_keys=False, width=10**9)
    return path


def profile_bundle(components: list[dict[str, Any]], stacks: list[dict[str, Any]],
                   active_stack: str | None = None) -> dict[str, Any]:
    return {"format_version": 1, "kind": "mlrig-profile", "mlrig_version": "0.1.0",
            "secrets_included": False,
            "profile": {"name": "big", "active_stack": active_stack},
            "stacks": stacks, "components": components, "flavors": []}


@pytest.fixture
def ready(config_dir: Path) -> Path:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    return config_dir


@pytest.fixture(scope="module")
def lacking(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reproduction: ~20 MB, 60,000 components, every stack without an orchestrator
    and a metadata store."""
    components = [component(i) for i in range(60_000)]
    stacks = [{"name": f"s{i}", "components": {"artifact_store": f"a{i}"}}
              for i in range(5_000)]
    path = write_bundle(tmp_path_factory.mktemp("huge") / "lacking.yaml",
                        profile_bundle(components, stacks))
    assert path.stat().st_size > 15_000_000
    return path


def test_a_huge_bundle_lacking_a_mandatory_component(ready: Path, tmp_path: Path,
                                                      lacking: Path) -> None:
    before = snapshot(tmp_path)
    for args in (["profile", "import", str(lacking)],
                 ["profile", "import", str(lacking), "--dry-run"],
                 ["stack", "import", str(lacking)]):
        line = assert_one_line_error(*_run(ready, *args), codes=(1,))
        assert "lacking.yaml" in line
    assert diff(before, snapshot(tmp_path)) == []


def test_a_huge_stack_bundle_with_a_bad_stack(ready: Path, tmp_path: Path) -> None:
    """The same for a stack bundle whose stack lacks a mandatory component, and one whose
    stack name is invalid."""
    components = [component(i) for i in range(40_000)]
    for name, stack in (("lacks", {"name": "s", "components": {"artifact_store": "a1"}}),
                        ("badname", {"name": "../up", "components": {}})):
        doc = {"format_version": 1, "kind": "mlrig-stack", "mlrig_version": "0.1.0",
               "stack": stack, "components": components}
        path = write_bundle(tmp_path / f"{name}.yaml", doc)
        before = snapshot(tmp_path)
        assert_one_line_error(*_run(ready, "stack", "import", str(path)), codes=(1,))
        assert diff(before, snapshot(tmp_path)) == []


def test_a_bundle_with_too_many_values(ready: Path, tmp_path: Path) -> None:
    """22 MB of one-character values (11 million of them): refused once the limit of
    values is passed, without building any of them."""
    tags = ", ".join(["0"] * 11_000)
    entries = "".join(f"- {{type: artifact_store, name: a{i}, flavor: local, config: "
                      f"{{path: /d, tags: [{tags}]}}}}\n" for i in range(1000))
    path = tmp_path / "dense.yaml"
    path.write_text("format_version: 1\nkind: mlrig-profile\nprofile: {name: big}\n"
                    "stacks:\n- {name: s, components: {orchestrator: o, metadata_store: m, "
                    "artifact_store: a0}}\ncomponents:\n" + entries, encoding="utf-8")
    assert path.stat().st_size > 20_000_000
    before = snapshot(tmp_path)
    for args in (["profile", "import", str(path)], ["stack", "import", str(path)]):
        line = assert_one_line_error(*_run(ready, *args), codes=(1,))
        assert f"{MAX_BUNDLE_NODES:,}" in line
    assert diff(before, snapshot(tmp_path)) == []


def test_a_bundle_over_the_size_limit(ready: Path, tmp_path: Path) -> None:
    path = tmp_path / "giant.yaml"
    with path.open("wb") as handle:
        handle.write(b"format_version: 1\nkind: mlrig-profile\n")
        handle.truncate(MAX_BUNDLE_BYTES + 1024)  # sparse: costs no disk
    before = snapshot(tmp_path)
    line = assert_one_line_error(*_run(ready, "profile", "import", str(path)), codes=(1,))
    assert "giant.yaml" in line
    assert diff(before, snapshot(tmp_path)) == []


def test_a_large_valid_bundle_still_imports(ready: Path, tmp_path: Path) -> None:
    """The limits leave room for real profiles: 3,000 components and 1,000 stacks."""
    components = [component(i) for i in range(3_000)]
    components += [{"type": "orchestrator", "name": "o", "flavor": "local", "config": {}},
                   {"type": "metadata_store", "name": "m", "flavor": "sqlite",
                    "config": {"uri": str(tmp_path / "m.db")}}]
    stacks = [{"name": f"s{i}", "components": {"orchestrator": "o", "metadata_store": "m",
                                               "artifact_store": f"a{i}"}}
              for i in range(1_000)]
    path = write_bundle(tmp_path / "large.yaml", profile_bundle(components, stacks, "s0"))
    code, _out, err = _run(ready, "profile", "import", str(path))
    assert code == 0, err
    listed = run_mlrig_in(ready, "--profile", "big", "artifact-store", "list", "-o", "json",
                       timeout=GUARD)
    assert listed.exit_code == 0 and listed.stdout.count('"a2999"') == 1


def _run(config_dir: Path, *args: str) -> tuple[int, str, str]:
    result = run_mlrig_in(config_dir, *args, timeout=GUARD)
    return result.exit_code, result.stdout, result.stderr
