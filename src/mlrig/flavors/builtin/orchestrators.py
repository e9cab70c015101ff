"""Built-in orchestrator flavors."""

from __future__ import annotations

from pydantic import Field

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import Config
from mlrig.models import ComponentType


class LocalOrchestratorConfig(Config):
    """Runs pipelines in the local Python process."""

    # None, not 1, by default: a validated config keeps no default value, so the default
    # stack's orchestrator stays `{}` (how core/defaults.py recognises it)
    parallelism: int | None = Field(
        default=None, ge=1,
        description="Steps run at once (default 1: in order, in the calling process); N "
        "runs independent steps at once in N worker processes.",
    )


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


class DaskOrchestratorConfig(Config):
    address: str | None = Field(
        default=None,
        description="Address of the Dask scheduler (tcp://host:8786); none: a local "
        "cluster of worker processes started by the run.",
    )
    n_workers: int | None = Field(
        default=None, ge=1, description="Workers of the local cluster (when no address).")
    timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for the scheduler before a run fails.")


class DaskOrchestrator(Flavor):
    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "dask"
    CONFIG = DaskOrchestratorConfig
    DESCRIPTION = "Runs every step as a task on a Dask cluster (needs mlrig[dask])."
