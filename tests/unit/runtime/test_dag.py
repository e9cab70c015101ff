"""Tracing a pipeline into a graph: outputs, inputs vs parameters, naming, mistakes."""

from __future__ import annotations

from typing import Annotated

import pytest

from mlrig import pipeline, step
from mlrig.runtime.dag import DefinitionError, FunctionRef, StepOutput, resolve


@step
def one() -> int:
    return 1


@step
def named() -> Annotated[str, "label"]:
    return "x"


@step
def pair() -> tuple[Annotated[int, "left"], Annotated[int, "right"]]:
    return 1, 2


@step
def unnamed_pair() -> tuple[int, str]:
    return 1, "a"


@step
def nothing() -> None:
    return None


@step
def untyped():  # type: ignore[no-untyped-def]
    return 3


@step
def add(a: int, b: int, bias: int = 0) -> int:
    return a + b + bias


def test_output_names_follow_the_return_annotation() -> None:
    assert [o.name for o in one.outputs] == ["output"]
    assert [o.name for o in named.outputs] == ["label"]
    assert [o.name for o in pair.outputs] == ["left", "right"]
    assert [o.name for o in unnamed_pair.outputs] == ["output_0", "output_1"]
    assert nothing.outputs == ()
    assert [o.name for o in untyped.outputs] == ["output"]
    assert pair.returns_tuple and not named.returns_tuple


def test_placeholders_wire_inputs_and_values_are_parameters() -> None:
    @pipeline
    def p() -> None:
        left, right = pair()
        add(left, right, bias=5)
        add(one(), 4)

    graph = p.trace({})
    assert list(graph.nodes) == ["pair", "add", "one", "add_2"]
    first, second = graph.nodes["add"], graph.nodes["add_2"]
    assert first.inputs == {"a": StepOutput("pair", "left"), "b": StepOutput("pair", "right")}
    assert first.parameters == {"bias": 5}
    assert second.inputs == {"a": StepOutput("one", "output")}
    assert second.parameters == {"b": 4}
    assert first.upstream == ["pair"]
    assert graph.downstream()["pair"] == ["add"]


def test_a_step_outside_a_pipeline_is_the_plain_function() -> None:
    assert add(1, 2, bias=3) == 6
    assert pair() == (1, 2)


def test_after_orders_a_step_without_outputs() -> None:
    @pipeline
    def p() -> None:
        done = nothing()
        one(after=done)

    graph = p.trace({})
    assert graph.nodes["one"].upstream == ["nothing"]


@pytest.mark.parametrize(("body", "message"), [
    (lambda: bool(one()), "cannot branch"),
    (lambda: add(*pair(), 1, 2), "does not take"),
    (lambda: add(pair(), 1), "unpack them"),
    (lambda: list(one()), "cannot be unpacked"),
])
def test_mistakes_in_a_pipeline_are_one_line(body: object, message: str) -> None:
    @pipeline
    def p() -> None:
        body()  # type: ignore[operator]

    with pytest.raises(DefinitionError, match=message) as info:
        p.trace({})
    assert "\n" not in str(info.value)


def test_a_pipeline_must_call_a_step_and_take_its_arguments() -> None:
    @pipeline
    def empty() -> None:
        return None

    with pytest.raises(DefinitionError, match="calls no step"):
        empty.trace({})

    @pipeline
    def takes(n: int) -> None:
        one()

    with pytest.raises(DefinitionError, match="does not take these arguments"):
        takes.trace({"m": 1})


def test_bad_step_definitions_are_refused() -> None:
    with pytest.raises(DefinitionError, match="named"):
        step(lambda *args: None)
    with pytest.raises(DefinitionError, match="retries"):
        step(retries=-1)(lambda: None)

    def open_tuple() -> tuple[int, ...]:
        return (1,)

    with pytest.raises(DefinitionError, match="unknown length"):
        _ = step(open_tuple).outputs


def test_a_function_ref_resolves_to_the_step_and_says_when_it_cannot() -> None:
    ref = FunctionRef.of(add.func)
    assert ref.importable and ref.module == __name__
    assert resolve(ref) is add

    def local() -> None:
        return None

    assert not FunctionRef.of(local).importable


def test_the_source_hash_changes_with_the_source() -> None:
    def a() -> int:
        return 1

    def b() -> int:
        return 2

    assert step(a).source_hash != step(b).source_hash
    assert step(a).source_hash == step(a).source_hash


@pytest.mark.parametrize("bad", ["../../evil", "a/b", ".hidden", "tab\there"])
def test_a_step_name_is_a_name_like_every_other(bad: str) -> None:
    """A step's name names its log file: no path separator, no leading dot, no control
    character (the rules of every mlrig name)."""
    def work() -> int:
        return 1

    with pytest.raises(DefinitionError) as caught:
        step(name=bad)(work)
    assert "Invalid step name" in caught.value.message
    assert step(name="fine-name_2")(work).name == "fine-name_2"
