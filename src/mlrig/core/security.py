"""File-permission checks for files that may hold secrets."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any


def _wider_than(path: Path, allowed: int) -> int | None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & ~allowed else None


def permission_warnings(config_dir: Path, config: Any) -> list[str]:
    """Files and directories under the config dir that others can read or write."""
    warnings: list[str] = []
    candidates: list[tuple[Path, int]] = [(config_dir, 0o700), (config_dir / "config.yaml", 0o600)]
    from mlrig.exceptions import StoreError
    from mlrig.stores import backend

    for profile in getattr(config, "profiles", {}).values():
        try:
            candidates.extend(backend(profile.store_type).private_paths(profile.store_url))
        except StoreError:
            continue  # a store type this mlrig cannot open: nothing it can check
    for path, allowed in candidates:
        mode = _wider_than(path, allowed)
        if mode is not None:
            warnings.append(
                f"'{path}' has mode {mode:o}, wider than {allowed:o}; it may hold secrets "
                f"(fix: chmod {allowed:o} '{path}')."
            )
    return warnings
