"""Names of profiles, stacks and components: what is valid, and why not."""

from __future__ import annotations

import pytest

from mlrig.exceptions import InputError
from mlrig.names import MAX_NAME_LENGTH, validate_name


@pytest.mark.parametrize("name", ["default", "my stack", "données", "a.b", "x-1_2", "日本"])
def test_valid_names(name: str) -> None:
    assert validate_name("stack", name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a/b", "'/'"),
        ("a\\b", "is not allowed"),
        ("..", "start with '.'"),
        (".hidden", "start with '.'"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\u200bb", "control"),
        (" lead", "whitespace"),
        ("x" * (MAX_NAME_LENGTH + 1), "characters long"),
        ("é" * 101, "bytes"),
    ],
)
def test_invalid_names(name: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        validate_name("stack", name)
    message = info.value.message
    assert "Invalid stack name" in message
    assert reason.strip("'") in message or reason in message
    assert "\n" not in message and "\x00" not in message
