"""A command that loses a race with ``profile rename`` (or migrate, or delete) of its
profile is told what happened — never to delete the profile and create it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlrig.client import Client
from mlrig.exceptions import StoreError


@pytest.mark.parametrize("other_command", [
    ("profile", "rename", "p", "q"),
    ("profile", "migrate", "p", "--to-store-type", "sql"),
])
def test_a_writer_that_lost_a_race_is_told_what_happened(
        mlrig_exe: Any, config_dir: Path, other_command: tuple[str, ...]) -> None:
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    slow = Client(profile="p", on_event=lambda *_: None)
    assert [s.name for s in slow.list_stacks()] == ["default"]  # read config.yaml and store
    other = mlrig_exe(*other_command)  # another command, in another process, meanwhile
    assert other.exit_code == 0, other.stderr
    with pytest.raises(StoreError) as lost:
        slow.register_component("artifact_store", "late", "local", {"path": "/srv/late"})
    message = str(lost.value)
    assert "another command" in message and "Run the command again" in message
    assert "create it again" not in message
    # the profile is fine where the other command put it, without the late component
    name = "q" if other_command[1] == "rename" else "p"
    listing = mlrig_exe("--profile", name, "artifact-store", "list", "-o", "json")
    assert listing.exit_code == 0, listing.stderr
    assert "late" not in listing.stdout
