"""The active stack as a pipeline run (or ``mlrig secret``, ``mlrig pipeline runs …``)
uses it: its components built into their run-time implementations (``mlrig.runtime``).

Configs reach an implementation with their secret references resolved: a string value
``{{NAME.KEY}}`` is the key ``KEY`` of the secret ``NAME`` in the stack's secrets manager.
The stored config keeps the reference; the resolved value lives only in the object built
here, for as long as the run needs it. A reference may stand in any field, not only in the
ones the flavor marks secret (an artifact store's ``path``, an ``endpoint_url``): every
resolved value is added to :attr:`RuntimeStack.masks`, and what a run prints, logs or
records passes through them (:mod:`mlrig.runtime.masking`), so it holds the reference,
never the value. The errors of a component built here are masked the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig.context import Choice
from mlrig.core.run_data import run_data_dir
from mlrig.core.session import Session
from mlrig.exceptions import InputError, NotFoundError
from mlrig.models import Component, ComponentType, Stack

if TYPE_CHECKING:
    from mlrig.runtime.masking import Masks

#: ``{{name.key}}``, the whole value (a reference is never part of a longer string)
SECRET_REFERENCE = re.compile(r"^\{\{\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*?)\.([A-Za-z0-9_\-]+)\s*\}\}$")


def secret_reference(value: object) -> tuple[str, str] | None:
    """``(secret name, key)`` when ``value`` is a secret reference, else ``None``."""
    if not isinstance(value, str):
        return None
    match = SECRET_REFERENCE.match(value.strip())
    return (match.group(1), match.group(2)) if match else None


@dataclass
class RuntimeStack:
    """One stack of one profile, with its components, ready to build implementations."""

    session: Session
    profile: str
    stack: Stack
    choice: Choice | None  # the scope that chose the stack (None: named in code)
    components: dict[ComponentType, Component]
    _built: dict[ComponentType, Any] = field(default_factory=dict)
    _masks: Masks | None = None

    @property
    def masks(self) -> Masks:
        """The secret values resolved so far, each with the reference to show instead."""
        if self._masks is None:
            from mlrig.runtime.masking import Masks

            self._masks = Masks()
        return self._masks

    @property
    def data_dir(self) -> Path:
        """Where run-time files of this profile go by default (logs, a default database)."""
        return run_data_dir(self.session.config_dir, self.profile)

    def describe_choice(self) -> str:
        """Which scope chose the stack, for one-line errors ('the stack 'x' (set by …)')."""
        if self.choice is None:
            return f"stack '{self.stack.name}' of profile '{self.profile}'"
        return (
            f"stack '{self.stack.name}' of profile '{self.profile}' "
            f"(chosen by {self.choice.source})"
        )

    def component(self, type_: ComponentType) -> Component | None:
        return self.components.get(type_)

    def resolved_config(self, component: Component) -> dict[str, Any]:
        """The component's config with every secret reference replaced by its value (each
        value is added to :attr:`masks`)."""
        from mlrig.runtime.masking import reference_text

        config = dict(component.config)
        references = {k: ref for k, v in config.items() if (ref := secret_reference(v))}
        if not references:
            return config
        if component.type is ComponentType.SECRETS_MANAGER:
            raise InputError(
                f"The secrets manager '{component.name}' cannot refer to secrets itself "
                f"(attribute '{next(iter(references))}')."
            )
        manager = self.implementation(ComponentType.SECRETS_MANAGER, purpose=component)
        for key, (name, secret_key) in references.items():
            try:
                values = manager.get(name)
            except NotFoundError:
                raise NotFoundError(
                    f"The {component.type.display_name} '{component.name}' refers to secret "
                    f"'{name}' (attribute '{key}'), which the secrets manager does not hold.",
                    hint=f"Run 'mlrig secret register {name} --{secret_key}=...'.",
                    library_hint="client.register_secret(NAME, {KEY: VALUE}) adds it.",
                ) from None
            if secret_key not in values:
                raise NotFoundError(
                    f"The secret '{name}' has no key '{secret_key}' (attribute '{key}' of the "
                    f"{component.type.display_name} '{component.name}')."
                )
            config[key] = values[secret_key]
            self.masks.add(values[secret_key], reference_text(name, secret_key))
        return config

    def references(self, component: Component) -> dict[str, str]:
        """Config key -> the reference (``{{NAME.KEY}}``) of each field that is one."""
        from mlrig.runtime.masking import reference_text

        return {key: reference_text(*ref) for key, value in component.config.items()
                if (ref := secret_reference(value))}

    def implementation(self, type_: ComponentType, purpose: Component | None = None) -> Any:
        """The run-time object of the stack's component of ``type_`` (built once)."""
        if type_ in self._built:
            return self._built[type_]
        component = self.components.get(type_)
        if component is None:
            what = (
                f"The {purpose.type.display_name} '{purpose.name}' refers to a secret, but"
                if purpose is not None else "The"
            )
            raise NotFoundError(
                f"{what} {self.describe_choice()} has no {type_.display_name}.",
                hint=f"Run 'mlrig stack update {self.stack.name} {type_.short_option} NAME'.",
                library_hint="client.update_stack(NAME, {TYPE: COMPONENT}) adds one.",
            )
        from mlrig.runtime.registry import RuntimeContext, implementation

        cls = implementation(type_.value, component.flavor)
        context = RuntimeContext(
            component_name=component.name,
            flavor=component.flavor,
            profile=self.profile,
            data_dir=self.data_dir,
            references=self.references(component),
        )
        config = self.resolved_config(component)
        try:
            built = cls.from_config(config, context)
        except Exception as exc:
            masked = self.masks.error(exc)
            if masked is exc:
                raise
            raise masked from None
        if type_ is not ComponentType.SECRETS_MANAGER:
            built = MaskedErrors(built, self.masks)
        self._built[type_] = built
        return built


class MaskedErrors:
    """An implementation whose methods' errors say no secret value of the stack (a metadata
    store whose ``host`` is a secret reference names it in its messages; an artifact store's
    file-system errors name the resolved directory). Attributes are the target's; it
    pickles with its target (a step's artifact store travels to worker processes)."""

    def __init__(self, target: Any, masks: Masks) -> None:
        self._target = target
        self._masks = masks

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_target", "_masks"):
            raise AttributeError(name)  # never asked of the target (copies, unpickling)
        found = getattr(self._target, name)
        if not callable(found):
            return found
        masks = self._masks

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return found(*args, **kwargs)
            except Exception as exc:
                masked = masks.error(exc)
                if masked is exc:
                    raise
                raise masked from None

        return call

    def __repr__(self) -> str:
        return self._masks(repr(self._target))


def runtime_stack(
    session: Session, stack: str | None = None, profile: str | None = None
) -> RuntimeStack:
    """The active stack (or ``stack`` of ``profile``), read once from its store."""
    profile_name = profile or session.active_profile_name
    choice: Choice | None = None
    if stack is None:
        choice = session.stack_choice(profile=profile_name)
        assert choice is not None  # strict: raises when no stack is chosen
        stack = choice.name
    with session.store(profile_name).read() as view:
        record = view.get_stack(stack)
        if record is None:
            raise NotFoundError(
                f"Stack '{stack}' does not exist in profile '{profile_name}'.",
                hint="Run 'mlrig stack list'.",
                library_hint="client.list_stacks() lists the stacks.",
            )
        components: dict[ComponentType, Component] = {}
        for type_, name in record.components.items():
            component = view.get_component(type_, name)
            if component is None:
                raise NotFoundError(
                    f"Stack '{stack}' refers to the {type_.display_name} '{name}', which "
                    f"does not exist in profile '{profile_name}'."
                )
            components[type_] = component
    return RuntimeStack(session, profile_name, record, choice, components)

