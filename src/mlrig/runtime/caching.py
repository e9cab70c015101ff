"""The cache key of a step run, kept as readable parts.

A step is skipped when its key matches a completed earlier run of a step (any pipeline:
the key says everything the result depends on). The parts, by name:

- ``source``: ``sha256`` of the step function's source;
- ``parameter:<name>``: each parameter's value as canonical JSON;
- ``input:<name>``: the content digest (``sha256:<hex>``) of each input artifact;
- ``materializer:<output>``: ``name@version`` of what will save each output (``any@<hash of
  every registered materializer>`` when the output's type is known only at run time);
- ``artifact_store``: the identity of the store the outputs go to (an artifact in another
  store is not a hit).

The key is the ``sha256`` of the parts. Every part is recorded with the step run, so
``explain_cache`` can say which one changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlrig.runtime import materializers
from mlrig.runtime.dag import StepNode

KEY_VERSION = "1"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parts_for(
    node: StepNode,
    parameters: Mapping[str, Any],
    input_digests: Mapping[str, str],
    artifact_store: str,
) -> dict[str, str]:
    parts: dict[str, str] = {"source": node.spec.source_hash}
    for name in sorted(parameters):
        parts[f"parameter:{name}"] = canonical(parameters[name])
    for name in sorted(input_digests):
        parts[f"input:{name}"] = input_digests[name]
    for output in node.spec.outputs:
        parts[f"materializer:{output.name}"] = materializers.for_annotation(output.annotation)
    if node.spec.allow_pickle:
        parts["pickle"] = "allowed"
    parts["artifact_store"] = artifact_store
    return parts


def key_of(parts: Mapping[str, str]) -> str:
    text = canonical({"v": KEY_VERSION, "parts": dict(parts)})
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class PartChange:
    """One part of a cache key compared with the same part of an earlier run."""

    name: str
    value: str | None  # None: not a part of this run's key
    previous: str | None  # None: not a part of the earlier key (or no earlier run)

    @property
    def changed(self) -> bool:
        return self.value != self.previous


def compare(parts: Mapping[str, str], previous: Mapping[str, str] | None) -> list[PartChange]:
    """Every part of either key, in this key's order, then the ones only the earlier had."""
    before = dict(previous or {})
    changes = [PartChange(name, value, before.get(name)) for name, value in parts.items()]
    changes += [PartChange(name, None, value) for name, value in before.items()
                if name not in parts]
    return changes
