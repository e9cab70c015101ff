"""What the built-in flavors share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from mlrig.flavors.builtin._checks import is_secret_reference, non_empty

__all__ = ["SECRET", "Config", "is_secret_reference", "non_empty"]

SECRET: JsonDict = {"secret": True}


class Config(BaseModel):
    """Base of every built-in config schema: unknown attributes are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)
