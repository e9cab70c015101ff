"""A symlink or a non-empty directory where mlrig expects a profile's own directory: mlrig
never removes, moves or fills what it did not make (issue: hardening, class 1). Through the
real executable; the victim directory holds a user's files that must survive everything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest


def tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A user's directory, outside the config dir."""
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "thesis.txt").write_text("years of work\n")
    (victim / "sub" / "data.csv").write_text("1,2,3\n")
    return victim


def error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize("store_type", ["local", "sql"])
def test_create_refuses_a_linked_profile_directory(mlrig_exe: Any, config_dir: Path,
                                                   victim: Path, store_type: str) -> None:
    assert mlrig_exe("profile", "list").exit_code == 0
    link = config_dir / "profiles" / "evil"
    link.symlink_to(victim, target_is_directory=True)
    before = tree(victim)
    result = mlrig_exe("profile", "create", "evil", "-t", store_type)
    assert result.exit_code == 1
    assert "symbolic link" in error_line(result)
    assert tree(victim) == before
    names = {p["name"] for p in json.loads(mlrig_exe("profile", "list", "-o", "json").stdout
                                           )["profiles"]}
    assert "evil" not in names
    assert link.is_symlink()  # and the link itself is left where the user put it


@pytest.mark.parametrize("store_type", ["local", "sql"])
def test_create_refuses_a_non_empty_profile_directory(mlrig_exe: Any, config_dir: Path,
                                                      victim: Path, store_type: str) -> None:
    assert mlrig_exe("profile", "list").exit_code == 0
    place = config_dir / "profiles" / "full"
    shutil.copytree(victim, place)
    before = tree(place)
    result = mlrig_exe("profile", "create", "full", "-t", store_type)
    assert result.exit_code == 1
    assert "not empty" in error_line(result)
    assert tree(place) == before
    names = {p["name"] for p in json.loads(mlrig_exe("profile", "list", "-o", "json").stdout
                                           )["profiles"]}
    assert "full" not in names


@pytest.mark.parametrize("verb", ["delete", "rename", "migrate"])
def test_a_profile_directory_replaced_by_a_link_is_never_followed(
        mlrig_exe: Any, config_dir: Path, victim: Path, verb: str) -> None:
    """The profile was made normally; then its directory became a link to the user's
    files (by hand, or by another program). Deleting, renaming or migrating the profile
    leaves what the link points at alone."""
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    place = config_dir / "profiles" / "p"
    # the store's own files move into the victim, and the place becomes a link to it
    for entry in place.iterdir():
        shutil.move(str(entry), victim / entry.name)
    place.rmdir()
    place.symlink_to(victim, target_is_directory=True)
    users_files = {"thesis.txt": b"years of work\n", "sub/data.csv": b"1,2,3\n"}
    if verb == "delete":
        result = mlrig_exe("profile", "delete", "p", "-y")
    elif verb == "rename":
        result = mlrig_exe("profile", "rename", "p", "q")
    else:
        result = mlrig_exe("profile", "migrate", "p", "--to-store-type", "sql")
    assert result.exit_code == 0, result.stderr
    assert victim.is_dir()
    for name, content in users_files.items():
        assert (victim / name).read_bytes() == content, (verb, name)
    assert place.is_symlink()  # not made by mlrig: neither removed nor moved
