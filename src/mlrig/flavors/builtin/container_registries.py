"""Built-in container registry flavors."""

from __future__ import annotations

from pydantic import Field, field_validator

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import SECRET, Config, non_empty
from mlrig.models import ComponentType


class ContainerRegistryConfig(Config):
    uri: str = Field(description="Registry URI, e.g. localhost:5000 or docker.io/team.")

    _check = field_validator("uri")(non_empty)


class DefaultContainerRegistry(Flavor):
    TYPE = ComponentType.CONTAINER_REGISTRY
    FLAVOR = "default"
    CONFIG = ContainerRegistryConfig
    DESCRIPTION = "Any registry reachable by its URI."


class DockerHubContainerRegistryConfig(ContainerRegistryConfig):
    username: str | None = None
    password: str | None = Field(default=None, json_schema_extra=SECRET)


class DockerHubContainerRegistry(Flavor):
    TYPE = ComponentType.CONTAINER_REGISTRY
    FLAVOR = "dockerhub"
    CONFIG = DockerHubContainerRegistryConfig
    DESCRIPTION = "Docker Hub, with optional credentials."
