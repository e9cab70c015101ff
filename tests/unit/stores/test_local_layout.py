"""The private paths of a local store (what ``mlrig status`` checks the modes of), found
with ``os`` alone, are the store's root, its type directories and its component files."""

from __future__ import annotations

from pathlib import Path

from mlrig.stores import backend, local_layout
from mlrig.testing.clients import quiet_client


def test_a_store_s_private_paths_are_its_root_type_directories_and_component_files(
        config_dir: Path, tmp_path: Path) -> None:
    c = quiet_client(config_dir)
    c.config()
    c.register_component("artifact_store", "lake", "local", {"path": str(tmp_path / "l")})
    profile = c.get_profile("default")
    root = backend("local").location(profile.store_url)
    assert root is not None
    components = root / local_layout.COMPONENTS
    (components / "stray-file").write_text("not a type directory")
    (components / "artifact_store" / "notes.txt").write_text("not a component")
    paths = dict(backend("local").private_paths(profile.store_url))
    assert paths[root] == 0o700
    types = set(components.iterdir())
    assert {p for p, mode in paths.items() if mode == 0o700} == {root, *types}
    files = {p for t in types if t.is_dir() for p in t.iterdir() if p.suffix == ".yaml"}
    assert (components / "artifact_store" / "lake.yaml") in files
    assert {p for p, mode in paths.items() if mode == 0o600} == files
    assert dict(local_layout.private_paths(str(root))) == {str(p): m for p, m in paths.items()}


def test_a_store_without_components_is_its_root(tmp_path: Path) -> None:
    assert local_layout.private_paths(str(tmp_path)) == [(str(tmp_path), 0o700)]
