"""The flavor contract: what every flavor class must satisfy to be registered, listed,
validated, masked and exported by mlrig.

Subclass it in a test module with the flavor and a config it accepts::

    from mlrig.testing.flavors import FlavorContract
    from my_package import AirflowOrchestrator

    class TestAirflow(FlavorContract):
        flavor = AirflowOrchestrator
        valid_config = {"dag_dir": "/dags", "token": "s3cret"}
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from mlrig.exceptions import InputError
from mlrig.flavors import load_flavor_class, validate_config
from mlrig.flavors.base import Flavor
from mlrig.models import ComponentType
from mlrig.names import validate_name


class FlavorContract:
    """Tests every flavor must pass; set :attr:`flavor` and :attr:`valid_config`."""

    flavor: ClassVar[type[Flavor]]
    #: a config the flavor accepts (with a value for every secret field, if it has any)
    valid_config: ClassVar[dict[str, Any]] = {}

    def test_declares_its_type_name_and_schema(self) -> None:
        assert isinstance(self.flavor.TYPE, ComponentType)
        assert validate_name("flavor", self.flavor.FLAVOR) == self.flavor.FLAVOR
        assert hasattr(self.flavor.CONFIG, "model_validate")

    def test_loads_from_its_dotted_path(self) -> None:
        source = f"{self.flavor.__module__}.{self.flavor.__qualname__}"
        assert load_flavor_class(source, expected_type=self.flavor.TYPE) is self.flavor

    def test_a_valid_config_is_kept_as_json(self) -> None:
        kept = validate_config(self.flavor, dict(self.valid_config), "the component")
        assert json.loads(json.dumps(kept)) == kept
        # validating what was kept changes nothing (stored configs are validated again)
        assert validate_config(self.flavor, dict(kept), "the component") == kept

    def test_secret_fields_are_fields_of_the_schema(self) -> None:
        secret = self.flavor.secret_fields()
        assert secret <= set(self.flavor.CONFIG.model_fields)
        kept = validate_config(self.flavor, dict(self.valid_config), "the component")
        for name in secret & set(self.valid_config):
            assert kept.get(name) == self.valid_config[name], "a secret value must be kept"

    def test_an_unknown_attribute_is_refused_in_one_line(self) -> None:
        with pytest.raises(InputError) as refused:
            validate_config(self.flavor, {**self.valid_config,
                                          "no_such_attribute_xyz": "1"}, "the component")
        assert "\n" not in refused.value.message
