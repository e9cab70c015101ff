"""The repository pointer file (`.mlrig/repository.yaml`): compare-and-set updates."""

from __future__ import annotations

from pathlib import Path

from mlrig.config.repository import Repository, RepositoryConfig


def test_repository_update_if_is_a_compare_and_set(tmp_path: Path) -> None:
    repository = Repository(tmp_path)
    assert not repository.update_if(lambda c: True, profile="x", set_profile=True)
    assert not repository.exists()  # never creates the file
    repository.save(RepositoryConfig("a", "s"))
    assert not repository.update_if(lambda c: c.active_stack == "t", stack="u", set_stack=True)
    assert repository.load() == RepositoryConfig("a", "s")
    assert repository.update_if(lambda c: c.active_stack == "s", stack="u", set_stack=True)
    assert repository.load() == RepositoryConfig("a", "u")
