"""The Python API is documented, importable from ``mlrig``, and speaks to a library caller
in its own terms.

* ``docs/python-api.md``: the reference part is generated from the code and up to date; the
  examples of the hand-written part run, in order, in a fresh config directory.
* Every public ``Client`` method has a docstring naming its arguments.
* The errors and records are importable from ``mlrig`` (lazily: ``import mlrig`` alone does
  not load the client).
* An error's hint has a CLI form (``hint``, what ``mlrig`` prints) and a library form
  (``library_hint``, in ``str(error)``): checked through an in-process ``Client`` and
  through the real ``mlrig`` executable.
* ``list_profiles()`` and ``get_profile()`` name the same fields the same way.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import mlrig
from mlrig import apidoc
from mlrig.client import Client
from mlrig.exceptions import MlrigError

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "python-api.md"
SRC = ROOT / "src" / "mlrig"

# the parts of a hint that only make sense on the command line: a command, an option
CLI_WORDS = re.compile(r"'mlrig |(?<![\w-])--[a-z]")


def hand_written() -> str:
    return PAGE.read_text(encoding="utf-8").partition(apidoc.BEGIN)[0]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


# ---------------------------------------------------------------------------- the page
def test_the_generated_reference_is_up_to_date() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert apidoc.BEGIN in page
    assert page == apidoc.update_page(page), "run: python3 scripts/gen_api_docs.py"


def test_the_examples_run_in_order_in_a_fresh_config_dir(config_dir: Path) -> None:
    blocks = python_blocks(hand_written())
    assert len(blocks) >= 6
    assert not config_dir.exists()  # the autouse fixture's fresh MLRIG_CONFIG_PATH
    namespace: dict[str, Any] = {"__name__": "docs_python_api"}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"docs/python-api.md (example {number})", "exec")
        exec(code, namespace)  # an assertion in an example fails the test
    assert (config_dir / "config.yaml").is_file()
    assert set(Client().config().profiles) == {"default", "sandbox", "zenml", "zenml-copy"}


def test_the_reference_shows_every_public_client_member_and_export() -> None:
    reference = PAGE.read_text(encoding="utf-8").partition(apidoc.BEGIN)[2]
    for name, member in apidoc.client_members().items():
        title = f"client.{name}" if isinstance(member, property) else f"client.{name}()"
        assert f"#### `{title}`" in reference, name
    for name in mlrig.__all__:
        if name not in ("__version__", "Client"):
            assert f"`{name}`" in reference, name
    assert "ForwardRef" not in reference and "<class" not in reference


def test_the_topic_groups_name_existing_members() -> None:
    members = apidoc.client_members()
    listed = [n for _, names in apidoc.CLIENT_GROUPS for n in names]
    assert len(listed) == len(set(listed))
    assert [n for n in listed if n not in members] == []


# ---------------------------------------------------------------------------- docstrings
def test_every_public_client_member_has_a_docstring_naming_its_arguments() -> None:
    members = apidoc.client_members()
    assert {"list_profiles", "get_profile", "create_profile", "copy_stack", "import_profile",
            "migrate_profile", "active_stack_name"} <= set(members)
    undocumented, unnamed = [], []
    for name, member in members.items():
        doc = apidoc.doc_of(member)
        if len(doc) < 20:
            undocumented.append(name)
            continue
        if isinstance(member, property):
            continue
        params = list(inspect.signature(member).parameters)[1:]
        for param in params:
            if f"``{param}``" not in doc and f"    {param}:" not in doc and (
                    "Takes the arguments of" not in doc):
                unnamed.append(f"{name}({param})")
    assert undocumented == []
    assert unnamed == []
    assert apidoc.doc_of(Client)
    assert "config_path:" in apidoc.doc_of(Client.__init__)


def test_the_docstring_converter() -> None:
    doc = inspect.cleandoc("""Do a thing with :class:`~mlrig.models.Stack` and ``x``.

        More about :meth:`Client.get_profile`.

        Args:
            name: the name,
                on two lines.
            flag: a flag.

        Returns:
            What it gives.

        Raises:
            NotFoundError: when missing.
        """)
    assert apidoc.markdown(doc) == (
        "Do a thing with `Stack` and `x`.\n\n"
        "More about `get_profile()`.\n\n"
        "**Arguments**\n\n- `name`: the name, on two lines.\n- `flag`: a flag.\n\n"
        "**Returns**: What it gives.\n\n"
        "**Raises**\n\n- `NotFoundError`: when missing.")


def test_signatures_are_rendered_as_written() -> None:
    def sample(self: object, name: str, *, items: list[str] | None = None,
               flag: bool = False) -> dict[str, int]:
        return {}

    # this module has ``from __future__ import annotations``: the annotations are strings
    assert apidoc.signature(sample, "client.sample", width=120) == (
        "client.sample(name: str, *, items: list[str] | None = None, flag: bool = False) "
        "-> dict[str, int]")
    narrow = apidoc.signature(sample, "client.sample", width=20)
    assert narrow.splitlines() == [
        "client.sample(", "    name: str,", "    *,", "    items: list[str] | None = None,",
        "    flag: bool = False,", ") -> dict[str, int]"]
    assert apidoc.alias_text("TypeLike", "mlrig.models") == "ComponentType | str"


# ---------------------------------------------------------------------------- exports
ERROR_NAMES = ("MlrigError", "InputError", "UsageError", "NotFoundError", "AlreadyExistsError",
               "InUseError", "StoreError", "CorruptFileError", "LockTimeoutError", "ReadOnlyError",
               "ScopeError")
RECORD_NAMES = ("Component", "Stack", "ComponentType", "FlavorRecord", "FlavorSpec",
                "ProfileConfig", "ProfileInfo", "GlobalConfig", "Choice", "Setting",
                "Repository", "Bundle", "SetResult", "RenameResult", "MigrationResult",
                "ProfileImportPlan", "TransferPlan")


def test_the_errors_and_records_are_importable_from_mlrig() -> None:
    from mlrig import (  # noqa: F401
        AlreadyExistsError,
        Bundle,
        Choice,
        Component,
        ComponentType,
        CorruptFileError,
        FlavorRecord,
        FlavorSpec,
        GlobalConfig,
        InputError,
        InUseError,
        LockTimeoutError,
        MigrationResult,
        NotFoundError,
        ProfileConfig,
        ProfileImportPlan,
        ProfileInfo,
        ReadOnlyError,
        RenameResult,
        Repository,
        ScopeError,
        SetResult,
        Setting,
        Stack,
        StoreError,
        TransferPlan,
        UsageError,
        exceptions,
    )

    defined = [n for n, v in vars(exceptions).items()
               if isinstance(v, type) and issubclass(v, MlrigError)]
    assert sorted(defined) == sorted(ERROR_NAMES)
    for name in (*ERROR_NAMES, *RECORD_NAMES, "Client"):
        value = getattr(mlrig, name)
        assert value.__name__ == name
        assert name in mlrig.__all__
    assert sorted(mlrig.__all__) == sorted(["__version__", *mlrig._EXPORTS])
    assert set(mlrig.__all__) <= set(dir(mlrig))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        mlrig.Nope  # noqa: B018  # type: ignore[attr-defined]


def test_import_mlrig_alone_loads_neither_the_client_nor_the_stores() -> None:
    code = ("import sys, mlrig; print(sorted(m for m in sys.modules if m.startswith('mlrig')));"
            "from mlrig import Client, NotFoundError, Stack;"
            "print('mlrig.client' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    first, second = proc.stdout.splitlines()
    assert first == "['mlrig', 'mlrig._version']"  # a leaf: the version string only
    assert second == "True"


# ---------------------------------------------------------------------------- profile fields
def test_list_profiles_and_get_profile_name_the_same_fields_the_same_way() -> None:
    client = Client()
    client.create_profile("other")
    listed = {p.name: p for p in client.list_profiles()}
    shared = [f.name for f in dataclasses.fields(mlrig.ProfileConfig)
              if f.name in mlrig.ProfileInfo._fields]
    assert shared == ["name", "store_type", "store_url", "active_stack"]
    for name in ("default", "other"):
        config = client.get_profile(name)
        info = listed[name]
        assert [getattr(info, f) for f in shared] == [getattr(config, f) for f in shared]
    assert listed["default"].active and not listed["other"].active
    # the JSON form of `profile list/describe` is unchanged: the URL is under `url`
    assert client.describe_profile("other") == {
        "name": "other", "active": False, "store_type": "local",
        "url": client.get_profile("other").store_url, "active_stack": "default"}


def test_a_listing_masks_the_password_that_the_configuration_keeps() -> None:
    client = Client()
    url = "postgresql+psycopg://ml:s3cret@db.invalid/mlrig"
    config = client.config()
    config.profiles["team"] = mlrig.ProfileConfig("team", "sql", url, "default")
    client.global_file.update(lambda current: (config, None))
    assert client.get_profile("team").store_url == url
    listed = next(p for p in client.list_profiles() if p.name == "team")
    assert "s3cret" not in listed.store_url and listed.store_url.startswith(
        "postgresql+psycopg://ml:")


# ---------------------------------------------------------------------------- hints
def test_an_error_carries_a_cli_hint_and_a_library_hint() -> None:
    both = MlrigError("Profile 'x' does not exist.", hint="Run 'mlrig profile list'.",
                      library_hint="client.list_profiles() lists the profiles.")
    assert both.message == "Profile 'x' does not exist."
    assert both.hint == "Run 'mlrig profile list'."
    assert both.library_hint == "client.list_profiles() lists the profiles."
    assert str(both) == "Profile 'x' does not exist. client.list_profiles() lists the profiles."
    neutral = MlrigError("Taken.", hint="Choose a different name.")
    assert neutral.library_hint == neutral.hint
    assert str(neutral) == "Taken. Choose a different name."
    assert str(MlrigError("Bare.")) == "Bare." and MlrigError("Bare.").library_hint is None
    copied = pickle.loads(pickle.dumps(both))
    assert (str(copied), copied.hint) == (str(both), both.hint)


@dataclasses.dataclass
class HintCase:
    """One error met through the library and through the ``mlrig`` executable."""

    setup: Callable[[Client, Path], None]
    library_call: Callable[[Client, Path], object]
    client_args: dict[str, Any]
    cli_args: tuple[str, ...]
    cli_env: dict[str, str]
    error: type[MlrigError]
    library_hint: str
    cli_line: str  # what ``mlrig`` prints today, exactly


def _nothing(client: Client, tmp: Path) -> None:
    client.config()


def _exported_zenml(client: Client, tmp: Path) -> None:
    client.create_profile("zenml")
    client.export_profile("zenml", tmp / "zenml.yaml")


HINT_CASES = {
    "missing profile": HintCase(
        _nothing, lambda c, _: c.set_profile("nope"), {}, ("profile", "set", "nope"), {},
        mlrig.NotFoundError, "client.list_profiles() lists the profiles.",
        "Error: Profile 'nope' does not exist. Run 'mlrig profile list'."),
    "profile of the environment scope": HintCase(
        _nothing, lambda c, _: c.list_stacks(),
        {"env": {"MLRIG_ACTIVE_PROFILE": "ghost"}}, ("stack", "list"),
        {"MLRIG_ACTIVE_PROFILE": "ghost"}, mlrig.ScopeError,
        "Unset MLRIG_ACTIVE_PROFILE or set it to an existing profile "
        "(client.list_profiles() lists them).",
        "Error: The active profile 'ghost' set by the environment scope "
        "(MLRIG_ACTIVE_PROFILE) does not exist. Unset MLRIG_ACTIVE_PROFILE or set it to an "
        "existing profile ('mlrig profile list')."),
    "profile of the flag scope": HintCase(
        _nothing, lambda c, _: c.list_stacks(), {"profile": "ghost"},
        ("--profile", "ghost", "stack", "list"), {}, mlrig.ScopeError,
        "Pass an existing profile as Client(profile=NAME) (client.list_profiles() lists "
        "them).",
        "Error: The active profile 'ghost' set by the flag scope (--profile) does not exist. "
        "Pass an existing profile to --profile."),
    "deleting the active profile": HintCase(
        _nothing, lambda c, _: c.delete_profile("default"), {},
        ("profile", "delete", "default"), {}, mlrig.InUseError,
        "Choose another one first: client.set_profile(PROFILE, global_=True).",
        "Error: Profile 'default' cannot be deleted because it is the globally active "
        "profile (CONFIG/config.yaml). Choose another one first: "
        "'mlrig profile set --global PROFILE'."),
    "deleting the active stack": HintCase(
        _nothing, lambda c, _: c.delete_stack("default"), {},
        ("stack", "delete", "default", "-y"), {}, mlrig.InUseError,
        "Choose another one first: client.set_stack(STACK, global_=True).",
        "Error: Stack 'default' cannot be deleted because it is the active stack of profile "
        "'default' in the global configuration (CONFIG/config.yaml). Choose another one "
        "first: 'mlrig stack set --global STACK'."),
    "importing a profile whose name is taken": HintCase(
        _exported_zenml, lambda c, tmp: c.import_profile(tmp / "zenml.yaml"), {},
        ("profile", "import", "TMP/zenml.yaml"), {}, mlrig.AlreadyExistsError,
        "Give another name, or pass rename_if_exists=True to import it under a new name.",
        "Error: Profile 'zenml' already exists. Give another NAME, or use --rename to import "
        "it under a new name."),
}


@pytest.mark.parametrize("case", HINT_CASES.values(), ids=list(HINT_CASES))
def test_a_library_caller_gets_the_library_hint_and_the_cli_its_own(
        case: HintCase, config_dir: Path, tmp_path: Path, mlrig_exe: Any) -> None:
    import os

    case.setup(Client(), tmp_path)
    kwargs = dict(case.client_args)
    if "env" in kwargs:
        kwargs["env"] = {**os.environ, **kwargs["env"]}
    with pytest.raises(case.error) as caught:
        case.library_call(Client(**kwargs), tmp_path)
    error = caught.value
    assert str(error) == f"{error.message} {case.library_hint}"
    assert not CLI_WORDS.search(case.library_hint)
    assert error.hint is not None and error.hint != case.library_hint

    args = [a.replace("TMP", str(tmp_path)) for a in case.cli_args]
    result = mlrig_exe(*args, env=case.cli_env)
    assert result.exit_code == 1, result.output
    expected = case.cli_line.replace("CONFIG", str(config_dir.resolve()))
    assert result.stderr.splitlines()[-1] == expected
    assert "client." not in result.output
    assert expected == f"Error: {error.message} {error.hint}"


# ---------------------------------------------------------------------------- every hint
#: Hints in these modules still name the CLI only: other work changes them right now
#: (stack copy); they get their library form when that has landed.
PENDING: tuple[str, ...] = ()


def _static_text(node: ast.expr | None) -> Iterator[str]:
    """The literal text of a hint expression, each alternative of a conditional apart;
    ``?`` stands for what only runs know (a call, a name, a formatted value)."""
    if node is None:
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    elif isinstance(node, ast.IfExp):
        yield from _static_text(node.body)
        yield from _static_text(node.orelse)
    elif isinstance(node, ast.BinOp):
        yield "".join(_static_text(node.left)) + "".join(_static_text(node.right))
    else:
        yield "?"


def hint_calls() -> Iterator[tuple[str, int, list[str], list[str] | None]]:
    """(file, line, hint texts, library hint texts or None) of each call with ``hint=``,
    outside the CLI (which only ever speaks to the command line)."""
    for path in sorted(SRC.rglob("*.py")):
        if "cli" in path.relative_to(SRC).parts or path.name in PENDING:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if "hint" not in keywords:
                continue
            library = keywords.get("library_hint")
            yield (str(path.relative_to(ROOT)), node.lineno,
                   list(_static_text(keywords["hint"])),
                   list(_static_text(library)) if library is not None else None)


def test_every_hint_that_names_the_cli_has_a_library_form_that_does_not() -> None:
    calls = list(hint_calls())
    assert len(calls) > 25  # the scan sees the hints
    missing, wrong = [], []
    for where, line, hints, library in calls:
        names_cli = any(text == "?" or CLI_WORDS.search(text) for text in hints)
        if library is None:
            if names_cli:
                missing.append(f"{where}:{line}")
        elif any(CLI_WORDS.search(text) for text in library):
            wrong.append(f"{where}:{line}")
    assert missing == []
    assert wrong == []


def test_the_fix_hints_of_every_scope_have_both_forms() -> None:
    from mlrig import context as ctx

    for kind in ("profile", "stack"):
        for scope in ctx.SCOPES:
            cli, library = ctx.fix_hint(kind, scope), ctx.fix_library_hint(kind, scope)
            assert CLI_WORDS.search(cli) or scope == ctx.ENVIRONMENT
            assert not CLI_WORDS.search(library), library
            assert f"client.list_{kind}s()" in library or f"client.set_{kind}(" in library
