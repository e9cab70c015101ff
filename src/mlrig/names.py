"""Validation of the names of profiles, stacks, components and flavors, in one place.

A name becomes a file or directory name in the local store, so it must never be able to
reach outside its directory: no path separators, no ``.``/``..``, no control characters.
"""

from __future__ import annotations

import unicodedata

from mlrig.exceptions import InputError

MAX_NAME_LENGTH = 128
MAX_NAME_BYTES = 200
_FORBIDDEN = set('/\\:*?"<>|')


def validate_name(kind: str, name: str) -> str:
    """Return ``name`` if it is an acceptable name for a ``kind`` (e.g. "stack"), else raise."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"Invalid {kind} name: the name must not be empty.")
    shown = _shown(name)
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(
            f"Invalid {kind} name '{shown}': it is {len(name)} characters long, "
            f"the limit is {MAX_NAME_LENGTH}."
        )
    # surrogatepass: an undecodable byte of argv arrives as a lone surrogate; it is refused
    # below as an invisible character instead of failing to encode here
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise InputError(
            f"Invalid {kind} name '{shown}': it takes more than {MAX_NAME_BYTES} bytes in UTF-8."
        )
    if name != name.strip():
        raise InputError(f"Invalid {kind} name '{shown}': leading or trailing whitespace.")
    if name in {".", ".."} or name.startswith("."):
        raise InputError(f"Invalid {kind} name '{shown}': a name may not start with '.'.")
    for ch in name:
        if ch in _FORBIDDEN:
            raise InputError(
                f"Invalid {kind} name '{shown}': the character {ch!r} is not allowed "
                "(no path separators or shell wildcards)."
            )
        if unicodedata.category(ch)[0] in {"C", "Z"} and ch != " ":
            raise InputError(
                f"Invalid {kind} name '{shown}': control or invisible characters are not allowed."
            )
    return name


def _shown(name: str) -> str:
    """A printable, single-line, bounded rendering of an untrusted name for messages."""
    text = name.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 60 else text[:57] + "..."
