from __future__ import annotations

import pytest

from mlrig.exceptions import InputError
from mlrig.models import (
    MANDATORY_TYPES,
    Component,
    ComponentType,
    FlavorRecord,
    ProfileConfig,
    Stack,
)


def test_twelve_types_three_mandatory() -> None:
    assert len(ComponentType) == 12
    assert set(MANDATORY_TYPES) == {ComponentType.ORCHESTRATOR, ComponentType.METADATA_STORE,
                                    ComponentType.ARTIFACT_STORE}
    assert ComponentType.CONTAINER_REGISTRY.plural == "container_registries"
    assert ComponentType.ARTIFACT_STORE.cli_name == "artifact-store"
    assert ComponentType.ARTIFACT_STORE.display_name == "artifact store"
    assert len({t.short_option for t in ComponentType}) == 12


@pytest.mark.parametrize("text", ["artifact_store", "artifact-store", "ARTIFACT_STORE"])
def test_parse_type(text: str) -> None:
    assert ComponentType.parse(text) is ComponentType.ARTIFACT_STORE


def test_parse_unknown_type() -> None:
    with pytest.raises(InputError, match="Unknown component type 'nope'"):
        ComponentType.parse("nope")


def test_round_trips() -> None:
    component = Component(ComponentType.ALERTER, "a", "slack", {"slack_token": "x"})
    assert Component.from_dict(component.to_dict()) == component
    stack = Stack("s", {ComponentType.ORCHESTRATOR: "o", ComponentType.ARTIFACT_STORE: "a"})
    assert Stack.from_dict("s", stack.to_dict()) == stack
    assert list(stack.to_dict()) == ["artifact_store", "orchestrator"]
    flavor = FlavorRecord(ComponentType.ORCHESTRATOR, "f", "pkg.F")
    assert FlavorRecord.from_dict(flavor.to_dict()) == flavor
    profile = ProfileConfig("p", "local", "file:///x", "default")
    assert ProfileConfig.from_dict("p", profile.to_dict()) == profile
