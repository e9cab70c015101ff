"""Built-in artifact store flavors."""

from __future__ import annotations

from pydantic import Field, field_validator

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import SECRET, Config, is_secret_reference, non_empty
from mlrig.models import ComponentType


class LocalArtifactStoreConfig(Config):
    path: str = Field(description="Directory the artifacts are written to.")

    _check = field_validator("path")(non_empty)


class LocalArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "local"
    CONFIG = LocalArtifactStoreConfig
    DESCRIPTION = "Keeps artifacts in a local directory."


def _object_path(value: str, schemes: tuple[str, ...]) -> str:
    if is_secret_reference(value):
        return value
    for scheme in schemes:
        prefix = f"{scheme}://"
        if value.startswith(prefix) and value[len(prefix):].partition("/")[0]:
            return value
    names = " or ".join(f"'{s}://'" for s in schemes)
    raise ValueError(f"must start with {names} and name a bucket")


def _endpoint(value: str | None) -> str | None:
    if value is None or is_secret_reference(value):
        return value
    if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class S3ArtifactStoreConfig(Config):
    path: str = Field(description="s3://bucket/prefix")
    endpoint_url: str | None = Field(
        default=None, description="URL of an S3-compatible server (default: AWS).")
    region: str | None = None
    key: str | None = Field(default=None, description="Access key id, or {{SECRET.KEY}}.")
    secret: str | None = Field(default=None, json_schema_extra=SECRET,
                               description="Secret access key, or {{SECRET.KEY}}.")
    token: str | None = Field(default=None, json_schema_extra=SECRET,
                              description="Session token, or {{SECRET.KEY}}.")

    @field_validator("path")
    @classmethod
    def _s3_path(cls, value: str) -> str:
        return _object_path(value, ("s3",))

    _check_endpoint = field_validator("endpoint_url")(_endpoint)


class S3ArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "s3"
    CONFIG = S3ArtifactStoreConfig
    DESCRIPTION = "Keeps artifacts in an S3 bucket (AWS or S3-compatible; pip install 'mlrig[s3]')."


class GCSArtifactStoreConfig(Config):
    path: str = Field(description="gs://bucket/prefix")
    project: str | None = None
    token: str | None = Field(
        default=None, json_schema_extra=SECRET,
        description="Credentials as gcsfs takes them (a service-account JSON file, 'anon', "
        "...), or {{SECRET.KEY}}.")
    endpoint_url: str | None = Field(default=None, description="URL of a GCS emulator.")

    @field_validator("path")
    @classmethod
    def _gcs_path(cls, value: str) -> str:
        return _object_path(value, ("gs", "gcs"))

    _check_endpoint = field_validator("endpoint_url")(_endpoint)


class GCSArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "gcs"
    CONFIG = GCSArtifactStoreConfig
    DESCRIPTION = "Keeps artifacts in a Google Cloud Storage bucket (pip install 'mlrig[gcs]')."


class AzureArtifactStoreConfig(Config):
    path: str = Field(description="az://container/prefix")
    account_name: str | None = None
    account_key: str | None = Field(default=None, json_schema_extra=SECRET)
    connection_string: str | None = Field(default=None, json_schema_extra=SECRET)
    sas_token: str | None = Field(default=None, json_schema_extra=SECRET)
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = Field(default=None, json_schema_extra=SECRET)

    @field_validator("path")
    @classmethod
    def _azure_path(cls, value: str) -> str:
        return _object_path(value, ("az", "abfs"))


class AzureArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "azure"
    CONFIG = AzureArtifactStoreConfig
    DESCRIPTION = "Keeps artifacts in an Azure Blob Storage container (pip install " \
        "'mlrig[azure]')."
