"""What the built-in flavors share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

SECRET: JsonDict = {"secret": True}


class Config(BaseModel):
    """Base of every built-in config schema: unknown attributes are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


def non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def is_secret_reference(value: object) -> bool:
    """``{{NAME.KEY}}``: a value the core resolves from the secrets manager at run time, so
    a flavor's format checks do not apply to it (the value it stands for is checked where it
    is used)."""
    return isinstance(value, str) and value.strip().startswith("{{") and \
        value.strip().endswith("}}")
