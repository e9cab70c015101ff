"""Built-in artifact store flavors."""

from __future__ import annotations

from pydantic import Field, field_validator

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import SECRET, Config, non_empty
from mlrig.models import ComponentType


class LocalArtifactStoreConfig(Config):
    path: str = Field(description="Directory the artifacts are written to.")

    _check = field_validator("path")(non_empty)


class LocalArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "local"
    CONFIG = LocalArtifactStoreConfig
    DESCRIPTION = "Keeps artifacts in a local directory."


class S3ArtifactStoreConfig(Config):
    path: str = Field(description="s3://bucket/prefix")
    region: str | None = None
    key: str | None = None
    secret: str | None = Field(default=None, json_schema_extra=SECRET)
    token: str | None = Field(default=None, json_schema_extra=SECRET)

    @field_validator("path")
    @classmethod
    def _s3_path(cls, value: str) -> str:
        if not value.startswith("s3://") or len(value) <= len("s3://"):
            raise ValueError("must start with 's3://' and name a bucket")
        return value


class S3ArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "s3"
    CONFIG = S3ArtifactStoreConfig
    DESCRIPTION = "Keeps artifacts in an S3 bucket."
