"""Artifact stores: content-addressed bytes, one module per flavor.

Every store keeps the bytes of digest ``sha256:<hex>`` at ``artifacts/sha256/<hex[:2]>/<hex>``
below its root (a directory, a bucket and prefix): the same bytes are stored once, whatever
step or run wrote them, and an object appears under its final name only complete.
"""

from __future__ import annotations

import hashlib
import re

from mlrig.exceptions import InputError

_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")


def digest_of(data: bytes) -> str:
    """The key of ``data`` (``sha256:<hex>``)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def relative_key_path(key: str) -> str:
    """``artifacts/sha256/ab/abcd…`` for ``sha256:abcd…``; one-line error for anything else
    (a key never becomes a path outside the store)."""
    match = _DIGEST.match(key) if isinstance(key, str) else None
    if match is None:
        shown = key if isinstance(key, str) and len(key) <= 80 else f"{str(key)[:77]}..."
        raise InputError(f"Invalid artifact key '{shown}': expected 'sha256:' and 64 "
                         "lowercase hex digits.")
    hexdigest = match.group(1)
    return f"artifacts/sha256/{hexdigest[:2]}/{hexdigest}"


def check_content(key: str, data: bytes, where: str) -> None:
    """Refuse to store ``data`` under a key that is not its digest."""
    actual = digest_of(data)
    if actual != key:
        raise InputError(f"Refusing to store {len(data)} bytes as '{key}' in {where}: their "
                         f"digest is '{actual}'.")
