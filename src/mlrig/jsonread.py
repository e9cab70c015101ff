"""``json.loads`` for the hot read paths, without importing ``json``.

``import json`` imports ``json.decoder``, which compiles regular expressions at import:
``re`` and ``enum`` come with it, about 7 ms — as much as the rest of what a shell prompt's
``mlrig profile current`` does (:mod:`mlrig.prompt`), which reads mlrig's JSON copies of its
YAML files. The work of ``json.loads`` is done by the standard library's C scanner,
``_json.make_scanner``, which needs none of that: :func:`loads` calls it with the settings
``json.loads`` uses by default, and checks what ``json.decoder`` checks around it (nothing
but whitespace before and after the value). Where there is no C scanner (another Python
implementation), it is ``json.loads`` itself; an invalid text is also handed to
``json.loads``, which raises its ``JSONDecodeError`` (a ``ValueError``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # spelled out: importing `typing` costs more than this module saves
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_WHITESPACE = " \t\n\r"  # what JSON allows around a value (json.decoder's WHITESPACE)


class _Settings:
    """The attributes the C scanner reads from its ``json.JSONDecoder``: the defaults of
    ``json.loads``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"NaN": float("nan"), "Infinity": float("inf"),
                      "-Infinity": float("-inf")}.__getitem__


#: the scanner, made on first use
_SCANNER: list[Callable[[str, int], tuple[Any, int]]] = []


def loads(text: str) -> Any:
    """The value of the JSON document ``text``; ValueError if it is not one."""
    if not _SCANNER:
        try:
            from _json import make_scanner
        except ImportError:  # no C scanner: the module itself
            import json

            return json.loads(text)
        # typeshed types the context as the scanner class; any object with its attributes works
        _SCANNER.append(make_scanner(_Settings()))  # type: ignore[arg-type]
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _SCANNER[0](text, start)
    except Exception:  # not a document: json.loads says why, below
        end = -1
    if end < 0 or text[end:].strip(_WHITESPACE):
        # an invalid text (or extra data after the value): json.loads raises its
        # JSONDecodeError, a ValueError (the C scanner's own error needs json.decoder)
        import json

        return json.loads(text)
    return value
