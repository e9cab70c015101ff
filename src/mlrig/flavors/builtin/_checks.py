"""The checks of the built-in flavors' config fields, as plain functions of a value.

They import nothing: the pydantic models (``field_validator(...)(check)``) and the compiled
schemas that validate built-in configs without pydantic (:mod:`._schemas`) call the same
functions, so a value is checked the same way on both paths.
"""

from __future__ import annotations


def is_secret_reference(value: object) -> bool:
    """``{{NAME.KEY}}``: a value the core resolves from the secrets manager at run time, so
    a flavor's format checks do not apply to it (the value it stands for is checked where it
    is used)."""
    return isinstance(value, str) and value.strip().startswith("{{") and \
        value.strip().endswith("}}")


def non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _object_path(value: str, schemes: tuple[str, ...]) -> str:
    if is_secret_reference(value):
        return value
    for scheme in schemes:
        prefix = f"{scheme}://"
        if value.startswith(prefix) and value[len(prefix):].partition("/")[0]:
            return value
    names = " or ".join(f"'{s}://'" for s in schemes)
    raise ValueError(f"must start with {names} and name a bucket")


def s3_path(value: str) -> str:
    return _object_path(value, ("s3",))


def gcs_path(value: str) -> str:
    return _object_path(value, ("gs", "gcs"))


def azure_path(value: str) -> str:
    return _object_path(value, ("az", "abfs"))


def endpoint(value: str | None) -> str | None:
    if value is None or is_secret_reference(value):
        return value
    if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")
