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


def _store_files(place: Path) -> set[str]:
    return {str(p.relative_to(place)) for p in place.rglob("*")}


@pytest.mark.parametrize("store_type", ["local", "sql"])
def test_delete_removes_only_the_files_the_store_made(mlrig_exe: Any, config_dir: Path,
                                                      store_type: str) -> None:
    """Files a user put into a profile's directory after mlrig made it survive the
    deletion; everything the store made is gone, and the command says what it kept."""
    assert mlrig_exe("profile", "create", "p", "-t", store_type).exit_code == 0
    assert mlrig_exe("--profile", "p", "orchestrator", "register", "o", "-f", "local"
                     ).exit_code == 0
    place = config_dir / "profiles" / "p"
    made = _store_files(place)
    (place / "notes.txt").write_text("mine\n")
    (place / "sub").mkdir()
    (place / "sub" / "data.csv").write_text("1,2,3\n")
    result = mlrig_exe("profile", "delete", "p", "-y")
    assert result.exit_code == 0, result.stderr
    assert (place / "notes.txt").read_text() == "mine\n"
    assert (place / "sub" / "data.csv").read_text() == "1,2,3\n"
    assert _store_files(place) == {"notes.txt", "sub", "sub/data.csv"}, made
    assert f"Kept '{place}'" in result.stderr
    # the profile is gone and its name is free again (a new store, not the old data)
    assert mlrig_exe("--profile", "p", "stack", "list").exit_code == 1


def test_delete_without_foreign_files_removes_the_whole_directory(
        mlrig_exe: Any, config_dir: Path) -> None:
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    assert mlrig_exe("--profile", "p", "orchestrator", "register", "o", "-f", "local"
                     ).exit_code == 0
    result = mlrig_exe("profile", "delete", "p", "-y")
    assert result.exit_code == 0, result.stderr
    assert not (config_dir / "profiles" / "p").exists()
    assert "Kept" not in result.stderr


def test_delete_never_follows_a_link_inside_the_store(mlrig_exe: Any, config_dir: Path,
                                                      victim: Path) -> None:
    """A component type directory (or a file) replaced by a link to the user's files:
    the link stays, what it points at is untouched."""
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    place = config_dir / "profiles" / "p"
    components = place / "components"
    components.mkdir(exist_ok=True)
    (components / "alerter").symlink_to(victim, target_is_directory=True)
    (victim / "x.yaml").write_text("precious: true\n")
    (place / "flavors.yaml").unlink(missing_ok=True)
    (place / "flavors.yaml").symlink_to(victim / "thesis.txt")
    before = tree(victim)
    result = mlrig_exe("profile", "delete", "p", "-y")
    assert result.exit_code == 0, result.stderr
    assert tree(victim) == before
    assert (components / "alerter").is_symlink() and (place / "flavors.yaml").is_symlink()


def test_migrate_keeps_a_users_files_in_the_profile_directory(mlrig_exe: Any,
                                                             config_dir: Path) -> None:
    assert mlrig_exe("profile", "create", "p").exit_code == 0
    assert mlrig_exe("--profile", "p", "orchestrator", "register", "o", "-f", "local"
                     ).exit_code == 0
    place = config_dir / "profiles" / "p"
    (place / "notes.txt").write_text("mine\n")
    result = mlrig_exe("profile", "migrate", "p", "--to-store-type", "sql")
    assert result.exit_code == 0, result.stderr
    assert (place / "notes.txt").read_text() == "mine\n"
    assert not (place / "stacks.yaml").exists() and not (place / "components").exists()
    listed = mlrig_exe("--profile", "p", "orchestrator", "list", "-o", "json")
    assert listed.exit_code == 0 and '"o"' in listed.stdout
