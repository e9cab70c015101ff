"""Every built-in flavor, and the test plugin's, passes the flavor contract that mlrig
ships for flavor authors (:class:`mlrig.testing.flavors.FlavorContract`)."""

from __future__ import annotations

from typing import Any

from mlrig.flavors import builtin_specs
from mlrig.flavors.base import Flavor
from mlrig.testing.flavors import FlavorContract

#: a config each built-in flavor accepts, with its secret fields filled in
VALID: dict[str, dict[str, Any]] = {
    "LocalOrchestrator": {},
    "LocalDockerOrchestrator": {},
    "DaskOrchestrator": {"address": "tcp://127.0.0.1:8786"},
    "SQLiteMetadataStore": {"uri": "/srv/m.db"},
    "MySQLMetadataStore": {"host": "db", "database": "ml", "username": "ml",
                           "password": "pw-1"},
    "PostgreSQLMetadataStore": {"host": "db", "database": "ml", "username": "ml",
                                "password": "pw-4"},
    "LocalArtifactStore": {"path": "/srv/a"},
    "S3ArtifactStore": {"path": "s3://bucket/a", "secret": "s-1", "token": "t-1",
                        "endpoint_url": "http://127.0.0.1:9000"},
    "GCSArtifactStore": {"path": "gs://bucket/a", "token": "anon"},
    "AzureArtifactStore": {"path": "az://container/a", "account_name": "acct",
                           "account_key": "k-2", "connection_string": "c-1",
                           "sas_token": "t-3", "client_secret": "s-2"},
    "DefaultContainerRegistry": {"uri": "localhost:5000"},
    "DockerHubContainerRegistry": {"uri": "docker.io/me", "password": "pw-2"},
    "LocalSecretsManager": {},
    "LocalStepOperator": {},
    "FeastFeatureStore": {"feast_repo": "/srv/feast"},
    "MLflowModelDeployer": {"tracking_uri": "http://127.0.0.1:5000"},
    "MLflowExperimentTracker": {"tracking_uri": "http://127.0.0.1:5000",
                                "tracking_password": "pw-3", "tracking_token": "t-2"},
    "SlackAlerter": {"slack_token": "xoxb-1"},
    "GreatExpectationsDataValidator": {},
    "LabelStudioAnnotator": {"api_key": "k-1"},
}


def _contract_for(cls: type[Flavor]) -> type[FlavorContract]:
    return type(f"Test{cls.__name__}", (FlavorContract,),
                {"flavor": cls, "valid_config": VALID[cls.__name__]})


for _spec in builtin_specs():
    _cls = _spec.load()
    globals()[f"Test{_cls.__name__}"] = _contract_for(_cls)


def test_every_built_in_flavor_is_covered() -> None:
    assert {s.load().__name__ for s in builtin_specs()} == set(VALID)
