"""Cache-key parts: each thing a result depends on is a part, and changes the key."""

from __future__ import annotations

from mlrig import pipeline, step
from mlrig.runtime.caching import compare, key_of, parts_for


@step
def fit(data: list[int], rate: float = 0.1) -> float:
    return rate * sum(data)


@step
def source() -> list[int]:
    return [1, 2]


@pipeline
def p() -> None:
    fit(source(), rate=0.5)


def test_every_part_is_named_and_each_one_changes_the_key() -> None:
    node = p.trace({}).nodes["fit"]
    base = parts_for(node, {"rate": 0.5}, {"data": "sha256:aa"}, "local:/a")
    assert set(base) == {"source", "parameter:rate", "input:data", "materializer:output",
                         "artifact_store"}
    assert base["parameter:rate"] == "0.5" and base["materializer:output"] == "json@1"
    variants = [
        parts_for(node, {"rate": 0.6}, {"data": "sha256:aa"}, "local:/a"),
        parts_for(node, {"rate": 0.5}, {"data": "sha256:bb"}, "local:/a"),
        parts_for(node, {"rate": 0.5}, {"data": "sha256:aa"}, "s3://b/a"),
    ]
    keys = {key_of(base), *(key_of(v) for v in variants)}
    assert len(keys) == 4
    assert key_of(base) == key_of(dict(reversed(list(base.items()))))


def test_compare_names_what_changed_and_what_is_new_or_gone() -> None:
    changes = compare({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"})
    assert [(c.name, c.changed) for c in changes] == [
        ("a", False), ("b", True), ("c", True), ("d", True)]
    assert all(c.changed for c in compare({"a": "1"}, None))
