"""Generate the reference part of ``docs/python-api.md`` from the code.

``python3 scripts/gen_api_docs.py`` rewrites what follows :data:`BEGIN` in that page;
``tests/unit/test_client.py`` checks that it is up to date. The reference shows the
public methods of :class:`~mlrig.client.Client` (grouped by topic), the errors of
:mod:`mlrig.exceptions` and the records and results exported by :mod:`mlrig`.

Nothing here depends on how another library formats things: signatures are rendered from
:func:`inspect.signature` one parameter at a time, with annotations as written in the source
(they are strings, ``from __future__ import annotations``), and docstrings — written in the
Google style (``Args:``, ``Returns:``, ``Raises:``) with reST roles — are turned into
Markdown by the small converter below.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlrig.exceptions import MlrigError

BEGIN = "<!-- BEGIN GENERATED REFERENCE (python3 scripts/gen_api_docs.py); do not edit below -->"

#: The Client's public members by topic, in the order shown; a member not listed here is
#: shown under "Other methods".
CLIENT_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Active profile and stack", (
        "profile_choice", "stack_choice", "active_profile_name", "active_stack_name",
        "config", "repository", "init_repository", "status",
    )),
    ("Profiles", (
        "list_profiles", "get_profile", "describe_profile", "create_profile", "set_profile",
        "check_profile_deletable", "delete_profile", "rename_profile", "copy_profile",
        "migrate_profile", "login", "logout",
    )),
    ("Stacks", (
        "list_stacks", "get_stack", "register_stack", "set_stack", "update_stack",
        "remove_stack_components", "rename_stack", "copy_stack", "delete_stack",
        "check_stack_exists", "check_stack_deletable",
    )),
    ("Components", (
        "list_components", "get_component", "active_component_name", "register_component",
        "update_component", "remove_component_attributes", "rename_component",
        "copy_component", "delete_component", "masked_config", "secret_fields",
    )),
    ("Flavors", (
        "list_flavors", "register_flavor", "delete_flavor", "explain_component_type",
    )),
    ("Secrets", (
        "register_secret", "get_secret", "list_secrets", "update_secret", "delete_secret",
    )),
    ("Pipeline runs", ("run_pipeline", "resume_pipeline_run")),
    ("Inspecting runs", (
        "list_pipelines", "list_pipeline_runs", "get_pipeline_run", "delete_pipeline_run",
        "get_pipeline_run_logs", "list_artifacts", "get_artifact", "explain_cache",
        "pipelines_document", "pipeline_runs_document", "pipeline_run_document",
        "artifacts_document", "artifact_document",
    )),
    ("Export and import", (
        "export_stack", "stack_bundle", "plan_stack_import", "import_stack",
        "export_profile", "profile_bundle", "plan_profile_import", "import_profile",
    )),
    ("Documents (the JSON/YAML of -o json)", (
        "stacks_document", "stack_document", "components_document", "component_document",
        "flavors_document", "active_component", "secrets_document", "secret_document",
    )),
    ("The client itself", ("config_dir", "cwd", "env", "global_file", "reads_would_write",
                           "needs_repair", "close")),
)

#: Type aliases used in the signatures, and the module that defines each.
ALIASES: tuple[tuple[str, str], ...] = (
    ("TypeLike", "mlrig.models"),
    ("SecretValues", "mlrig.core.transfer_plan"),
    ("EventSink", "mlrig.events"),
    ("Listener", "mlrig.events"),
)

_SECTIONS = {"Args:": "Arguments", "Returns:": "Returns", "Raises:": "Raises",
             "Yields:": "Yields"}
_ROLE = re.compile(r":(?:class|meth|attr|func|mod|data|exc):`~?([^`]+)`")


# ---------------------------------------------------------------------------- introspection
def client_members() -> dict[str, Any]:
    """The Client's public members (no leading underscore), by name, as defined in its
    classes (a function, a property or a static method)."""
    from mlrig.client import Client

    members: dict[str, Any] = {}
    for cls in reversed(Client.__mro__[:-1]):  # the subclass's definition wins
        for name, value in vars(cls).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (property, staticmethod, classmethod)) or inspect.isfunction(
                    value):
                members[name] = value
    return dict(sorted(members.items()))


def exported() -> dict[str, Any]:
    """What ``from mlrig import ...`` offers (but ``__version__``), by name, in the order of
    ``mlrig._EXPORTS`` (the client, the errors, the records, the results)."""
    import mlrig

    return {name: getattr(mlrig, name) for name in mlrig._EXPORTS}


def error_classes() -> list[type[MlrigError]]:
    """The error classes of :mod:`mlrig.exceptions`, in the order they are defined."""
    from mlrig import exceptions

    return [value for value in vars(exceptions).values()
            if isinstance(value, type) and issubclass(value, exceptions.MlrigError)]


def _function(member: Any) -> Callable[..., Any]:
    if isinstance(member, property):
        assert member.fget is not None
        return member.fget
    if isinstance(member, (staticmethod, classmethod)):
        func: Callable[..., Any] = member.__func__
        return func
    return member  # type: ignore[no-any-return]


def doc_of(member: Any) -> str:
    """The member's own docstring, cleaned (never one inherited from a base class)."""
    raw = _function(member).__doc__ if not isinstance(member, type) else member.__doc__
    return inspect.cleandoc(raw) if raw else ""


# ---------------------------------------------------------------------------- signatures
def _annotation(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return ""
    if isinstance(value, str):
        return value
    forward = getattr(value, "__forward_arg__", None)  # typing.NamedTuple wraps strings
    if isinstance(forward, str):
        return forward
    return getattr(value, "__name__", None) or str(value)  # only if not postponed


def _default(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def _parameter(param: inspect.Parameter) -> str:
    text = param.name
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        text = f"*{text}"
    elif param.kind is inspect.Parameter.VAR_KEYWORD:
        text = f"**{text}"
    annotation = _annotation(param.annotation)
    if annotation:
        text += f": {annotation}"
    if param.default is not inspect.Parameter.empty:
        text += f" = {_default(param.default)}" if annotation else f"={_default(param.default)}"
    return text


def signature(func: Callable[..., Any], name: str, *, skip_first: bool = True,
              width: int = 88, returns: bool = True) -> str:
    """``name(arg: type = default, *, kw: type = default) -> returned``, one parameter a line
    when it does not fit in ``width``."""
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if skip_first and params and params[0].name in ("self", "cls"):
        params = params[1:]
    parts: list[str] = []
    star_done = False
    for i, param in enumerate(params):
        if param.kind is inspect.Parameter.KEYWORD_ONLY and not star_done:
            parts.append("*")
        if param.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_POSITIONAL):
            star_done = True
        parts.append(_parameter(param))
        positional_only = param.kind is inspect.Parameter.POSITIONAL_ONLY
        if positional_only and (i + 1 == len(params) or params[i + 1].kind is not
                                inspect.Parameter.POSITIONAL_ONLY):
            parts.append("/")
    returned = _annotation(sig.return_annotation) if returns else ""
    tail = f" -> {returned}" if returned else ""
    one_line = f"{name}({', '.join(parts)}){tail}"
    if len(one_line) <= width or not parts:
        return one_line
    inner = "".join(f"    {part},\n" for part in parts)
    return f"{name}(\n{inner}){tail}"


# ---------------------------------------------------------------------------- docstrings
def inline(text: str) -> str:
    """reST inline markup to Markdown: ``code`` and :role:`target` to `code`."""
    def role(match: re.Match[str]) -> str:
        target = match.group(1)
        if match.group(0).startswith(":meth:"):
            return f"`{target.rsplit('.', 1)[-1]}()`"
        return f"`{target.rsplit('.', 1)[-1]}`"

    return _ROLE.sub(role, text).replace("``", "`")


def _items(lines: list[str]) -> Iterator[tuple[str, str]]:
    """``name: text`` entries of an Args/Raises section (continuation lines indented)."""
    name, text = "", ""
    for line in lines:
        if not line.startswith(" ") and ":" in line:
            if name:
                yield name, text
            name, _, rest = line.partition(":")
            text = rest.strip()
        else:
            text = f"{text} {line.strip()}".strip()
    if name:
        yield name, text


def markdown(doc: str) -> str:
    """A Google-style docstring as Markdown: paragraphs, then the sections as lists."""
    out: list[str] = []
    section: str | None = None
    body: list[str] = []

    def flush() -> None:
        if section is None:
            if body:
                out.append(inline("\n".join(body)).strip())
        elif section in ("Args:", "Raises:"):
            rows = [f"- `{name}`: {inline(text)}" for name, text in _items(body)]
            out.append(f"**{_SECTIONS[section]}**\n\n" + "\n".join(rows))
        else:
            text = " ".join(line.strip() for line in body)
            out.append(f"**{_SECTIONS[section]}**: {inline(text)}")
        body.clear()

    for line in doc.splitlines():
        if line.strip() in _SECTIONS and not line.startswith(" "):
            flush()
            section = line.strip()
        elif section is not None:
            if line.strip():
                body.append(line[4:] if line.startswith("    ") else line)
        elif not line.strip():
            flush()
        else:
            body.append(line)
    flush()
    return "\n\n".join(part for part in out if part)


# ---------------------------------------------------------------------------- rendering
def _member_block(title: str, code: str, doc: str, level: int) -> str:
    parts = [f"{'#' * level} `{title}`", f"```python\n{code}\n```"]
    text = markdown(doc)
    parts.append(text if text else "*(undocumented)*")
    return "\n\n".join(parts)


def _client_member(name: str, member: Any) -> str:
    func = _function(member)
    if isinstance(member, property):
        returned = _annotation(inspect.signature(func).return_annotation)
        code = f"client.{name}" + (f"  # -> {returned}" if returned else "")
        return _member_block(f"client.{name}", code, doc_of(member), 4)
    return _member_block(f"client.{name}()", signature(func, f"client.{name}"),
                         doc_of(member), 4)


def render_client() -> str:
    from mlrig.client import Client

    members = client_members()
    out = ["## `Client` reference",
           f"```python\nfrom mlrig import Client\n\n"
           f"{signature(Client.__init__, 'Client', returns=False)}\n```",
           markdown(doc_of(Client)),
           markdown(doc_of(Client.__init__))]
    shown: set[str] = set()
    for title, names in CLIENT_GROUPS:
        present = [n for n in names if n in members]
        if not present:
            continue
        out.append(f"### {title}")
        for name in present:
            out.append(_client_member(name, members[name]))
            shown.add(name)
    rest = [n for n in members if n not in shown]
    if rest:
        out.append("### Other methods")
        out.extend(_client_member(name, members[name]) for name in rest)
    return "\n\n".join(out)


def render_errors() -> str:
    from mlrig.exceptions import MlrigError

    base = MlrigError
    out = ["## Errors",
           "Every error mlrig raises on purpose is a `MlrigError`; all of them can be imported "
           "from `mlrig`.",
           f"```python\n{signature(base.__init__, 'MlrigError', returns=False)}\n```",
           markdown(doc_of(base)),
           "\n".join(_class_members(base))]
    rows = ["| error | is a | exit code of `mlrig` | raised when |", "|---|---|---|---|"]
    for cls in error_classes():
        parent = cls.__bases__[0].__name__ if cls is not base else "Exception"
        summary = inline(doc_of(cls).split("\n\n", 1)[0].replace("\n", " "))
        rows.append(f"| `{cls.__name__}` | `{parent}` | {cls.exit_code} | {_cell(summary)} |")
    out.append("\n".join(rows))
    return "\n\n".join(out)


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a ``|``, even in code, would end the cell)."""
    return text.replace("|", "\\|")


def _fields(cls: type) -> list[tuple[str, str, str]]:
    """(name, type as written, default) of a dataclass or a NamedTuple."""
    if dataclasses.is_dataclass(cls):
        rows = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = _default(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                default = f"{getattr(f.default_factory, '__name__', 'factory')}()"
            else:
                default = ""
            rows.append((f.name, _annotation(f.type), default))
        return rows
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        defaults: dict[str, Any] = getattr(cls, "_field_defaults", {})
        annotations: dict[str, Any] = cls.__annotations__
        return [(n, _annotation(annotations.get(n, inspect.Parameter.empty)),
                 _default(defaults[n]) if n in defaults else "")
                for n in cls._fields]
    return []


def _class_members(cls: type) -> list[str]:
    rows = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            returned = _annotation(inspect.signature(_function(value)).return_annotation)
            code = f"{name}" + (f": {returned}" if returned else "")
            kind = "property"
        elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
            code = signature(_function(value), name, skip_first=not isinstance(
                value, staticmethod), width=200)
            kind = "classmethod" if isinstance(value, classmethod) else "method"
        else:
            continue
        summary = inline(doc_of(value).split("\n\n", 1)[0].replace("\n", " "))
        rows.append(f"- {kind} `{code}`" + (f": {summary}" if summary else ""))
    return rows


def render_function(name: str, func: Any) -> str:
    """A function exported by ``mlrig`` (the decorators ``step`` and ``pipeline``)."""
    code = signature(_function(func), name)
    return "\n\n".join([f"### `{name}`", f"```python\n{code}\n```",
                        f"*function, `from mlrig import {name}`*", markdown(doc_of(func))])


def render_class(name: str, cls: type) -> str:
    out = [f"### `{name}`"]
    if not dataclasses.is_dataclass(cls) and not issubclass(cls, (tuple, enum.Enum)):
        out.append(f"```python\n{signature(cls.__init__, name, returns=False)}\n```")
    kind = ("enum" if issubclass(cls, enum.Enum) else "dataclass"
            if dataclasses.is_dataclass(cls) else "NamedTuple"
            if issubclass(cls, tuple) else "class")
    out.append(f"*{kind}, `from mlrig import {name}`*")
    text = markdown(doc_of(cls))
    if text:
        out.append(text)
    if issubclass(cls, enum.Enum):
        rows = [f"| `{m.name}` | `{m.value!r}` |" for m in cls]
        out.append("| member | value |\n|---|---|\n" + "\n".join(rows))
    fields = _fields(cls)
    if fields:
        rows = [f"| `{n}` | {_cell(f'`{t}`')} | {_cell(f'`{d}`') if d else ''} |"
                for n, t, d in fields]
        out.append("| field | type | default |\n|---|---|---|\n" + "\n".join(rows))
    members = _class_members(cls)
    if members:
        out.append("\n".join(members))
    return "\n\n".join(out)


def alias_text(name: str, module: str) -> str:
    """The right-hand side of ``name = ...`` in the module's source, as written."""
    source = inspect.getsource(importlib.import_module(module))
    for node in ast.parse(source).body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            assert isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
            text = ast.get_source_segment(source, node.value)
            assert text is not None
            return " ".join(text.split())
    raise LookupError(f"{module} does not define {name}")


def render_aliases() -> str:
    rows = [f"| `{name}` | {_cell(f'`{alias_text(name, module)}`')} |"
            for name, module in ALIASES]
    return ("### Type names in the signatures\n\n| name | means |\n|---|---|\n"
            + "\n".join(rows))


def render_records() -> str:
    from mlrig.client import Client
    from mlrig.exceptions import MlrigError

    out = ["## Records and results",
           "What the methods take and return; all of them can be imported from `mlrig`.",
           render_aliases()]
    for name, value in exported().items():
        if value is Client or (isinstance(value, type) and issubclass(value, MlrigError)):
            continue
        if not isinstance(value, type):  # a decorator (step, pipeline)
            out.append(render_function(name, value))
            continue
        out.append(render_class(name, value))
    return "\n\n".join(out)


def render_events() -> str:
    """The event classes of :mod:`mlrig.events` (what ``Client(events=...)`` receives)."""
    from mlrig import events

    out = ["## Events",
           inline(doc_of(events).split("\n\n", 1)[0].replace("\n", " ")),
           "Every event is a frozen dataclass (`from mlrig.events import StackRegistered`) "
           "with the class attributes `kind` (stable, snake_case) and `level` (`info` or "
           "`warning`) and these members; `mlrig.events.from_dict(data)` turns what "
           "`to_dict()` wrote back into the event.",
           "\n".join(_class_members(events.Event))]
    rows = ["| kind | class | level | fields | reported when |", "|---|---|---|---|---|"]
    for kind, cls in events.KINDS.items():
        fields = ", ".join(f"`{n}: {t}`" for n, t, _ in _fields(cls))
        doc = doc_of(cls)
        if doc.startswith(f"{cls.__name__}("):  # dataclass's own: the signature
            doc = ""
        summary = inline(doc.split("\n\n", 1)[0].replace("\n", " "))
        rows.append(f"| `{kind}` | `{cls.__name__}` | {cls.level} | {_cell(fields)} | "
                    f"{_cell(summary)} |")
    out.append("\n".join(rows))
    return "\n\n".join(out)


def render() -> str:
    """The generated reference: :data:`BEGIN` and all that follows it in the page."""
    importlib.import_module("mlrig.client")
    parts = [BEGIN, render_client(), render_errors(), render_records(), render_events()]
    return "\n\n".join(parts).rstrip() + "\n"


def update_page(page: str) -> str:
    """The page with its generated part (from :data:`BEGIN` on) replaced by :func:`render`."""
    head, found, _ = page.partition(BEGIN)
    if not found:
        raise ValueError(f"the page has no line {BEGIN!r}")
    return head + render()
