"""A profile's entry in ``config.yaml``, checked without the records' dataclasses.

:meth:`mlrig.models.ProfileConfig.from_dict` builds a profile from what this returns;
:mod:`mlrig.prompt` (``mlrig status`` at a shell's speed) uses it directly, so both refuse
exactly the same damaged entries. It imports nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # spelled out: `typing` is not needed at run time here
if TYPE_CHECKING:
    from typing import Any

#: the store types a profile can be created on
STORE_TYPES = ("local", "sql", "rest")
#: every store type a configuration file may name (``rest``: a store behind ``mlrig server``)
KNOWN_STORE_TYPES = STORE_TYPES


def profile_fields(name: str, data: Any) -> tuple[str, str, str | None, dict[str, Any]]:
    """``(store_type, store_url, active_stack, options)`` of the entry ``data`` of profile
    ``name``. Strict: a field of the wrong type is a ValueError (the file is corrupt), never
    coerced, so a damaged file is reported instead of being rewritten mangled."""
    if not isinstance(data, dict):
        raise ValueError(f"profile '{name}' is not a mapping")
    store_type, url = data.get("store_type"), data.get("store_url")
    active, options = data.get("active_stack"), data.get("options") or {}
    if store_type not in KNOWN_STORE_TYPES:
        from mlrig.exceptions import shown_value

        raise ValueError(f"profile '{name}' has an invalid store_type "
                         f"{shown_value(store_type)}")
    if not isinstance(url, str) or not url:
        raise ValueError(f"profile '{name}' has an invalid store_url")
    if active is not None and not isinstance(active, str):
        raise ValueError(f"profile '{name}' has an invalid active_stack")
    if not isinstance(options, dict):
        raise ValueError(f"profile '{name}' has invalid options")
    return store_type, url, active, dict(options)
