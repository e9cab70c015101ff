"""Flavor classes that tests register in a profile (``flavor register SOURCE``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mlrig.flavors.base import Flavor
from mlrig.models import ComponentType


class KubeflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str
    namespace: str = "kubeflow"
    api_key: str | None = Field(default=None, json_schema_extra={"secret": True})


class KubeflowOrchestrator(Flavor):
    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "kubeflow"
    CONFIG = KubeflowConfig
    DESCRIPTION = "Runs pipelines on Kubeflow (test flavor)."


class OtherKubeflowOrchestrator(Flavor):
    """Same flavor name, another class: a conflict when copied into a profile that has the
    first one."""

    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "kubeflow"
    CONFIG = KubeflowConfig


class ShadowLocalOrchestrator(Flavor):
    """Shadows the built-in ``local`` orchestrator flavor."""

    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "local"
    CONFIG = KubeflowConfig


class GCSArtifactStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    credentials: str = Field(json_schema_extra={"secret": True})


class GCSArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "gcs"
    CONFIG = GCSArtifactStoreConfig


class NotAFlavor:
    TYPE = ComponentType.ORCHESTRATOR
