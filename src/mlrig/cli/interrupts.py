"""Telling a Ctrl-C apart, for the entry point and the CLI alike (no click here: the fast
paths import it)."""

from __future__ import annotations


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` stands for a Ctrl-C: Python wraps a KeyboardInterrupt raised in some
    places (``__set_name__`` while a class is created) in another exception."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
