"""Secrets managers: named secrets, each a set of key/value pairs; one module per flavor.

The names here are the ones a component config can refer to as ``{{NAME.KEY}}``: a secret
name is letters, digits, ``_``, ``-`` and ``.`` (not first), a key letters, digits, ``_`` and
``-``.
"""

from __future__ import annotations

import re

from mlrig.exceptions import InputError

SECRET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
SECRET_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


def _shown(text: str) -> str:
    escaped = text.encode("unicode_escape").decode("ascii")
    return escaped if len(escaped) <= 60 else f"{escaped[:57]}..."


def validate_secret_name(name: object) -> str:
    if not isinstance(name, str) or not SECRET_NAME.match(name):
        shown = _shown(name) if isinstance(name, str) else repr(name)
        raise InputError(
            f"Invalid secret name '{shown}': use letters, digits, '_', '-' and '.' (not first), "
            "at most 128 characters.")
    return name


def validate_secret_key(secret: str, key: object) -> str:
    if not isinstance(key, str) or not SECRET_KEY.match(key):
        shown = _shown(key) if isinstance(key, str) else repr(key)
        raise InputError(
            f"Invalid key '{shown}' of secret '{secret}': use letters, digits, '_' and '-', "
            "at most 128 characters.")
    return key


def validate_secret_values(secret: str, values: object) -> dict[str, str]:
    """``values`` as a fresh ``{key: value}`` of strings, at least one."""
    if not isinstance(values, dict) or not values:
        raise InputError(f"The secret '{secret}' needs at least one key and value.")
    result: dict[str, str] = {}
    for key, value in values.items():
        validate_secret_key(secret, key)
        if not isinstance(value, str):
            raise InputError(f"The value of key '{key}' of secret '{secret}' must be a string.")
        result[key] = value
    return result
