"""Flavors contributed through the ``mlrig.flavors`` entry points."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mlrig.flavors.base import Flavor
from mlrig.models import ComponentType


class AirflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dag_dir: str
    parallelism: int = 4
    token: str | None = Field(default=None, json_schema_extra={"secret": True})


class AirflowOrchestrator(Flavor):
    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "airflow"
    CONFIG = AirflowConfig
    DESCRIPTION = "Runs pipelines as Airflow DAGs (test plugin)."


class VaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    token: str = Field(json_schema_extra={"secret": True})


class VaultSecretsManager(Flavor):
    TYPE = ComponentType.SECRETS_MANAGER
    FLAVOR = "vault"
    CONFIG = VaultConfig
    DESCRIPTION = "Keeps secrets in HashiCorp Vault (test plugin)."
