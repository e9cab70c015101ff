"""Built-in flavor configs validated by pydantic-core alone (:mod:`mlrig.flavors.compiled`)
give exactly what their pydantic models give — the config kept, or the one-line error — and
the compiled schemas are what the models compile to today."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrig.exceptions import InputError
from mlrig.flavors import BUILT_IN, FlavorSpec, builtin_specs, compiled, validate_config

ROOT = Path(__file__).resolve().parents[3]
SPECS = builtin_specs()


def outcome(run: Any) -> tuple[str, Any]:
    try:
        return "kept", run()
    except InputError as exc:
        return "refused", exc.message


def both(spec: FlavorSpec, values: dict[str, Any]) -> tuple[tuple[str, Any], tuple[str, Any]]:
    label = f"{spec.type.display_name} 'x'"
    by_model = outcome(lambda: validate_config(spec.load(), dict(values), label))
    by_core = outcome(lambda: spec.validate_config(dict(values), label))
    return by_model, by_core


def test_the_compiled_schemas_are_up_to_date() -> None:
    """``python scripts/gen_flavor_schemas.py`` after changing a built-in config model."""
    written = (ROOT / "src/mlrig/flavors/builtin/_schemas.py").read_text()
    assert written == compiled.render(compiled.builtin_models(SPECS))


def test_every_builtin_flavor_is_compiled() -> None:
    from mlrig.flavors.builtin._schemas import SCHEMAS

    assert set(SCHEMAS) == {s.source.rsplit(".", 1)[-1] for s in SPECS}
    assert all(s.origin == BUILT_IN for s in SPECS)


SAMPLES: list[dict[str, Any]] = [
    {}, {"path": ""}, {"path": "  "}, {"path": "s3://"}, {"path": "s3://b/p"},
    {"path": "gs://b", "endpoint_url": "ftp://x"}, {"path": "az://c", "bogus": 1},
    {"path": "{{aws.path}}", "endpoint_url": "{{aws.url}}"},
    {"endpoint_url": "http://127.0.0.1:9000/", "path": "s3://b"},
    {"parallelism": "0"}, {"parallelism": "3"}, {"parallelism": "x"}, {"parallelism": 2.5},
    {"timeout": "-1", "n_workers": "abc"}, {"timeout": "2"}, {"address": None},
    {"uri": "/srv/m.db"}, {"host": "db", "database": "d", "username": "u", "port": "70000"},
    {"host": "db", "database": "d", "username": "u", "port": "5432", "password": None},
    {"tracking_uri": 5}, {"slack_token": ["a"]}, {"feast_repo": "{}"}, {"uri": "[1]"},
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.source.rsplit(".", 1)[-1])
def test_samples_give_the_same_outcome_on_both_paths(spec: FlavorSpec) -> None:
    from mlrig.flavors.builtin import _checks

    for values in SAMPLES:
        by_model, by_core = both(spec, values)
        assert by_model == by_core, (spec.name, values)
    assert _checks.is_secret_reference("{{a.b}}") and not _checks.is_secret_reference("a")


def _field_names(spec: FlavorSpec) -> list[str]:
    return sorted(spec.load().CONFIG.model_fields)


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["s3://b/p", "gs://b", "az://c/x", "http://h", "https://h/", "{{s.k}}",
                     "[1, 2]", '{"a": 1}', "[", "0", "-1", "3", "1.5", " ", ""]),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_config_gives_the_same_outcome_on_both_paths(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(SPECS))
    keys = st.one_of(st.sampled_from(_field_names(spec) or ["none"]),
                     st.sampled_from(["bogus", "name_", "x"]))
    values = data.draw(st.dictionaries(keys, VALUES, max_size=5))
    by_model, by_core = both(spec, values)
    assert by_model == by_core


def test_a_check_outside_the_checks_module_cannot_be_compiled() -> None:
    from pydantic import BaseModel, field_validator

    def shout(value: str) -> str:
        return value.upper()

    class Odd(BaseModel):
        name: str
        _check = field_validator("name")(shout)

    with pytest.raises(ValueError, match="is not a function of"):
        compiled.compile_model(Odd)


_ENGINE_THEN_PYDANTIC = """
import sys
from mlrig.flavors import compiled
engine = compiled.engine()
assert engine.__name__ == "pydantic_core._pydantic_core", engine
assert "pydantic_core" not in sys.modules
assert compiled.validate("LocalArtifactStore", "local", {"path": "/x"}, "c") == {"path": "/x"}
import pydantic
import pydantic_core
assert pydantic_core._pydantic_core is engine
assert pydantic_core.SchemaValidator is engine.SchemaValidator

class Model(pydantic.BaseModel):
    port: int

assert Model(port="8").port == 8
try:
    Model(port="x")
except pydantic.ValidationError as exc:
    assert exc.errors()[0]["type"] == "int_parsing"
else:
    raise AssertionError("not refused")
assert compiled.engine() is pydantic_core
print("ok")
"""


def test_the_engine_loaded_alone_is_the_one_pydantic_uses_later() -> None:
    """The extension loaded without its package is shared with a later ``import pydantic``
    in the same process (a plugin's model, the pipeline runtime): one engine, working."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _ENGINE_THEN_PYDANTIC],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
