"""Built-in artifact store flavors."""

from __future__ import annotations

from pydantic import Field, field_validator

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import SECRET, Config
from mlrig.flavors.builtin._checks import azure_path, endpoint, gcs_path, non_empty, s3_path
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
    endpoint_url: str | None = Field(
        default=None, description="URL of an S3-compatible server (default: AWS).")
    region: str | None = None
    key: str | None = Field(default=None, description="Access key id, or {{SECRET.KEY}}.")
    secret: str | None = Field(default=None, json_schema_extra=SECRET,
                               description="Secret access key, or {{SECRET.KEY}}.")
    token: str | None = Field(default=None, json_schema_extra=SECRET,
                              description="Session token, or {{SECRET.KEY}}.")

    _check_path = field_validator("path")(s3_path)
    _check_endpoint = field_validator("endpoint_url")(endpoint)


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

    _check_path = field_validator("path")(gcs_path)
    _check_endpoint = field_validator("endpoint_url")(endpoint)


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

    _check_path = field_validator("path")(azure_path)


class AzureArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "azure"
    CONFIG = AzureArtifactStoreConfig
    DESCRIPTION = "Keeps artifacts in an Azure Blob Storage container (pip install " \
        "'mlrig[azure]')."
