"""A custom flavor arriving in an imported bundle passes the checks ``flavor register`` makes:
its class imports, is a flavor of its type, and carries the name the record gives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml


def data_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".cache.json")
            and p.name not in (".lock", "config.lock")}


@pytest.mark.parametrize(("source", "expected"), [
    ("no_such_module_for_mlrig.Flavor", "Cannot import"),
    ("mlrig.flavors.builtin.LocalOrchestrator", "is the flavor 'local', not 'mine'"),
    ("mlrig.flavors.builtin.LocalArtifactStore", "not of 'orchestrator'"),
])
def test_a_bad_flavor_in_a_bundle_is_refused(mlrig_exe: Any, config_dir: Path,
                                             tmp_path: Path, source: str,
                                             expected: str) -> None:
    assert mlrig_exe("stack", "register", "s", "-o", "default", "-m", "default", "-a",
                     "default").exit_code == 0
    bundle = tmp_path / "s.yaml"
    assert mlrig_exe("stack", "export", "s", str(bundle)).exit_code == 0
    document = yaml.safe_load(bundle.read_text())
    document["flavors"] = [{"type": "orchestrator", "name": "mine", "source": source}]
    bundle.write_text(yaml.safe_dump(document))
    assert mlrig_exe("profile", "create", "other").exit_code == 0
    before = data_files(config_dir)
    result = mlrig_exe("--profile", "other", "stack", "import", "s2", str(bundle))
    assert result.exit_code == 1, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "flavor 'mine'" in errors[0] and expected in errors[0], \
        result.stderr
    assert data_files(config_dir) == before
