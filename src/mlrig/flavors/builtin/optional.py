"""Built-in flavors of the optional component types."""

from __future__ import annotations

from pydantic import Field

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import SECRET, Config
from mlrig.models import ComponentType


class LocalStepOperatorConfig(Config):
    max_workers: int = Field(default=1, ge=1)


class LocalStepOperator(Flavor):
    TYPE = ComponentType.STEP_OPERATOR
    FLAVOR = "local"
    CONFIG = LocalStepOperatorConfig
    DESCRIPTION = "Runs individual steps in local worker processes."


class FeastFeatureStoreConfig(Config):
    feast_repo: str
    online_host: str = "localhost"
    online_port: int = Field(default=6379, ge=1, le=65535)


class FeastFeatureStore(Flavor):
    TYPE = ComponentType.FEATURE_STORE
    FLAVOR = "feast"
    CONFIG = FeastFeatureStoreConfig
    DESCRIPTION = "A Feast feature repository."


class MLflowConfig(Config):
    tracking_uri: str
    tracking_username: str | None = None
    tracking_password: str | None = Field(default=None, json_schema_extra=SECRET)
    tracking_token: str | None = Field(default=None, json_schema_extra=SECRET)


class MLflowExperimentTracker(Flavor):
    TYPE = ComponentType.EXPERIMENT_TRACKER
    FLAVOR = "mlflow"
    CONFIG = MLflowConfig
    DESCRIPTION = "An MLflow tracking server."


class MLflowModelDeployerConfig(Config):
    tracking_uri: str
    workers: int = Field(default=1, ge=1)


class MLflowModelDeployer(Flavor):
    TYPE = ComponentType.MODEL_DEPLOYER
    FLAVOR = "mlflow"
    CONFIG = MLflowModelDeployerConfig
    DESCRIPTION = "Serves models with MLflow."


class SlackAlerterConfig(Config):
    slack_token: str = Field(json_schema_extra=SECRET)
    default_slack_channel_id: str | None = None


class SlackAlerter(Flavor):
    TYPE = ComponentType.ALERTER
    FLAVOR = "slack"
    CONFIG = SlackAlerterConfig
    DESCRIPTION = "Posts alerts to Slack."


class GreatExpectationsConfig(Config):
    context_root_dir: str | None = None


class GreatExpectationsDataValidator(Flavor):
    TYPE = ComponentType.DATA_VALIDATOR
    FLAVOR = "great_expectations"
    CONFIG = GreatExpectationsConfig
    DESCRIPTION = "Validates data with Great Expectations."


class LabelStudioConfig(Config):
    instance_url: str = "http://localhost"
    port: int = Field(default=8093, ge=1, le=65535)
    api_key: str | None = Field(default=None, json_schema_extra=SECRET)


class LabelStudioAnnotator(Flavor):
    TYPE = ComponentType.ANNOTATOR
    FLAVOR = "label_studio"
    CONFIG = LabelStudioConfig
    DESCRIPTION = "Annotates data in Label Studio."
