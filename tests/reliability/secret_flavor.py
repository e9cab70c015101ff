"""A custom flavor for the secrets tests: a ``SecretStr`` field and an integer secret."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mlrig.flavors.base import Flavor
from mlrig.models import ComponentType


class VaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    role_token: SecretStr | None = None
    pin: int | None = Field(default=None, json_schema_extra={"secret": True})


class VaultSecretsManager(Flavor):
    TYPE = ComponentType.SECRETS_MANAGER
    FLAVOR = "vault"
    CONFIG = VaultConfig
    DESCRIPTION = "Test flavor with secret fields of several kinds."
