"""Re-running a verb whose write was refused as stale (a ``rest`` store: another member
changed what the verb read, and nothing was applied).

A verb listed in :data:`RETRIED` states its intent in absolute terms ("set the path of
'lake' to /x", "register stack 'dev'") and writes in one transaction after reading what it
needs, so running it again reads the new state and applies the same intent to it: safe.
After :data:`ATTEMPTS` refusals, the last one is raised (it says who changed what). Verbs
that write several stores or files one after the other (profile copy, migrate, ...) are not
re-run: the user runs them again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from mlrig.exceptions import StoreError

F = TypeVar("F", bound=Callable[..., Any])
ATTEMPTS = 3

#: the Client methods re-run after a stale write
RETRIED = (
    "register_stack", "update_stack", "remove_stack_components", "rename_stack", "copy_stack",
    "delete_stack", "import_stack",
    "register_component", "update_component", "remove_component_attributes",
    "rename_component", "copy_component", "delete_component",
    "register_flavor", "delete_flavor",
)


def is_stale(exc: BaseException) -> bool:
    """A store's refusal of a write that read something changed since (nothing applied)."""
    return isinstance(exc, StoreError) and bool(getattr(exc, "stale", False))


def retry_stale(method: F) -> F:
    """``method``, run again (up to :data:`ATTEMPTS` times in all) when its write is stale."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return method(*args, **kwargs)
            except StoreError as exc:
                if attempt == ATTEMPTS or not is_stale(exc):
                    raise
        raise AssertionError("unreachable")

    return run  # type: ignore[return-value]
