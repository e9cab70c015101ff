"""Flavor commands through the CLI (``<type> flavor ...``)."""

from __future__ import annotations

import json
from pathlib import Path


def test_flavor_list_columns(cli, ready: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("artifact-store", "flavor", "list")
    assert "FLAVOR" in result.stdout and "SOURCE" in result.stdout and "ORIGIN" in result.stdout
    data = json.loads(cli("artifact-store", "flavor", "list", "-o", "json").stdout)
    assert {"flavor": "local", "source": "mlrig.flavors.builtin.LocalArtifactStore",
            "origin": "built-in"} in data["flavors"]
