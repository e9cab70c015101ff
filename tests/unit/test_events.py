"""Events are typed, and each sentence is written once (``mlrig.events``).

* Every event class has a unique snake_case ``kind``, a level, a one-line sentence that
  names its fields, and round-trips through ``to_dict()`` (and JSON).
* The sentences are the spec's, byte for byte.
* ``Client(events=...)`` receives the objects, ``Client(on_event=...)`` the same sentences as
  lines; both at once is refused; the default is the ``mlrig`` logger; the real executable
  prints a warning event after ``Warning:``.
* Nothing in ``core/`` or ``stores/`` reports progress with a string: every progress call
  gets an event (checked on the source, with the checker itself checked on bad code).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import logging
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from mlrig import events
from mlrig.client import Client
from mlrig.events import (
    ComponentRegistered,
    DefaultProfileCreated,
    DefaultProfileCreating,
    Event,
    ProfileInitializing,
    StackHasNoComponent,
    StackRegistered,
    StackRenamed,
    StoreInitializing,
)
from mlrig.models import ComponentType
from mlrig.testing.plugin import run_mlrig

SRC = Path(__file__).resolve().parents[2] / "src" / "mlrig"
STACK = {"orchestrator": "default", "metadata_store": "default", "artifact_store": "default"}

# fields a sentence does not show as they are: the revision upgraded from (carried for a
# program), the pending operation's kind (said in words: "rename of stack ...")
UNSHOWN = {("SchemaUpgraded", "from_rev"), ("InterruptedOperationWaiting", "op")}


def all_classes() -> list[type[Event]]:
    found: list[type[Event]] = []
    todo = list(Event.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


def sample_value(cls: type[Event], name: str, hint: Any, variant: int) -> Any:
    if hint is ComponentType:
        return ComponentType.CONTAINER_REGISTRY if variant else ComponentType.ARTIFACT_STORE
    if hint is int:
        return 7 + variant
    if typing.get_origin(hint) is tuple:
        return (f"{name}-one",) if variant else (f"{name}-one", f"{name}-two")
    if name == "op":  # a pending operation's kind (intents)
        return "delete_profile" if variant else "rename_stack"
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return None if variant else f"{name}-value"
    assert hint is str, (cls, name, hint)
    return f"{name}-value"


def samples(cls: type[Event]) -> list[Event]:
    hints = typing.get_type_hints(cls)
    return [cls(**{f.name: sample_value(cls, f.name, hints[f.name], variant)
                   for f in dataclasses.fields(cls)})  # type: ignore[arg-type]
            for variant in (0, 1)]


def every_sample() -> list[Event]:
    return [event for cls in all_classes() for event in samples(cls)]


# ---------------------------------------------------------------------------- the classes
def test_every_event_class_is_registered_once_under_a_snake_case_kind() -> None:
    classes = all_classes()
    assert len(classes) >= 40
    assert sorted(events.KINDS.values(), key=lambda c: c.__name__) == classes
    assert len({cls.kind for cls in classes}) == len(classes)
    for cls in classes:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.kind), cls
        assert events.KINDS[cls.kind] is cls
        assert cls.level in (events.INFO, events.WARNING)
        assert dataclasses.is_dataclass(cls), cls
        names = {f.name for f in dataclasses.fields(cls)}
        assert not names & {"kind", "level", "message"}, cls  # to_dict's own keys
        doc = cls.__doc__ or ""
        assert doc and not doc.startswith(cls.__name__), cls  # the reference's "reported when"


def test_an_event_is_a_frozen_value_built_like_a_dataclass() -> None:
    import pickle

    renamed = StackRenamed("a", "b")
    assert renamed == StackRenamed(old="a", new="b") != StackRenamed("a", "c")
    assert renamed != events.StackRegistered("a")  # same values, another kind
    assert hash(renamed) == hash(StackRenamed("a", "b"))
    assert repr(renamed) == "StackRenamed(old='a', new='b')"
    assert dataclasses.asdict(renamed) == {"old": "a", "new": "b"}
    assert dataclasses.replace(renamed, new="c") == StackRenamed("a", "c")
    assert pickle.loads(pickle.dumps(renamed)) == renamed
    with pytest.raises(dataclasses.FrozenInstanceError):
        del renamed.old
    with pytest.raises(TypeError, match="new"):
        StackRenamed("a")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'old'"):
        StackRenamed("a", "b", old="c")  # type: ignore[misc]
    with pytest.raises(TypeError, match="2 field"):
        StackRenamed("a", "b", "c")  # type: ignore[call-arg]


def test_a_second_class_with_a_taken_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="stack_registered"):
        type("Again", (Event,), {}, kind="stack_registered")
    with pytest.raises(TypeError, match="loud"):
        type("Loud", (Event,), {}, kind="loud_thing", level="loud")
    assert "loud_thing" not in events.KINDS


@pytest.mark.parametrize("event", every_sample(), ids=repr)
def test_every_event_renders_one_line_naming_its_fields(event: Event) -> None:
    message = event.message
    assert isinstance(message, str) and message.strip() == message and message
    assert "\n" not in message
    assert not message.startswith("Warning")  # the CLI adds the prefix
    for f in dataclasses.fields(event):  # type: ignore[arg-type]
        if (type(event).__name__, f.name) in UNSHOWN:
            continue
        value = getattr(event, f.name)
        if value is None:
            continue
        if isinstance(value, ComponentType):
            assert value.value in message or value.display_name in message or (
                value.plural.replace("_", " ") in message), (event, f.name)
        elif isinstance(value, tuple):
            assert all(v in message for v in value), (event, f.name)
        elif isinstance(value, int):
            assert re.search(rf"\b({value}|{value:o})\b", message), (event, f.name)
        else:
            assert value in message, (event, f.name)


@pytest.mark.parametrize("event", every_sample(), ids=repr)
def test_every_event_round_trips_through_a_dict_and_json(event: Event) -> None:
    data = event.to_dict()
    assert data["kind"] == event.kind and data["level"] == event.level
    assert data["message"] == event.message
    assert events.from_dict(data) == event
    assert events.from_dict(json.loads(json.dumps(data))) == event
    fields = [f.name for f in dataclasses.fields(event)]  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(event, fields[0] if fields else "extra", "changed")


def test_a_pending_operation_is_named_in_words() -> None:
    assert events.InterruptedOperationWaiting("rename_profile", "a", "b", "/p/x.yaml").message \
        == ("The interrupted rename of profile 'a' to 'b' ('/p/x.yaml') cannot be finished: "
            "the configuration directory is read-only. The next command that can write "
            "finishes it.")
    assert events.operation_phrase("create_profile", "c") == "creation of profile 'c'"
    assert events.operation_phrase("grow_tree", None) == "operation 'grow_tree'"


def test_a_dict_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="no_such_kind"):
        events.from_dict({"kind": "no_such_kind"})


def test_component_types_and_tuples_are_plain_json_values() -> None:
    data = events.StackUsesComponent("dev", ComponentType.ARTIFACT_STORE, "lake").to_dict()
    assert data == {"kind": "stack_uses_component", "level": "info", "stack": "dev",
                    "type": "artifact_store", "name": "lake",
                    "message": "Stack 'dev' now uses the artifact store 'lake'."}
    kept = events.StoreKept("/data/p", ("a", "b")).to_dict()
    assert kept["profiles"] == ["a", "b"]
    assert kept["message"] == (
        "Kept the store at '/data/p' with its data: profiles 'a', 'b' use it too.")
    assert events.StoreKept("/data/p", ("a",)).message == (
        "Kept the store at '/data/p' with its data: profile 'a' uses it too.")


# ---------------------------------------------------------------------------- the sentences
def test_the_spec_sentences_are_kept_byte_for_byte() -> None:
    assert StackRegistered("custom").message == "Registered stack with name 'custom'."
    assert ProfileInitializing("zenml").message == "Initializing profile `zenml`..."
    assert StoreInitializing().message == "Initializing store..."
    assert DefaultProfileCreating().message == "Creating default profile..."
    assert DefaultProfileCreated().message == "Created and activated default profile."
    assert ComponentRegistered(ComponentType.METADATA_STORE, "default").message == (
        "Registered stack component with type 'metadata_store' and name 'default'.")


def test_the_first_run_reports_the_spec_sequence_as_events() -> None:
    received: list[Event] = []
    Client(events=received.append).config()
    assert received == [
        DefaultProfileCreating(),
        ProfileInitializing("default"),
        StoreInitializing(),
        ComponentRegistered(ComponentType.ORCHESTRATOR, "default"),
        ComponentRegistered(ComponentType.METADATA_STORE, "default"),
        ComponentRegistered(ComponentType.ARTIFACT_STORE, "default"),
        StackRegistered("default"),
        DefaultProfileCreated(),
    ]
    assert [e.message for e in received] == [  # the spec's first run, line for line
        "Creating default profile...",
        "Initializing profile `default`...",
        "Initializing store...",
        "Registered stack component with type 'orchestrator' and name 'default'.",
        "Registered stack component with type 'metadata_store' and name 'default'.",
        "Registered stack component with type 'artifact_store' and name 'default'.",
        "Registered stack with name 'default'.",
        "Created and activated default profile.",
    ]


# ---------------------------------------------------------------------------- the Client
def test_a_typed_listener_receives_the_events_with_their_fields(tmp_path: Path) -> None:
    Client(on_event=lambda level, message: None).config()
    received: list[Event] = []
    client = Client(events=received.append)
    client.register_component("artifact_store", "lake", "local", {"path": str(tmp_path)})
    client.register_stack("dev", {**STACK, "artifact_store": "lake"})
    client.rename_stack("dev", "prod")
    client.remove_stack_components("prod", ["step_operator"])
    assert received == [
        ComponentRegistered(ComponentType.ARTIFACT_STORE, "lake"),
        StackRegistered("dev"),
        StackRenamed("dev", "prod"),
        StackHasNoComponent("prod", ComponentType.STEP_OPERATOR),
    ]
    registered = received[1]
    assert isinstance(registered, StackRegistered) and registered.name == "dev"
    assert received[-1].level == events.WARNING


def test_lines_and_events_carry_the_same_sentences() -> None:
    lines: list[tuple[str, str]] = []
    objects: list[Event] = []
    Client(on_event=lambda level, message: lines.append((level, message))).config()
    Client(on_event=lambda level, message: lines.append((level, message))).register_stack(
        "one", STACK)
    Client(events=objects.append).register_stack("two", STACK)
    assert lines[-1] == ("info", "Registered stack with name 'one'.")
    assert [(e.level, e.message) for e in objects] == [
        ("info", "Registered stack with name 'two'.")]
    assert len(lines) == 9  # the first run's eight, then the stack


def test_on_event_and_events_together_are_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        Client(on_event=lambda level, message: None, events=lambda event: None)


def test_by_default_the_sentences_go_to_the_mlrig_logger(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mlrig"):
        Client().register_stack("logged", STACK)
        Client().remove_stack_components("logged", ["alerter"])
    records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert ("mlrig", logging.INFO, "Registered stack with name 'logged'.") in records
    assert ("mlrig", logging.WARNING,
            "Stack 'logged' has no alerter; nothing to remove.") in records


def test_the_executable_prints_the_sentences_of_the_events_on_stderr() -> None:
    assert run_mlrig("stack", "register", "shown", "-o", "default", "-m", "default",
                     "-a", "default").exit_code == 0
    run = run_mlrig("stack", "remove-component", "shown", "--alerter",
                    env={"NO_COLOR": "1"})
    assert run.exit_code == 0, run.stderr
    assert "Warning: Stack 'shown' has no alerter; nothing to remove.\n" in run.stderr
    assert "has no alerter" not in run.stdout
    run = run_mlrig("stack", "rename", "shown", "seen")
    assert run.exit_code == 0, run.stderr
    assert "Renamed stack 'shown' to 'seen'.\n" in run.stderr


# ---------------------------------------------------------------------------- the source
PROGRESS_CALLS = {"emit", "_emit"}
EVENT_CLASSES = {cls.__name__ for cls in events.KINDS.values()}
RETIRED_CALLS = {"say", "_say", "warn", "_warn"}


def progress_call_problems(source: str, where: str) -> list[str]:
    """Where ``source`` reports progress other than with an event object: a progress call
    (``emit``/``_emit``) whose argument is not a call of an event class, or a call of the
    retired string methods (``say``, ``warn``, ...)."""
    problems: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else "")
        if name in RETIRED_CALLS:
            problems.append(f"{where}:{node.lineno}: {name}() reports a string")
            continue
        if name not in PROGRESS_CALLS:
            continue
        args = node.args[1:] if name == "_emit" and len(node.args) == 2 else node.args
        if len(args) != 1 or node.keywords:
            problems.append(f"{where}:{node.lineno}: {name}() takes one event")
            continue
        arg = args[0]
        called = arg.func if isinstance(arg, ast.Call) else None
        cls = (called.attr if isinstance(called, ast.Attribute) else
               called.id if isinstance(called, ast.Name) else None)
        if cls not in EVENT_CLASSES:
            problems.append(f"{where}:{node.lineno}: {name}() gets "
                            f"{ast.unparse(arg)!r}, not an event")
    return problems


def test_core_and_stores_report_progress_only_with_events() -> None:
    problems: list[str] = []
    calls = 0
    for directory in (SRC / "core", SRC / "stores"):
        for path in sorted(directory.rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            problems += progress_call_problems(source, str(path.relative_to(SRC)))
            calls += source.count("emit(")
    assert problems == []
    assert calls >= 50  # the check saw the progress calls


@pytest.mark.parametrize("bad", [
    "session.emit(f'Registered stack with name {name!r}.')",
    "session.emit('Initializing store...')",
    "self._emit('Upgraded ' + url)",
    "_emit(listener, f'Finished {x}')",
    "session.emit(message)",
    "session.emit(NotAnEvent(name))",
    "session.say('Registered.')",
    "session.warn(f'{x} still names it')",
    "_say(on_event, 'Removed.')",
])
def test_the_source_check_catches_a_string(bad: str) -> None:
    assert progress_call_problems(bad, "snippet") != []


@pytest.mark.parametrize("good", [
    "session.emit(StackRegistered(name))",
    "self._emit(events.SchemaUpgraded(url, old, new))",
    "_emit(listener, events.InterruptedProfileCreationRemoved(name))",
    "raise NotFoundError(f'Stack {name!r} does not exist.')",
])
def test_the_source_check_lets_events_and_errors_pass(good: str) -> None:
    assert progress_call_problems(good, "snippet") == []
