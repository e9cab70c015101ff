"""Built-in secrets manager flavors."""

from __future__ import annotations

from pydantic import Field

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import Config
from mlrig.models import ComponentType


class LocalSecretsManagerConfig(Config):
    secrets_file: str | None = Field(default=None, description="YAML file holding the secrets.")


class LocalSecretsManager(Flavor):
    TYPE = ComponentType.SECRETS_MANAGER
    FLAVOR = "local"
    CONFIG = LocalSecretsManagerConfig
    DESCRIPTION = "Keeps secrets in a local file (0600)."
