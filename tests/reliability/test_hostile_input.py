"""Hostile input: bad names, bad values, bad arguments, and damaged or foreign files.

Always: exit code 1 or 2, one ``Error:`` line (besides the usual banner), no traceback,
nothing changed in the config dir (file list and contents; lock files and the JSON read
caches, which hold no data of their own, are left out), and nothing written anywhere else.
The bulk is driven by hypothesis through the in-process CLI; a handful of cases run the
real executable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlrig.exceptions import MlrigError
from mlrig.models import Component, ComponentType, FlavorRecord
from mlrig.testing import files
from mlrig.testing.clients import quiet_client
from mlrig.testing.files import diff
from mlrig.testing.runs import assert_one_line_error, run_mlrig_in
from mlrig.testing.stores import store_of

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {k: v for k, v in files.snapshot(root).items() if not k.endswith(".cache.json")}


# ----------------------------------------------------------------------------- the world
@pytest.fixture
def world(tmp_path: Path, config_dir: Path, cli: Any) -> dict[str, Any]:
    """Profiles default + other, components (one with a secret), a stack, a custom flavor
    and a repository in the working directory; every command below has run once already
    (lock files and read caches exist)."""
    c = quiet_client(config_dir)
    c.config()
    c.register_component("artifact_store", "lake", "local", {"path": str(tmp_path / "lake")})
    c.register_component("metadata_store", "db", "mysql", {
        "host": "h", "database": "d", "username": "u", "password": "pw"})
    c.register_stack("dev", {"orchestrator": "default", "metadata_store": "db",
                             "artifact_store": "lake"})
    with store_of(c).write() as txn:
        txn.create_flavor(FlavorRecord(ComponentType.ARTIFACT_STORE, "mylocal",
                                       "mlrig.flavors.builtin.LocalArtifactStore"))
    c.create_profile("other")
    assert cli("init").exit_code == 0
    for args in READS:
        cli(*args)
    store_root = Path(store_of(c).root)  # type: ignore[attr-defined]
    return {"config": config_dir, "store": store_root, "root": tmp_path, "cli": cli}


READS: list[tuple[str, ...]] = [
    ("profile", "list"), ("stack", "list"), ("stack", "describe", "dev"),
    ("artifact-store", "list"), ("artifact-store", "describe", "lake"),
    ("artifact-store", "flavor", "list"), ("status",),
]


def unchanged_after(world: dict[str, Any], args: list[str], codes: tuple[int, ...] = (1, 2)
                    ) -> str:
    """Run ``args`` in-process; it must fail cleanly and change nothing anywhere."""
    before = snapshot(world["root"])
    result = world["cli"](*args)
    line = assert_one_line_error(result.exit_code, result.stdout, result.stderr, codes)
    changes = diff(before, snapshot(world["root"]))
    assert changes == [], f"{args!r} changed files: {changes}"
    return line


# ----------------------------------------------------------------------------- names
BAD_PIECES = ["/", "\\", "..", "../", "../../", "\x00", "\n", "\r", "\t", "\x1b[31m", "\x7f",
              "\x85", "\u2028", "\u202e", "\u200b", "\ufeff", "\udcff", "\ud800", ":", "*", "?",
              "|", "<", ">", '"', "\u00a0"]
FRIENDLY = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N")), max_size=8)


@st.composite
def hostile_names(draw: Any) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return str(draw(FRIENDLY) + draw(st.sampled_from(BAD_PIECES)) + draw(FRIENDLY))
    if kind == 1:  # several bad pieces and arbitrary text, including controls
        pieces = draw(st.lists(st.one_of(st.sampled_from(BAD_PIECES), st.text(max_size=4)),
                               min_size=1, max_size=5))
        return str(draw(st.sampled_from(BAD_PIECES)) + "".join(pieces))
    if kind == 2:  # too long: up to 10,000 characters
        n = draw(st.sampled_from([129, 200, 1000, 10_000]))
        return str(draw(st.sampled_from(["a", "é", "名", "🙂"])) * n)
    if kind == 3:  # dot names and blanks
        return str(draw(st.sampled_from([".", "..", ".hidden", "...", "", " ", "  x", "x  "])))
    if kind == 4:  # paths, relative and absolute
        return str(draw(st.sampled_from(["../../escape", "/tmp/escape", "a/../../b",
                                         "..\\..\\x", "~/x", "C:\\x", "profiles/../x"])))
    return str(draw(st.sampled_from(["\x00", "a\x00b", "a\nb", "a\rb", "tab\tname",
                                     "bell\x07", "esc\x1b", "zw\u200bj", "bidi\u202eevil"])))


NAME_COMMANDS: list[Callable[[str], list[str]]] = [
    lambda n: ["stack", "register", n, "-o", "default", "-m", "default", "-a", "default"],
    lambda n: ["stack", "register", "fine", "-o", n, "-m", "default", "-a", "default"],
    lambda n: ["artifact-store", "register", n, "-f", "local", "--path=/srv/x"],
    lambda n: ["metadata-store", "register", n, "-f", "sqlite", "--uri=/srv/x.db"],
    lambda n: ["profile", "create", n],
    lambda n: ["profile", "set", n],
    lambda n: ["profile", "describe", n],
    lambda n: ["profile", "delete", n, "-y"],
    lambda n: ["stack", "set", n],
    lambda n: ["stack", "describe", n],
    lambda n: ["stack", "delete", n, "-y"],
    lambda n: ["artifact-store", "describe", n],
    lambda n: ["artifact-store", "delete", n],
    lambda n: ["--profile", n, "stack", "list"],
    lambda n: ["--stack", n, "stack", "describe"],
    # lifecycle commands (a usage error while they do not exist yet)
    lambda n: ["stack", "rename", "dev", n],
    lambda n: ["stack", "copy", "dev", n],
    lambda n: ["profile", "rename", "other", n],
    lambda n: ["profile", "copy", "other", n],
    lambda n: ["artifact-store", "rename", "lake", n],
]


@SETTINGS
@given(name=hostile_names(), which=st.integers(0, len(NAME_COMMANDS) - 1))
@example(name="a" * 10_000, which=0)
@example(name="\x00", which=4)
@example(name="../../escape", which=2)
@example(name="\udcff", which=0)
def test_hostile_names_are_refused_cleanly(world: dict[str, Any], name: str, which: int
                                           ) -> None:
    args = NAME_COMMANDS[which](name)
    if name == "" and args[:2] in (["stack", "describe"], ["profile", "describe"],
                                   ["--profile", ""], ["--stack", ""]):
        # an empty name means "the active one" (or "no flag") here; reads must change nothing
        before = snapshot(world["root"])
        world["cli"](*args)
        assert diff(before, snapshot(world["root"])) == []
        return
    line = unchanged_after(world, args)
    # messages show an untrusted name escaped and bounded: no control characters, no flood
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), repr(line)
    assert len(line) < 1500


SAFE_UNUSUAL = ["café", "名前", "Ωmega", "emoji🙂", "ﬁ-ligature", "x" * 128, "a b", "é" * 100]


@pytest.mark.parametrize("name", SAFE_UNUSUAL)
def test_unusual_but_valid_names_stay_inside_their_directory(world: dict[str, Any],
                                                             name: str) -> None:
    cli = world["cli"]
    outside_before = {k: v for k, v in snapshot(world["root"]).items()
                      if not k.startswith("config")}
    result = cli("artifact-store", "register", name, "-f", "local", "--path=/srv/x")
    assert result.exit_code == 0, result.output
    assert cli("stack", "register", name, "-o", "default", "-m", "default", "-a",
               name).exit_code == 0
    listed = cli("artifact-store", "list", "-o", "json")
    assert name in listed.stdout
    files = list((world["store"] / "components" / "artifact_store").iterdir())
    assert any(f.name == f"{name}.yaml" for f in files)
    outside_after = {k: v for k, v in snapshot(world["root"]).items()
                     if not k.startswith("config")}
    assert outside_after == outside_before


# ----------------------------------------------------------------------------- values
def not_an_int(text: str) -> bool:
    return not re.fullmatch(r"\s*[+-]?\d+\s*", text)


BAD_VALUES: list[tuple[list[str], Any]] = [
    # (the register command up to the bad attribute, strategy for the bad value)
    (["metadata-store", "register", "m", "-f", "mysql", "--host=h", "--database=d",
      "--username=u", "--port="],
     st.one_of(st.text(max_size=12).filter(not_an_int),
               st.integers(max_value=0).map(str), st.integers(min_value=65536).map(str),
               st.sampled_from(['{"a": 1}', "[1, 2]", "1.5", "true", "null", "1e3", "0x10",
                                "", " "]))),
    (["step-operator", "register", "s", "-f", "local", "--max_workers="],
     st.one_of(st.text(max_size=12).filter(not_an_int), st.integers(max_value=0).map(str))),
    (["metadata-store", "register", "m", "-f", "mysql", "--database=d", "--username=u",
      "--host="], st.sampled_from(["", " ", "\t"])),
    (["artifact-store", "register", "s", "-f", "s3", "--path="],
     st.text(max_size=20).filter(lambda v: not v.startswith("s3://") or len(v) <= 5)),
    (["artifact-store", "register", "x", "-f", "local", "--path=/p", "--"],
     st.from_regex(r"[a-z_]{1,12}=.{0,8}", fullmatch=True).filter(
         lambda v: v.split("=")[0] not in ("path",))),  # unknown attribute
    (["annotator", "register", "x", "-f", "label_studio", "--port="],
     st.sampled_from(["-1", "0", "70000", "http", "{}", "[]"])),
]


@SETTINGS
@given(which=st.integers(0, len(BAD_VALUES) - 1), data=st.data())
def test_config_values_of_the_wrong_type_are_refused(world: dict[str, Any], which: int,
                                                     data: Any) -> None:
    prefix, strategy = BAD_VALUES[which]
    value = data.draw(strategy)
    if "\x00" in value:
        value = value.replace("\x00", "")
    args = [*prefix[:-1], prefix[-1] + value]
    unchanged_after(world, args)


def test_missing_required_values_are_refused(world: dict[str, Any]) -> None:
    unchanged_after(world, ["metadata-store", "register", "m", "-f", "mysql", "--host=h"])
    unchanged_after(world, ["artifact-store", "register", "m", "-f", "local"])
    unchanged_after(world, ["alerter", "register", "a", "-f", "slack"])
    unchanged_after(world, ["artifact-store", "register", "m"])  # no flavor
    unchanged_after(world, ["artifact-store", "register", "m", "-f", "nope", "--path=/p"])


_KEY = re.compile(r"^--([A-Za-z_][A-Za-z0-9_-]*)=(.*)$", re.DOTALL)


@st.composite
def malformed_attributes(draw: Any) -> list[str]:
    kind = draw(st.integers(0, 3))
    if kind == 0:  # arbitrary text that is not --key=value (and not an option of click's)
        arg = draw(st.text(min_size=1, max_size=20).filter(
            lambda a: not _KEY.match(a) and "\x00" not in a
            and not (a.startswith("-") and not a.startswith("--") and "=" not in a)))
        return [arg]
    if kind == 1:
        return [draw(st.sampled_from([
            "--=x", "---x=1", "--1abc=2", "--key", "key=value", "--ke y=v", "--ké=v",
            "-path=x", "-p=x", "-xyz=1", "path", "=", "--", "--path", "-h=1", "--k\n=v",
        ]))]
    if kind == 2:  # the same attribute twice
        return ["--path=/a", draw(st.sampled_from(["--path=/b", "--path=/a"]))]
    return [draw(st.sampled_from(["--path=@/nonexistent/file", "--path=@", "--path=@/"]))]


@SETTINGS
@given(extra=malformed_attributes())
@example(extra=["-path=x"])
@example(extra=["-h=1"])
def test_malformed_attributes_are_usage_errors(world: dict[str, Any], extra: list[str]) -> None:
    unchanged_after(world, ["artifact-store", "register", "x", "-f", "local", *extra])


def test_an_attribute_file_that_never_ends_is_refused(config_dir: Path, tmp_path: Path) -> None:
    """``--key=@FILE`` reads at most 1 MiB: /dev/zero must not hang or eat the memory."""
    assert run_mlrig_in(config_dir, "profile", "list").exit_code == 0
    before = snapshot(tmp_path)
    result = run_mlrig_in(config_dir, "artifact-store", "register", "z", "-f", "local",
                       "--path=@/dev/zero", timeout=20)
    assert_one_line_error(result.exit_code, result.stdout, result.stderr)
    assert diff(before, snapshot(tmp_path)) == []


# ----------------------------------------------------------------------------- damaged files
# which commands must read each file (and so must refuse to work when it is damaged)
def targets(world: dict[str, Any]) -> dict[str, tuple[Path, list[list[str]]]]:
    store, config = world["store"], world["config"]
    register = ["artifact-store", "register", "new", "-f", "local", "--path=/srv/new"]
    return {
        "config.yaml": (config / "config.yaml", [
            ["profile", "list"], ["stack", "list"], ["profile", "create", "p2"],
            ["stack", "set", "dev"], register, ["status"]]),
        "store.yaml": (store / "store.yaml", [
            register, ["stack", "register", "s2", "-o", "default", "-m", "default", "-a",
                       "lake"], ["stack", "delete", "dev", "-y"]]),
        "stacks.yaml": (store / "stacks.yaml", [
            ["stack", "list"], ["stack", "describe", "dev"], ["stack", "set", "dev"],
            ["stack", "register", "s2", "-o", "default", "-m", "default", "-a", "lake"],
            ["artifact-store", "delete", "lake"]]),
        "component": (store / "components" / "artifact_store" / "lake.yaml", [
            ["artifact-store", "describe", "lake"], ["artifact-store", "list"],
            ["artifact-store", "register", "lake", "-f", "local", "--path=/x"],
            ["stack", "register", "s2", "-o", "default", "-m", "default", "-a", "lake"],
            ["artifact-store", "delete", "lake"]]),
        "flavors.yaml": (store / "flavors.yaml", [
            register, ["artifact-store", "flavor", "list"]]),
        "repository": (Path.cwd() / ".mlrig" / "config.yaml", [
            ["profile", "list"], ["stack", "list"], ["stack", "set", "dev"]]),
    }


FILES = ["config.yaml", "store.yaml", "stacks.yaml", "component", "flavors.yaml", "repository"]

PYTHON_TAGS = [
    "version: 1\nx: !!python/object/apply:os.system ['touch {marker}']\n",
    "version: 1\nx: !!python/object/new:os.system ['touch {marker}']\n",
    "version: 1\nx: !!python/name:os.system\n",
    "version: 1\nx: !!python/object:mlrig.models.Stack {{name: evil}}\n",
    "!!python/object/apply:os.system ['touch {marker}']\n",
    "version: !!python/object/apply:os.getpid []\n",
]


def damaged(world: dict[str, Any], which: str, content: bytes) -> None:
    """Put ``content`` in place of one file; every command that reads it must refuse."""
    path, commands = targets(world)[which]
    original = path.read_bytes()
    path.write_bytes(content)
    try:
        for args in commands:
            unchanged_after(world, args, codes=(1,))
    finally:
        path.write_bytes(original)


@pytest.mark.parametrize("which", FILES)
@pytest.mark.parametrize("payload", range(len(PYTHON_TAGS)))
def test_python_tags_are_never_executed(world: dict[str, Any], which: str, payload: int
                                        ) -> None:
    marker = world["root"] / "pwned"
    damaged(world, which, PYTHON_TAGS[payload].format(marker=marker).encode())
    assert not marker.exists()


@pytest.mark.parametrize("which", FILES)
@pytest.mark.parametrize("content", [b"", b"\n", b"   \n", b"# only a comment\n", b"[]\n",
                                     b"version: 1\n---\nversion: 1\n", b"version: '1'\n",
                                     b"version: true\n", b"just a string\n", b"{{{{\n",
                                     b"\xff\xfe\x00\x00binary", b"\x00" * 64,
                                     b"version: 1\n\xc3\x28\n"])
def test_empty_and_garbage_files_are_refused(world: dict[str, Any], which: str,
                                             content: bytes) -> None:
    damaged(world, which, content)


@pytest.mark.parametrize("which", FILES)
def test_a_newer_format_version_is_refused(world: dict[str, Any], which: str) -> None:
    path, _ = targets(world)[which]
    data = yaml.safe_load(path.read_text())
    data["version"] = 99
    before = snapshot(world["root"])
    damaged(world, which, yaml.safe_dump(data).encode())
    assert diff(before, snapshot(world["root"])) == []
    path.write_text(yaml.safe_dump(data))
    result = world["cli"](*targets(world)[which][1][0])
    assert str(path) in result.stderr and "99" in result.stderr  # names the file, the version


@SETTINGS
@given(which=st.sampled_from(FILES), data=st.binary(min_size=1, max_size=200))
def test_binary_files_are_refused(world: dict[str, Any], which: str, data: bytes) -> None:
    damaged(world, which, b"\xff" + data)  # never valid UTF-8


@SETTINGS
@given(which=st.sampled_from(FILES), cut=st.floats(0.0, 0.999))
def test_truncated_files(world: dict[str, Any], which: str, cut: float) -> None:
    """A file cut short: if what is left is no longer a valid document, every command that
    reads it refuses and changes nothing. (A cut that happens to leave a valid document is
    indistinguishable from a hand-edited file; then the command must at least not crash.)"""
    path, commands = targets(world)[which]
    original = path.read_bytes()
    truncated = original[: int(len(original) * cut)]
    try:
        doc = yaml.safe_load(truncated.decode("utf-8"))
        looks_valid = isinstance(doc, dict) and type(doc.get("version")) is int
    except (yaml.YAMLError, UnicodeDecodeError):
        looks_valid = False
    if not looks_valid:
        damaged(world, which, truncated)
        return
    path.write_bytes(truncated)
    try:
        for args in commands:
            result = world["cli"](*args)
            assert "Traceback" not in result.output
            assert "Error: unexpected" not in result.stderr, result.stderr
    finally:
        path.write_bytes(original)


def test_a_directory_where_a_file_should_be(world: dict[str, Any]) -> None:
    stacks = world["store"] / "stacks.yaml"
    original = stacks.read_bytes()
    stacks.unlink()
    stacks.mkdir()
    try:
        unchanged_after(world, ["stack", "list"], codes=(1,))
        unchanged_after(world, ["stack", "register", "s2", "-o", "default", "-m", "default",
                                "-a", "lake"], codes=(1,))
    finally:
        stacks.rmdir()
        stacks.write_bytes(original)


# ----------------------------------------------------------------------------- the real executable
REAL_CASES: list[list[str]] = [
    ["stack", "register", "a\nb", "-o", "default", "-m", "default", "-a", "default"],
    ["artifact-store", "register", "../../escape", "-f", "local", "--path=/x"],
    ["profile", "create", "x" * 10_000],
    ["artifact-store", "register", "x", "-f", "local", "-path=/x"],
    ["metadata-store", "register", "m", "-f", "mysql", "--host=h", "--database=d",
     "--username=u", "--port=not-a-port"],
    ["stack", "register", "\udcff", "-o", "default", "-m", "default", "-a", "default"],
]


@pytest.mark.parametrize("args", REAL_CASES, ids=range(len(REAL_CASES)))
def test_real_executable_refuses_cleanly(config_dir: Path, tmp_path: Path, args: list[str]
                                         ) -> None:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    # the plugins' entry points cached (MLRIG_CACHE_PATH, also under tmp_path) before, as
    # after any earlier command that looked a flavor up: the refusal itself changes nothing
    assert run_mlrig_in(config_dir, "artifact-store", "flavor", "list").exit_code == 0
    before = snapshot(tmp_path)
    argv = [os.fsencode(a) if "\udcff" in a else a for a in args]  # an undecodable byte
    result = run_mlrig_in(config_dir, *argv)  # type: ignore[arg-type]
    assert_one_line_error(result.exit_code, result.stdout, result.stderr)
    assert diff(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("content", [b"", b"\xff\xfe binary", b"version: 1\nprofiles: [\n",
                                     b"version: 1\nx: !!python/object/apply:os.system ['id']\n",
                                     b"version: 7\nprofiles: {}\n"])
def test_real_executable_with_a_damaged_global_config(config_dir: Path, tmp_path: Path,
                                                      content: bytes) -> None:
    assert run_mlrig_in(config_dir, "stack", "list").exit_code == 0
    (config_dir / "config.yaml").write_bytes(content)
    before = snapshot(tmp_path)
    for args in (["profile", "list"], ["stack", "list"], ["profile", "create", "x"]):
        result = run_mlrig_in(config_dir, *args)
        line = assert_one_line_error(result.exit_code, result.stdout, result.stderr, codes=(1,))
        assert str(config_dir / "config.yaml") in line
    assert diff(before, snapshot(tmp_path)) == []


def test_the_store_api_refuses_a_component_name_with_a_path(world: dict[str, Any]) -> None:
    """The library path (no CLI in front) validates names too: no file outside the store."""
    c = quiet_client(world["config"])
    with pytest.raises(MlrigError, match="Invalid"), store_of(c).write() as txn:
        txn.create_component(Component(ComponentType.ARTIFACT_STORE, "../../evil", "local",
                                       {"path": "/x"}))
    assert not (world["root"] / "evil.yaml").exists()
