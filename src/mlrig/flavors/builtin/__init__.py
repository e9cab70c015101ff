"""The flavors mlrig ships, each with a real pydantic config schema.

One module per component type, imported only when one of its flavors is needed (building
pydantic models costs time on every command that would import them all). Every flavor is
reachable as ``mlrig.flavors.builtin.<ClassName>``, the source the flavor table shows.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE_OF = {
    "LocalOrchestrator": "orchestrators",
    "LocalDockerOrchestrator": "orchestrators",
    "DaskOrchestrator": "orchestrators",
    "SQLiteMetadataStore": "metadata_stores",
    "MySQLMetadataStore": "metadata_stores",
    "PostgreSQLMetadataStore": "metadata_stores",
    "LocalArtifactStore": "artifact_stores",
    "S3ArtifactStore": "artifact_stores",
    "GCSArtifactStore": "artifact_stores",
    "AzureArtifactStore": "artifact_stores",
    "DefaultContainerRegistry": "container_registries",
    "DockerHubContainerRegistry": "container_registries",
    "LocalSecretsManager": "secrets_managers",
    "LocalStepOperator": "optional",
    "FeastFeatureStore": "optional",
    "MLflowExperimentTracker": "optional",
    "MLflowModelDeployer": "optional",
    "SlackAlerter": "optional",
    "GreatExpectationsDataValidator": "optional",
    "LabelStudioAnnotator": "optional",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(name)
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(_MODULE_OF)
