"""Built-in orchestrator flavors."""

from __future__ import annotations

from pydantic import Field

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import Config
from mlrig.models import ComponentType


class LocalOrchestratorConfig(Config):
    """Runs pipelines in the local Python process."""


class LocalOrchestrator(Flavor):
    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "local"
    CONFIG = LocalOrchestratorConfig
    DESCRIPTION = "Runs every step in the local Python process."


class LocalDockerOrchestratorConfig(Config):
    image: str | None = Field(default=None, description="Image to run steps in.")
    network: str | None = None


class LocalDockerOrchestrator(Flavor):
    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "local_docker"
    CONFIG = LocalDockerOrchestratorConfig
    DESCRIPTION = "Runs every step in a local Docker container."
