"""A verb whose write is refused as stale is run again on the new state (the library and
the CLI alike go through the Client); a write that stays stale says who changed what."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from mlrig.client import Client
from mlrig.exceptions import StoreError
from mlrig.flavors.base import Flavor
from mlrig.models import ComponentType
from mlrig.stores.rest import RestStore
from mlrig.testing.server import make_token

A = ComponentType.ARTIFACT_STORE


class Race:
    """What the flavor's validation does while a verb's transaction is open: another
    member's write of the same component (``times`` times)."""

    url = ""
    token = ""
    times = 0
    ran = 0


class RacingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    region: str = "eu"

    @field_validator("path")
    @classmethod
    def meanwhile(cls, value: str) -> str:
        if Race.ran < Race.times:
            Race.ran += 1
            other = RestStore(Race.url, token=Race.token)
            with other.write() as txn:
                found = txn.get_component(A, "lake")
                assert found is not None
                found.config["region"] = f"us-{Race.ran}"
                txn.update_component(found)
            other.close()
        return value


class RacingArtifactStore(Flavor):
    TYPE = ComponentType.ARTIFACT_STORE
    FLAVOR = "racing"
    CONFIG: ClassVar[Any] = RacingConfig


def _client(server: Any, tmp_path: Path) -> Client:
    client = Client(config_path=tmp_path / "member", on_event=lambda level, message: None)
    client.config()
    client.create_profile("team", store_type="rest", url=server.url,
                          options={"token_env": "RACE_TOKEN"})
    client.set_profile("team")
    return client


def test_a_stale_update_is_reapplied_on_the_new_state(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RACE_TOKEN", make_token(server, "me", "editor", user="me"))
    Race.url, Race.token = server.url, make_token(server, "other", "editor", user="other")
    client = _client(server, tmp_path)
    client.register_flavor("artifact_store", f"{__name__}.RacingArtifactStore")
    Race.times, Race.ran = 0, 0
    client.register_component("artifact_store", "lake", "racing", {"path": "/a"})
    Race.times, Race.ran = 1, 0  # one concurrent write during the first attempt
    updated = client.update_component("artifact_store", "lake", {"path": "/b"})
    assert Race.ran == 1 and updated.config["path"] == "/b"
    # a flavor registered in the profile is never imported by the server: all its values
    # count as secret, so look with a token that may read them
    reader = make_token(server, "reader", "admin", "--secrets", user="admin")
    with RestStore(server.url, token=reader).read() as view:
        found = view.get_component(A, "lake")
    # both intents kept: the other member's region, this one's path
    assert found is not None and found.config == {"path": "/b", "region": "us-1"}
    client.close()


def test_a_write_that_stays_stale_says_who_changed_it(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RACE_TOKEN", make_token(server, "me", "editor", user="me"))
    Race.url, Race.token = server.url, make_token(server, "other", "editor", user="other")
    client = _client(server, tmp_path)
    client.register_flavor("artifact_store", f"{__name__}.RacingArtifactStore")
    Race.times, Race.ran = 0, 0
    client.register_component("artifact_store", "lake", "racing", {"path": "/a"})
    Race.times, Race.ran = 10, 0  # every attempt loses the race
    with pytest.raises(StoreError) as caught:
        client.update_component("artifact_store", "lake", {"path": "/b"})
    assert Race.ran == 3  # three attempts, then the refusal is reported
    assert caught.value.message.startswith("The artifact store 'lake' was changed by 'other' at ")
    reader = make_token(server, "reader", "admin", "--secrets", user="admin")
    with RestStore(server.url, token=reader).read() as view:
        found = view.get_component(A, "lake")
    assert found is not None and found.config["path"] == "/a"
    client.close()
