"""Secret values kept out of what a run shows and records.

A component config may refer to a secret in any field (``path: "{{lake.path}}"``), not only
in the fields its flavor marks secret. The core resolves the reference to build the
component, and gives the implementation, besides the resolved config, which fields came
from secrets and how they were written (:attr:`RuntimeContext.references
<mlrig.runtime.registry.RuntimeContext>`): what an implementation shows or records (an
identity, a URI, a message) uses the reference there, never the value.

:class:`Masks` is the net under that: every text a run prints, logs or records (a step's
log and live output, its error, an artifact's URI, the cache key's parts, an error of a
component) passes through it, and every resolved value in it (and the forms a path takes
once expanded, made absolute or resolved) becomes the reference it came from. It is plain
data, so it travels to worker processes with a step.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from mlrig.exceptions import MlrigError


def reference_text(name: str, key: str) -> str:
    """How a reference to key ``key`` of secret ``name`` is shown: ``{{name.key}}``."""
    return "{{" + f"{name}.{key}" + "}}"


def _forms(value: str) -> set[str]:
    """``value`` and the forms a path-like value takes in messages (expanded, absolute,
    resolved, without a trailing slash)."""
    forms = {value, value.rstrip("/") or value}
    if "://" not in value and "\x00" not in value:
        expanded = os.path.expanduser(value)
        forms |= {expanded, os.path.abspath(expanded), os.path.realpath(expanded)}
    return {form for form in forms if form.strip()}


class Masks:
    """Resolved secret values and what to show instead (see the module's docstring)."""

    def __init__(self, pairs: Mapping[str, str] | None = None) -> None:
        self.pairs: dict[str, str] = dict(pairs or {})
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: object, shown: str) -> None:
        """Show ``shown`` wherever ``value`` (or a path form of it) would appear."""
        if not isinstance(value, str) or not value.strip():
            return
        for form in _forms(value):
            self.pairs.setdefault(form, shown)
        self._pattern = None

    def update(self, other: Masks) -> None:
        for value, shown in other.pairs.items():
            self.pairs.setdefault(value, shown)
        self._pattern = None

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def __call__(self, text: str) -> str:
        """``text`` with every secret value replaced by its reference."""
        if not self.pairs or not text:
            return text
        if self._pattern is None:
            ordered = sorted(self.pairs, key=len, reverse=True)  # the longest form first
            self._pattern = re.compile("|".join(re.escape(value) for value in ordered))
        return self._pattern.sub(lambda match: self.pairs[match.group(0)], text)

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self(text)

    def values(self, mapping: Mapping[str, str]) -> dict[str, str]:
        return {key: self(value) for key, value in mapping.items()}

    def lines(self, texts: Iterable[str]) -> list[str]:
        return [self(text) for text in texts]

    def error(self, exc: BaseException) -> BaseException:
        """``exc`` with no secret value in what it says (an ``MlrigError`` is changed in
        place, keeping its type; another exception that holds a value becomes an
        ``MlrigError`` saying the same, masked)."""
        if not self.pairs:
            return exc
        if isinstance(exc, MlrigError):
            exc.message = self(exc.message)
            exc.hint = self.optional(exc.hint)
            exc._library_hint = self.optional(exc._library_hint)
            exc.args = (exc.message, *exc.args[1:])
            return exc
        text = str(exc)
        masked = self(text)
        if masked == text:
            return exc
        return MlrigError(f"{type(exc).__name__}: {masked}")

    # plain data across processes (the compiled pattern is rebuilt there)
    def __getstate__(self) -> dict[str, object]:
        return {"pairs": self.pairs}

    def __setstate__(self, state: dict[str, object]) -> None:
        pairs = state.get("pairs")
        self.pairs = dict(pairs) if isinstance(pairs, dict) else {}
        self._pattern = None

