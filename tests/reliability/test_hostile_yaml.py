"""YAML aliases ("billion laughs") in every file mlrig reads, and unbounded values in messages.

A few hundred bytes of nested aliases expand to gigabytes wherever the parsed value is
walked. mlrig refuses any alias at parse time, before the value is validated, cached or
rendered: bundles (``stack import`` / ``profile import``), ``config.yaml``, a repository's
``.mlrig/config.yaml`` and the local store's files. The subprocess timeout is a guard against
a hang (each case takes a fraction of a second when refused), never a speed limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlrig.fsutil import dump_yaml, parse_yaml
from mlrig.testing.files import diff, snapshot
from mlrig.testing.runs import assert_one_line_error, run_mlrig_in

GUARD = 60
#: no refusal needs more than this on stderr, whatever the file held
MAX_STDERR = 4000


def laughs(levels: int = 9, width: int = 9) -> list[str]:
    """Anchor lines ``l0 .. l{levels-1}``: each level repeats the one below ``width`` times
    (9**9 = 387 million strings once expanded)."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return lines


def bomb_value(levels: int = 9) -> str:
    return f"*l{levels - 1}"


def bundle_with_bomb(where: str) -> str:
    """A bundle (about 400 bytes) whose ``where`` holds the expanded bomb."""
    fields = {
        "kind": "mlrig-stack", "mlrig_version": "0.1.0", "stack_name": "s",
        "component_name": "c", "profile_name": "p",
    }
    fields[where] = bomb_value()
    kind = fields["kind"] if where == "kind" else (
        "mlrig-profile" if where == "profile_name" else "mlrig-stack")
    lines = ["x-anchors:", *("  " + line for line in laughs()),
             "format_version: 1", f"kind: {kind}", f"mlrig_version: {fields['mlrig_version']}"]
    stack = [f"  name: {fields['stack_name']}",
             "  components: {orchestrator: c, metadata_store: c, artifact_store: c}"]
    if kind == "mlrig-profile":
        lines += ["profile:", f"  name: {fields['profile_name']}", "stacks:",
                  "- name: s", "  components: {orchestrator: c, metadata_store: c, "
                  "artifact_store: c}"]
    else:
        lines += ["stack:", *stack]
    lines += ["components:", "- type: orchestrator", f"  name: {fields['component_name']}",
              "  flavor: local", "  config: {}"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def ready(config_dir: Path) -> Path:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    return config_dir


def assert_refused(result: object, codes: tuple[int, ...] = (1,)) -> str:
    code, out, err = result.exit_code, result.stdout, result.stderr  # type: ignore[attr-defined]
    assert len(err) < MAX_STDERR and len(out) < MAX_STDERR, (len(out), len(err))
    return assert_one_line_error(code, out, err, codes=codes)


# ----------------------------------------------------------------------------- bundles
@pytest.mark.parametrize("where", ["kind", "mlrig_version", "component_name", "stack_name",
                                   "profile_name"])
def test_an_alias_bomb_in_a_bundle_is_refused(ready: Path, tmp_path: Path, where: str) -> None:
    bundle = tmp_path / "bomb.yaml"
    bundle.write_text(bundle_with_bomb(where), encoding="utf-8")
    assert bundle.stat().st_size < 1000
    before = snapshot(tmp_path)
    for args in (["stack", "import", str(bundle)], ["profile", "import", str(bundle)],
                 ["profile", "import", str(bundle), "--dry-run"],
                 ["stack", "import", str(bundle), "--dry-run"]):
        line = assert_refused(run_mlrig_in(ready, *args, timeout=GUARD))
        assert "bomb.yaml" in line
    assert diff(before, snapshot(tmp_path)) == []


def test_a_repeated_long_scalar_is_refused_too(ready: Path, tmp_path: Path) -> None:
    """Aliases of a scalar expand as well: 1 MB repeated 1,000 times is a gigabyte."""
    bundle = tmp_path / "scalars.yaml"
    big = "x" * 1_000_000
    bundle.write_text("format_version: 1\nkind: mlrig-stack\n"
                      f"blob: &b {big}\nrepeated: [{', '.join(['*b'] * 1000)}]\n"
                      "stack: {name: s, components: {}}\n", encoding="utf-8")
    before = snapshot(tmp_path)
    assert_refused(run_mlrig_in(ready, "stack", "import", str(bundle), timeout=GUARD))
    assert diff(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("where", ["kind", "mlrig_version", "stack_name", "component_name",
                                   "component_type", "profile_name"])
def test_a_huge_value_without_aliases_is_not_rendered_in_full(ready: Path, tmp_path: Path,
                                                               where: str) -> None:
    """No alias, just a big nested value where a short string belongs: a message shows a
    bounded piece of it at most."""
    huge = [[f"v{i}-{j}" for j in range(100)] for i in range(2000)]
    parts = {"orchestrator": "c", "metadata_store": "c", "artifact_store": "c"}
    component = {"type": "orchestrator", "name": "c", "flavor": "local", "config": {}}
    doc: dict[str, object] = {"format_version": 1, "kind": "mlrig-profile",
                              "mlrig_version": "0.1.0",
                              "profile": {"name": "p", "active_stack": "s"},
                              "stacks": [{"name": "s", "components": parts}],
                              "components": [component]}
    if where in ("kind", "mlrig_version"):
        doc[where] = huge
    elif where == "profile_name":
        doc["profile"] = {"name": huge}
    elif where == "stack_name":
        doc["stacks"] = [{"name": huge, "components": parts}]
    else:
        component["name" if where == "component_name" else "type"] = huge
    bundle = tmp_path / "huge.yaml"
    bundle.write_text(yaml.safe_dump(doc, default_flow_style=True, width=10**9),
                      encoding="utf-8")
    before = snapshot(tmp_path)
    for args in (["stack", "import", str(bundle)], ["profile", "import", str(bundle)]):
        assert_refused(run_mlrig_in(ready, *args, timeout=GUARD))
    assert diff(before, snapshot(tmp_path)) == []


# ----------------------------------------------------------------------------- mlrig's own files
def test_an_alias_bomb_in_config_yaml_is_refused_before_it_is_cached(ready: Path,
                                                                      tmp_path: Path) -> None:
    """The reproduction: an unknown key of a hand-edited config.yaml. Nothing is cached
    (the JSON copy would be the expanded bomb) and no command rewrites the file."""
    path = ready / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n".join(laughs())
                    + f"\nx-unknown: {bomb_value()}\n", encoding="utf-8")
    before = snapshot(tmp_path)
    for args in (["profile", "list"], ["stack", "list"], ["profile", "current"],
                 ["stack", "current"], ["profile", "create", "other"], ["status"]):
        line = assert_refused(run_mlrig_in(ready, *args, timeout=GUARD))
        assert "config.yaml" in line
    assert diff(before, snapshot(tmp_path)) == []
    assert all(len(data or b"") < 100_000 for data in snapshot(ready).values())


def test_an_alias_in_a_repository_config_is_refused(ready: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    assert run_mlrig_in(ready, "init", cwd=repo).exit_code == 0
    path = repo / ".mlrig" / "config.yaml"
    path.write_text("version: 1\n" + "\n".join(laughs()) + f"\nactive_profile: {bomb_value()}\n"
                    "active_stack: null\n", encoding="utf-8")
    before = snapshot(tmp_path)
    for args in (["stack", "current"], ["profile", "current"], ["stack", "list"]):
        line = assert_refused(run_mlrig_in(ready, *args, cwd=repo, timeout=GUARD))
        assert ".mlrig" in line
    assert diff(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("which", ["stacks.yaml", "store.yaml", "component"])
def test_an_alias_in_a_local_store_file_is_refused(ready: Path, tmp_path: Path,
                                                   which: str) -> None:
    store = ready / "profiles" / "default"
    path = (store / "components" / "artifact_store" / "default.yaml" if which == "component"
            else store / which)
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\n".join(laughs(levels=6)) + f"\nx-extra: {bomb_value(6)}\n",
                    encoding="utf-8")
    before = snapshot(tmp_path)
    refused = 0
    writes = [] if which == "stacks.yaml" else [
        ["artifact-store", "update", "default", f"--path={tmp_path / 'elsewhere'}"]]
    for args in (["stack", "list"], ["artifact-store", "list"], ["stack", "describe"],
                 ["artifact-store", "describe", "default"], *writes):
        result = run_mlrig_in(ready, *args, timeout=GUARD)
        if result.exit_code != 0:  # a command that does not read the file has nothing to refuse
            assert_refused(result)
            refused += 1
    assert refused
    assert diff(before, snapshot(tmp_path)) == []


# ----------------------------------------------------------------------------- writing
def test_mlrig_never_writes_an_alias() -> None:
    """The refusal costs nothing to files mlrig writes: a value shared in memory is written
    out in full, and reads back."""
    shared = {"tags": ["a", "b"], "nested": {"k": [1, 2]}}
    data = {"version": 1, "one": shared, "two": shared, "list": [shared, shared]}
    text = dump_yaml(data)
    assert "&" not in text and "*" not in text
    assert parse_yaml(text, "<test>") == data
