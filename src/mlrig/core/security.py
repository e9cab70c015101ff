"""File-permission checks for files that may hold secrets."""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


def _wider_than(path: str | os.PathLike[str], allowed: int) -> int | None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    return mode if mode & ~allowed else None


def config_candidates(config_dir: str | os.PathLike[str]) -> list[tuple[str, int]]:
    """The config dir and its ``config.yaml``, with the widest mode each may have."""
    return [(str(config_dir), 0o700), (os.path.join(config_dir, "config.yaml"), 0o600)]


def warnings_for(candidates: Iterable[tuple[str | os.PathLike[str], int]]) -> list[str]:
    """A warning for each ``(path, widest allowed mode)`` whose mode is wider."""
    warnings: list[str] = []
    for path, allowed in candidates:
        mode = _wider_than(path, allowed)
        if mode is not None:
            warnings.append(
                f"'{path}' has mode {mode:o}, wider than {allowed:o}; it may hold secrets "
                f"(fix: chmod {allowed:o} '{path}')."
            )
    return warnings


def store_private_paths(store_type: str, url: str) -> list[tuple[Path, int]]:
    """The private paths of a store, as its backend names them (none for a store type this
    mlrig cannot open: nothing it can check)."""
    from mlrig.exceptions import StoreError
    from mlrig.stores import backend

    try:
        return backend(store_type).private_paths(url)
    except StoreError:
        return []


def permission_warnings(config_dir: Path, config: Any) -> list[str]:
    """Files and directories under the config dir that others can read or write."""
    candidates: list[tuple[str | os.PathLike[str], int]] = [*config_candidates(config_dir)]
    for profile in getattr(config, "profiles", {}).values():
        candidates.extend(store_private_paths(profile.store_type, profile.store_url))
    return warnings_for(candidates)
