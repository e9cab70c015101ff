"""The files of a local store that may hold secrets, found with ``os`` alone.

:meth:`mlrig.stores.local.LocalBackend.private_paths` answers from here, and so does
``mlrig status`` at a shell's speed (:mod:`mlrig.prompt`), which must not import the local
store's module (pathlib, YAML helpers, the records' dataclasses) to check a few modes.
"""

from __future__ import annotations

import os

COMPONENTS = "components"  #: the directory of the component files, one directory per type
COMPONENT_SUFFIX = ".yaml"


def private_paths(root: str) -> list[tuple[str, int]]:
    """The store root ``root`` (resolved), its component type directories and component
    files, each with the widest mode it may have."""
    paths = [(root, 0o700)]
    components = os.path.join(root, COMPONENTS)
    if not os.path.isdir(components):
        return paths
    for type_entry in os.scandir(components):
        paths.append((type_entry.path, 0o700))
        try:
            entries = list(os.scandir(type_entry.path))
        except (NotADirectoryError, FileNotFoundError, PermissionError):
            continue  # a file there, one removed meanwhile, one mlrig may not list
        paths.extend((f.path, 0o600) for f in entries if f.name.endswith(COMPONENT_SUFFIX))
    return paths
