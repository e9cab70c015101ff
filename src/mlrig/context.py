"""Which profile and which stack are active, and which scope chose each.

Four scopes, the same precedence for the profile and for the stack:

    flag (--profile/--stack)  >  environment (MLRIG_ACTIVE_PROFILE/STACK)
    >  repository (.mlrig/config.yaml)  >  global (config.yaml)

The repository's stack only applies when the active profile is the repository's profile
(a repository pins a pair); the global stack is the active profile's own active stack.
Resolution never falls back silently: a name that does not exist is reported with the scope
that named it (see :func:`missing_profile_error`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from mlrig.exceptions import ScopeError

if TYPE_CHECKING:
    from collections.abc import Mapping

ENV_ACTIVE_PROFILE = "MLRIG_ACTIVE_PROFILE"
ENV_ACTIVE_STACK = "MLRIG_ACTIVE_STACK"

FLAG, ENVIRONMENT, LOCAL, GLOBAL = "flag", "environment", "local", "global"
SCOPES = (FLAG, ENVIRONMENT, LOCAL, GLOBAL)


class Setting(NamedTuple):
    """One scope's opinion: which name it sets and where that is written.

    ``scope`` is ``flag``, ``environment``, ``local`` (the repository) or ``global``;
    ``source`` is the flag, the variable or the file that sets ``name``.
    """

    scope: str
    name: str
    source: str

    def describe(self) -> str:
        return f"{self.scope} ({self.source})"


class Choice(NamedTuple):
    """The winning setting and the lower settings it overrides.

    ``name``, ``scope`` and ``source`` are those of the winning :class:`Setting`;
    ``overridden`` lists the settings of lower scopes, highest first.
    """

    name: str
    scope: str
    source: str
    overridden: tuple[Setting, ...] = ()

    @classmethod
    def from_settings(cls, settings: list[Setting]) -> Choice | None:
        if not settings:
            return None
        top, *rest = settings
        return cls(top.name, top.scope, top.source, tuple(rest))


class ScopeInputs(NamedTuple):
    """Everything resolution looks at, gathered once (the files as the paths shown)."""

    flag_profile: str | None
    flag_stack: str | None
    env: Mapping[str, str]
    repo_root: str | None
    repo_file: str | None
    repo_profile: str | None
    repo_stack: str | None
    global_file: str
    global_profile: str | None
    profile_stacks: Mapping[str, str | None]


def _settings(
    inputs: ScopeInputs,
    flag: tuple[str | None, str],
    variable: str,
    local: str | None,
    global_: tuple[str | None, str],
) -> list[Setting]:
    """The settings of the scopes that name something, highest first; ``flag`` and
    ``global_`` are (name, source) pairs, a name ``None`` or empty where the scope is silent."""
    candidates = (
        (FLAG, *flag),
        (ENVIRONMENT, inputs.env.get(variable), variable),
        (LOCAL, local if inputs.repo_file is not None else None, str(inputs.repo_file)),
        (GLOBAL, *global_),
    )
    return [Setting(scope, name, source) for scope, name, source in candidates if name]


def choice_dict(choice: Choice, exists: bool | None) -> dict[str, Any]:
    """A choice as ``mlrig status -o json`` shows it (``exists``: whether the name exists;
    ``None``: not looked up)."""
    return {
        "name": choice.name,
        "exists": exists,
        "scope": choice.scope,
        "source": choice.source,
        "overrides": [
            {"scope": s.scope, "name": s.name, "source": s.source} for s in choice.overridden
        ],
    }


def profile_settings(inputs: ScopeInputs) -> list[Setting]:
    global_ = (inputs.global_profile, str(inputs.global_file))
    return _settings(inputs, (inputs.flag_profile, "--profile"), ENV_ACTIVE_PROFILE,
                     inputs.repo_profile, global_)


def stack_settings(inputs: ScopeInputs, profile: str) -> list[Setting]:
    # a repository pins a pair: its stack counts only under its own profile
    pinned = inputs.repo_stack if inputs.repo_profile == profile else None
    own = (inputs.profile_stacks.get(profile), f"{inputs.global_file} (profile '{profile}')")
    return _settings(inputs, (inputs.flag_stack, "--stack"), ENV_ACTIVE_STACK, pinned, own)


#: per scope: how to repair it when it names a missing profile or stack, on the command line
#: and for a caller of the Python API (``{kind}``, ``{var}`` and ``{listing}`` filled in)
_FIXES = {
    FLAG: ("Pass an existing {kind} to --{kind}.",
           "Pass an existing {kind} as Client({kind}=NAME) ({listing} lists them)."),
    ENVIRONMENT: ("Unset {var} or set it to an existing {kind} ('mlrig {kind} list').",
                  "Unset {var} or set it to an existing {kind} ({listing} lists them)."),
    LOCAL: ("Run 'mlrig {kind} set NAME' in this repository to choose an existing {kind}.",
            "Call client.set_{kind}(NAME) from this repository (the Client's cwd) to "
            "choose an existing {kind}."),
    GLOBAL: ("Run 'mlrig {kind} set --global NAME' to choose an existing {kind}.",
             "Call client.set_{kind}(NAME, global_=True) to choose an existing {kind}."),
}


def _fix(kind: str, scope: str, for_library: bool) -> str:
    template = _FIXES.get(scope, _FIXES[GLOBAL])[for_library]
    var = ENV_ACTIVE_PROFILE if kind == "profile" else ENV_ACTIVE_STACK
    return template.format(kind=kind, var=var, listing=f"client.list_{kind}s()")


def fix_hint(kind: str, scope: str) -> str:
    """How to repair a scope that names a missing profile or stack, on the command line."""
    return _fix(kind, scope, for_library=False)


def fix_library_hint(kind: str, scope: str) -> str:
    """:func:`fix_hint` for a caller of the Python API (the flag scope is ``Client(...)``'s
    ``profile``/``stack`` argument)."""
    return _fix(kind, scope, for_library=True)


def missing_profile_error(choice: Choice) -> ScopeError:
    return ScopeError(
        f"The active profile '{choice.name}' set by the {choice.scope} scope "
        f"({choice.source}) does not exist.",
        hint=fix_hint("profile", choice.scope),
        library_hint=fix_library_hint("profile", choice.scope),
    )


def missing_stack_error(choice: Choice, profile: str) -> ScopeError:
    return ScopeError(
        f"The active stack '{choice.name}' set by the {choice.scope} scope "
        f"({choice.source}) does not exist in profile '{profile}'.",
        hint=fix_hint("stack", choice.scope),
        library_hint=fix_library_hint("stack", choice.scope),
    )
