from __future__ import annotations

import pytest

from mlrig import flavors
from mlrig.exceptions import InputError, NotFoundError
from mlrig.flavors.base import Flavor
from mlrig.models import ComponentType, FlavorRecord


def test_every_builtin_loads_and_matches_its_table_entry() -> None:
    for spec in flavors.builtin_specs():
        cls = spec.load()
        assert issubclass(cls, Flavor)
        assert cls.TYPE is spec.type
        assert spec.name == cls.FLAVOR
        assert spec.origin == flavors.BUILT_IN


@pytest.mark.parametrize(
    ("type_", "name"),
    [
        (ComponentType.ORCHESTRATOR, "local"),
        (ComponentType.METADATA_STORE, "sqlite"),
        (ComponentType.METADATA_STORE, "mysql"),
        (ComponentType.ARTIFACT_STORE, "local"),
        (ComponentType.CONTAINER_REGISTRY, "default"),
        (ComponentType.SECRETS_MANAGER, "local"),
    ],
)
def test_required_builtins(type_: ComponentType, name: str) -> None:
    assert flavors.resolve(type_, name, []).origin == flavors.BUILT_IN


def test_mysql_schema_validates_and_marks_password_secret() -> None:
    cls = flavors.resolve(ComponentType.METADATA_STORE, "mysql", []).load()
    config = flavors.validate_config(
        cls, {"host": "db", "port": "3307", "database": "m", "username": "u",
              "password": "pw"}, "metadata store 'x'")
    assert config == {"host": "db", "port": 3307, "database": "m", "username": "u",
                      "password": "pw"}
    assert cls.secret_fields() == frozenset({"password"})


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"host": "db", "database": "m"}, "username: Field required"),
        ({"host": "db", "database": "m", "username": "u", "port": "x"}, "port"),
        ({"host": "db", "database": "m", "username": "u", "port": "70000"}, "port"),
        ({"host": "db", "database": "m", "username": "u", "colour": "red"},
         "'colour' is not an attribute"),
        ({"host": " ", "database": "m", "username": "u"}, "must not be empty"),
    ],
)
def test_invalid_configs(values: dict[str, str], match: str) -> None:
    cls = flavors.resolve(ComponentType.METADATA_STORE, "mysql", []).load()
    with pytest.raises(InputError, match=match) as info:
        flavors.validate_config(cls, values, "metadata store 'x'")
    assert "\n" not in info.value.message


def test_unknown_flavor() -> None:
    with pytest.raises(NotFoundError, match=r"There is no flavor 'nope'.*Available: dask, local"):
        flavors.resolve(ComponentType.ORCHESTRATOR, "nope", [])


def test_profile_flavor_wins_over_builtin() -> None:
    record = FlavorRecord(ComponentType.ORCHESTRATOR, "local", "x.y.Local")
    resolved = flavors.resolve(ComponentType.ORCHESTRATOR, "local", [record])
    assert resolved.origin == flavors.PROFILE


@pytest.mark.parametrize("source", ["nodots", "mlrig.models.ComponentType", "no.such.Module"])
def test_bad_flavor_sources(source: str) -> None:
    with pytest.raises(InputError):
        flavors.load_flavor_class(source)


def test_flavor_of_wrong_type() -> None:
    with pytest.raises(InputError, match="is a flavor of 'orchestrator'"):
        flavors.load_flavor_class("mlrig.flavors.builtin.LocalOrchestrator",
                                  expected_type=ComponentType.ALERTER)


def test_json_values_for_structured_fields() -> None:
    from pydantic import BaseModel

    class Cfg(BaseModel):
        tags: list[str] = []
        name: str = ""

    class F(Flavor):
        TYPE = ComponentType.ALERTER
        FLAVOR = "f"
        CONFIG = Cfg

    assert flavors.validate_config(F, {"tags": '["a", "b"]', "name": "[x]"}, "x") == {
        "tags": ["a", "b"], "name": "[x]"}


def test_the_table_of_built_in_secret_fields_is_what_the_schemas_declare() -> None:
    """Masking a listing reads BUILTIN_SECRET_FIELDS instead of loading pydantic: it must
    name exactly the fields each built-in flavor's schema marks secret."""
    from mlrig import flavors as registry

    for spec in registry.builtin_specs():
        declared = spec.load().secret_fields()
        class_name = spec.source.rsplit(".", 1)[-1]
        assert registry.BUILTIN_SECRET_FIELDS.get(class_name, frozenset()) == declared, \
            class_name
        assert spec.secret_fields() == declared
    names = {s.source.rsplit(".", 1)[-1] for s in registry.builtin_specs()}
    assert set(registry.BUILTIN_SECRET_FIELDS) <= names
