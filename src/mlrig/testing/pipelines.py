"""Pipelines for tests: the conformance suite runs each on every orchestrator and compares
the records, and an orchestrator's author can do the same with theirs.

They live in an installed module (not a test file) so that worker processes and Dask
workers import them by name, as they would a user's package. Each takes what it needs
from parameters (a directory for the flaky step's counter), so a run is the same in any
process.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel

from mlrig.pipelines import pipeline, step


# ----------------------------------------------------------------------------- linear
@step
def make_numbers(count: int = 5) -> list[int]:
    return list(range(count))


@step
def scale(numbers: list[int], factor: float = 2.0) -> list[float]:
    return [n * factor for n in numbers]


@step
def total(values: list[float]) -> float:
    print(f"total of {len(values)} values")
    return float(sum(values))


@pipeline
def linear(count: int = 5) -> None:
    total(scale(make_numbers(count=count)))


# ----------------------------------------------------------------------------- diamond
@step
def split_words(text: str = "the quick brown fox jumps over the lazy dog") -> tuple[
    Annotated[list[str], "short"], Annotated[list[str], "long"]
]:
    words = text.split()
    return [w for w in words if len(w) <= 3], [w for w in words if len(w) > 3]


@step
def count_words(words: list[str]) -> int:
    return len(words)


@step
def upper(words: list[str]) -> str:
    return " ".join(w.upper() for w in words)


@step
def summary(short_count: int, long_text: str) -> Annotated[dict[str, Any], "report"]:
    return {"short": short_count, "long": long_text}


@pipeline
def diamond() -> None:
    short, long = split_words()
    summary(count_words(short), upper(long))


# ----------------------------------------------------------------------------- failure
class StepBroke(RuntimeError):
    pass


@step
def fine(value: int = 1) -> int:
    return value


@step
def breaks(value: int, message: str = "deliberately broken") -> int:
    print("about to break")
    raise StepBroke(message)


@step
def after_break(value: int) -> int:
    return value + 1


@step
def independent(value: int = 3) -> int:
    return value * 10


@pipeline
def failing() -> None:
    after_break(breaks(fine()))
    independent()


# ----------------------------------------------------------------------------- retries
@step(retries=2, retry_delay=0.05)
def flaky(directory: str, fail_times: int = 2) -> int:
    """Fails ``fail_times`` times (counted in a file under ``directory``), then succeeds."""
    counter = Path(directory) / "flaky-count"
    seen = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(seen + 1))
    if seen < fail_times:
        raise ConnectionError(f"attempt {seen + 1} fails")
    return seen + 1


@pipeline
def retrying(directory: str = "") -> None:
    flaky(directory=directory)


# ----------------------------------------------------------------------------- resume
@step
def gate(directory: str) -> str:
    """Fails while ``directory`` has a file ``broken`` (a test removes it, then resumes)."""
    if (Path(directory) / "broken").exists():
        raise StepBroke("the gate is closed")
    return "open"


@step
def counted(directory: str, name: str = "first") -> int:
    """Appends ``name`` to ``directory/calls`` each time it really runs."""
    with open(Path(directory) / "calls", "a") as handle:
        handle.write(name + "\n")
    return 1


@step
def finish(first: int, gate_state: str) -> str:
    return f"{first}:{gate_state}"


@pipeline
def resumable(directory: str = "") -> None:
    first = counted(directory=directory)
    finish(first, gate(directory=directory))


# ----------------------------------------------------------------------------- types
@step
def typed_values() -> tuple[
    Annotated[str, "text"], Annotated[bytes, "raw"], Annotated[dict[str, Any], "mapping"],
    Annotated[tuple[int, int], "pair"],
]:
    return "héllo", b"\x00\x01binary", {"a": [1, 2.5, None, True]}, (3, 4)


@step
def check_typed(text: str, raw: bytes, mapping: dict[str, Any], pair: tuple[int, int]) -> str:
    assert text == "héllo" and raw == b"\x00\x01binary", (text, raw)
    assert mapping == {"a": [1, 2.5, None, True]} and pair == (3, 4), (mapping, pair)
    return json.dumps([text, len(raw), mapping, list(pair)])


@pipeline
def types() -> None:
    text, raw, mapping, pair = typed_values()
    check_typed(text, raw, mapping, pair)


# ----------------------------------------------------------------------------- libraries
class Point(BaseModel):
    x: int
    label: str


@step
def library_values() -> tuple[
    Annotated[Any, "array"], Annotated[Any, "frame"], Annotated[Point, "point"]
]:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    return (np.arange(6, dtype="int64").reshape(2, 3),
            pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), Point(x=1, label="one"))


@step
def check_libraries(array: Any, frame: Any, point: Point) -> str:
    assert array.shape == (2, 3) and int(array.sum()) == 15, array
    assert list(frame["b"]) == ["x", "y"] and point == Point(x=1, label="one")
    return f"{type(array).__name__}/{type(frame).__name__}/{type(point).__name__}"


@pipeline
def libraries() -> None:
    array, frame, point = library_values()
    check_libraries(array, frame, point)


# ----------------------------------------------------------------------------- no outputs
@step
def side_effect(directory: str) -> None:
    (Path(directory) / "touched").write_text("yes")


@step
def read_back(directory: str) -> str:
    return (Path(directory) / "touched").read_text()


@pipeline
def ordered(directory: str = "") -> None:
    done = side_effect(directory=directory)
    read_back(directory=directory, after=done)


# ----------------------------------------------------------------------------- wide
@step
def noop(index: int = 0) -> None:
    return None


@pipeline
def wide(length: int = 20) -> None:
    """``length`` no-op steps, independent of each other, each with its own cache key."""
    for index in range(length):
        noop(index=index)


#: every pipeline the conformance suite runs, with the arguments it needs
#: (``{dir}`` is a fresh directory of the test)
CONFORMANCE: dict[str, tuple[Any, dict[str, str]]] = {
    "linear": (linear, {}),
    "diamond": (diamond, {}),
    "failing": (failing, {}),
    "retrying": (retrying, {"directory": "{dir}"}),
    "types": (types, {}),
    "ordered": (ordered, {"directory": "{dir}"}),
}
if all(importlib.util.find_spec(name) for name in ("numpy", "pandas")):
    CONFORMANCE["libraries"] = (libraries, {})
