"""Values to bytes and back: built-ins, a custom type, pickle refused, version warnings."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from pydantic import BaseModel

from mlrig.runtime import materializers as m
from mlrig.runtime.materializers import ArtifactVersionWarning, MaterializerError


class Point(BaseModel):
    x: int
    y: float


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value


def round_trip(value: Any, allow_pickle: bool = False) -> tuple[Any, str]:
    data, materializer = m.save(value, allow_pickle)
    loaded = m.load(data, materializer=materializer.name, data_type=m.data_type(value),
                    versions=m.versions_of(materializer), allow_pickle=allow_pickle,
                    what="artifact 'x'")
    return loaded, materializer.name


@pytest.mark.parametrize(("value", "name"), [
    ("héllo", "str"),
    (b"\x00raw", "bytes"),
    ({"a": [1, 2.5, None, True], "b": "c"}, "json"),
    ((1, "two"), "json"),
    (None, "json"),
    (Point(x=1, y=2.5), "pydantic"),
])
def test_built_ins_round_trip(value: Any, name: str) -> None:
    assert round_trip(value) == (value, name)


def test_numpy_and_pandas_round_trip_without_pickle() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    array = np.arange(12, dtype="float32").reshape(3, 4)
    loaded, name = round_trip(array)
    assert name == "numpy" and loaded.dtype == array.dtype and (loaded == array).all()
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    loaded, name = round_trip(frame)
    assert name.startswith("pandas.")
    pd.testing.assert_frame_equal(loaded, frame, check_dtype=False)
    with pytest.raises(MaterializerError, match="without pickle"):
        m.save(np.array([object()], dtype=object), False)


def test_the_same_value_gives_the_same_bytes_and_digest() -> None:
    first, _ = m.save({"k": [1, 2]}, False)
    second, _ = m.save({"k": [1, 2]}, False)
    assert m.digest_of(first) == m.digest_of(second)
    assert m.digest_of(first).startswith("sha256:")


def test_pickle_is_refused_unless_allowed_both_ways() -> None:
    with pytest.raises(MaterializerError, match="allow_pickle=True"):
        m.save(Opaque(3), False)
    data, materializer = m.save(Opaque(3), True)
    assert materializer.name == "pickle"
    with pytest.raises(MaterializerError, match="is a pickle"):
        m.load(data, materializer="pickle", data_type="x.Opaque", versions={},
               allow_pickle=False, what="artifact 'x'")
    assert m.load(data, materializer="pickle", data_type="x.Opaque", versions={},
                  allow_pickle=True, what="artifact 'x'").value == 3


class OpaqueMaterializer:
    name = "test.opaque"
    version = "2"
    types = (Opaque,)

    def save(self, value: Opaque) -> bytes:
        return str(value.value).encode()

    def load(self, data: bytes, data_type: str) -> Opaque:
        return Opaque(int(data))


def test_a_registered_materializer_handles_its_type() -> None:
    m.register(OpaqueMaterializer)
    try:
        loaded, name = round_trip(Opaque(41))
        assert name == "test.opaque" and loaded.value == 41
        assert m.for_annotation(Opaque) == "test.opaque@2"
        with pytest.raises(Exception, match="already registered"):
            m.register(type("Other", (OpaqueMaterializer,), {}))
        m.register(OpaqueMaterializer)  # the same class again (a module re-imported): fine
    finally:
        m._CUSTOM[:] = [x for x in m._CUSTOM if x.name != "test.opaque"]


def test_an_artifact_of_another_python_warns_before_loading() -> None:
    data, materializer = m.save("text", False)
    with pytest.warns(ArtifactVersionWarning, match="Python 2.7"):
        assert m.load(data, materializer="str", data_type="builtins.str",
                      versions={"python": "2.7.18"}, allow_pickle=False,
                      what="artifact 'x'") == "text"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.load(data, materializer="str", data_type="builtins.str",
               versions=m.versions_of(materializer), allow_pickle=False, what="artifact 'x'")


def test_an_unknown_materializer_name_is_one_line() -> None:
    with pytest.raises(MaterializerError, match="No materializer named 'nope'"):
        m.load(b"", materializer="nope", data_type="x", versions={}, allow_pickle=False,
               what="artifact 'x'")
