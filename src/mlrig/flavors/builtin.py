"""The flavors mlrig ships. Each has a real pydantic config schema."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from mlrig.flavors.base import Flavor
from mlrig.models import ComponentType

_SECRET: JsonDict = {"secret": True}


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


# -- orchestrators -------------------------------------------------------------------------
class LocalOrchestratorConfig(_Config):
    """Runs pipelines in the local Python process."""


class LocalOrchestrator(Flavor):
    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "local"
    CONFIG = LocalOrchestratorConfig
    DESCRIPTION = "Runs every step in the local Python process."


class LocalDockerOrchestratorConfig(_Config):
    image: str | None = Field(default=None, description="Image to run steps in.")
    network: str | None = None


class LocalDockerOrchestrator(Flavor):
    TYPE = ComponentType.ORCHESTRATOR
    FLAVOR = "local_docker"
    CONFIG = LocalDockerOrchestratorConfig
    DESCRIPTION = "Runs every step in a local Docker container."


# -- metadata stores -----------------------------------------------------------------------
class SQLiteMetadataStoreConfig(_Config):
    uri: str = Field(description="Path of the SQLite database file.")

    _check = field_validator("uri")(_non_empty)


class SQLiteMetadataStore(Flavor):
    TYPE = ComponentType.METADATA_STORE
    FLAVOR = "sqlite"
    CONFIG = SQLiteMetadataStoreConfig
    DESCRIPTION = "Keeps metadata in a local SQLite file."


class MySQLMetadataStoreConfig(_Config):
    host: str
    port: int = Field(default=3306, ge=1, le=65535)
    database: str
    username: str
    password: str | None = Field(default=None, json_schema_extra=_SECRET)

    _check = field_validator("host", "database", "username")(_non_empty)


class MySQLMetadataStore(Flavor):
    TYPE = ComponentType.METADATA_STORE
    FLAVOR = "mysql"
    CONFIG = MySQLMetadataStoreConfig
    DESCRIPTION = "Keeps metadata in a MySQL database."


# -- artifact stores -----------------------------------------------------------------------
class LocalArtifactStoreConfig(_Config):
    path: str = Field(description="Directory the artifacts are written to.")

    _check = field_validator("path")(_non_empty)


class LocalArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "local"
    CONFIG = LocalArtifactStoreConfig
    DESCRIPTION = "Keeps artifacts in a local directory."


class S3ArtifactStoreConfig(_Config):
    path: str = Field(description="s3://bucket/prefix")
    region: str | None = None
    key: str | None = None
    secret: str | None = Field(default=None, json_schema_extra=_SECRET)
    token: str | None = Field(default=None, json_schema_extra=_SECRET)

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


# -- container registries ------------------------------------------------------------------
class ContainerRegistryConfig(_Config):
    uri: str = Field(description="Registry URI, e.g. localhost:5000 or docker.io/team.")

    _check = field_validator("uri")(_non_empty)


class DefaultContainerRegistry(Flavor):
    TYPE = ComponentType.CONTAINER_REGISTRY
    FLAVOR = "default"
    CONFIG = ContainerRegistryConfig
    DESCRIPTION = "Any registry reachable by its URI."


class DockerHubContainerRegistryConfig(ContainerRegistryConfig):
    username: str | None = None
    password: str | None = Field(default=None, json_schema_extra=_SECRET)


class DockerHubContainerRegistry(Flavor):
    TYPE = ComponentType.CONTAINER_REGISTRY
    FLAVOR = "dockerhub"
    CONFIG = DockerHubContainerRegistryConfig
    DESCRIPTION = "Docker Hub, with optional credentials."


# -- secrets managers ----------------------------------------------------------------------
class LocalSecretsManagerConfig(_Config):
    secrets_file: str | None = Field(default=None, description="YAML file holding the secrets.")


class LocalSecretsManager(Flavor):
    TYPE = ComponentType.SECRETS_MANAGER
    FLAVOR = "local"
    CONFIG = LocalSecretsManagerConfig
    DESCRIPTION = "Keeps secrets in a local file (0600)."


# -- the optional types --------------------------------------------------------------------
class LocalStepOperatorConfig(_Config):
    max_workers: int = Field(default=1, ge=1)


class LocalStepOperator(Flavor):
    TYPE = ComponentType.STEP_OPERATOR
    FLAVOR = "local"
    CONFIG = LocalStepOperatorConfig
    DESCRIPTION = "Runs individual steps in local worker processes."


class FeastFeatureStoreConfig(_Config):
    feast_repo: str
    online_host: str = "localhost"
    online_port: int = Field(default=6379, ge=1, le=65535)


class FeastFeatureStore(Flavor):
    TYPE = ComponentType.FEATURE_STORE
    FLAVOR = "feast"
    CONFIG = FeastFeatureStoreConfig
    DESCRIPTION = "A Feast feature repository."


class MLflowConfig(_Config):
    tracking_uri: str
    tracking_username: str | None = None
    tracking_password: str | None = Field(default=None, json_schema_extra=_SECRET)
    tracking_token: str | None = Field(default=None, json_schema_extra=_SECRET)


class MLflowExperimentTracker(Flavor):
    TYPE = ComponentType.EXPERIMENT_TRACKER
    FLAVOR = "mlflow"
    CONFIG = MLflowConfig
    DESCRIPTION = "An MLflow tracking server."


class MLflowModelDeployerConfig(_Config):
    tracking_uri: str
    workers: int = Field(default=1, ge=1)


class MLflowModelDeployer(Flavor):
    TYPE = ComponentType.MODEL_DEPLOYER
    FLAVOR = "mlflow"
    CONFIG = MLflowModelDeployerConfig
    DESCRIPTION = "Serves models with MLflow."


class SlackAlerterConfig(_Config):
    slack_token: str = Field(json_schema_extra=_SECRET)
    default_slack_channel_id: str | None = None


class SlackAlerter(Flavor):
    TYPE = ComponentType.ALERTER
    FLAVOR = "slack"
    CONFIG = SlackAlerterConfig
    DESCRIPTION = "Posts alerts to Slack."


class GreatExpectationsConfig(_Config):
    context_root_dir: str | None = None


class GreatExpectationsDataValidator(Flavor):
    TYPE = ComponentType.DATA_VALIDATOR
    FLAVOR = "great_expectations"
    CONFIG = GreatExpectationsConfig
    DESCRIPTION = "Validates data with Great Expectations."


class LabelStudioConfig(_Config):
    instance_url: str = "http://localhost"
    port: int = Field(default=8093, ge=1, le=65535)
    api_key: str | None = Field(default=None, json_schema_extra=_SECRET)


class LabelStudioAnnotator(Flavor):
    TYPE = ComponentType.ANNOTATOR
    FLAVOR = "label_studio"
    CONFIG = LabelStudioConfig
    DESCRIPTION = "Annotates data in Label Studio."
