"""mlrig.jsonread.loads is json.loads: the same value for every document, the same refusal
(a ValueError) for every text that is not one, and no ``json`` module imported on success."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrig.jsonread import loads

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@settings(max_examples=300, deadline=None)
@given(_values, st.sampled_from(["", " ", "\n", "\t \r\n"]), st.booleans())
def test_every_document_reads_as_json_loads_reads_it(value: Any, space: str,
                                                     indent: bool) -> None:
    text = space + json.dumps(value, indent=2 if indent else None,
                              ensure_ascii=False) + space
    assert _same(loads(text), json.loads(text))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_text_is_refused_or_read_as_json_loads_does(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            loads(text)
    else:
        got = loads(text)
        assert _same(got, expected) or (isinstance(got, float) and math.isnan(got))


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} x', "[1,]", '"\x01"', "[]]", "-",
                                  "\ufeff{}", '{"a" 1}', "tru"])
def test_a_broken_copy_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        loads(text)


def test_constants_and_big_numbers_read_as_json_loads_reads_them() -> None:
    got = loads('[NaN, Infinity, -Infinity, 1e999, 12345678901234567890, 1.5]')
    assert math.isnan(got[0]) and got[1:4] == [math.inf, -math.inf, math.inf]
    assert got[4:] == [12345678901234567890, 1.5]


def test_reading_a_document_imports_no_json_module() -> None:
    """What the module is for: the prompts' read path pays for neither ``json`` nor ``re``."""
    code = ("import sys; from mlrig.jsonread import loads; "
            "assert loads('{\"a\": [1, 2.5, null]}') == {'a': [1, 2.5, None]}; "
            "print(sorted(m for m in sys.modules if m == 'json' or m.startswith('json.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
