"""Flavors: which flavor class a component uses, and the custom flavors a profile
registers (``<type> flavor register|delete|list``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrig.core.session import Session
from mlrig.events import (
    FlavorOverrides,
    PluginFlavorProblem,
)
from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
    InUseError,
    NotFoundError,
)
from mlrig.models import (
    ComponentType,
    FlavorRecord,
    TypeLike,
    component_type,
)
from mlrig.names import validate_name
from mlrig.stores.base import StoreView

if TYPE_CHECKING:
    from mlrig.flavors import FlavorSpec


def plugin_cache(session: Session) -> None:
    """Let the flavor registry keep the installed plugins' entry points in mlrig's cache
    directory (:func:`mlrig.environment.cache_dir`, :func:`mlrig.flavors.use_plugin_cache`):
    a cache, not configuration, so it is kept out of the configuration directory."""
    from mlrig import flavors as flavor_registry
    from mlrig.environment import cache_dir

    flavor_registry.use_plugin_cache(cache_dir(session.env) / "entry_points.json")


def flavor_spec(session: Session, view: StoreView, type_: ComponentType, flavor: str
                ) -> FlavorSpec:
    """The flavor ``flavor`` of ``type_`` as the profile sees it (not imported: a built-in
    flavor validates a config without its class, see :meth:`FlavorSpec.validate_config`)."""
    from mlrig import flavors as flavor_registry

    plugin_cache(session)
    return flavor_registry.resolve(type_, flavor, view.list_flavors(type_))


def list_flavors(session: Session, type_: TypeLike) -> list[FlavorSpec]:
    from mlrig import flavors as flavor_registry

    plugin_cache(session)

    ctype = component_type(type_)
    with session.store().read() as view:
        records = view.list_flavors(ctype)
    specs = flavor_registry.all_specs(ctype, records)
    for problem in flavor_registry.plugin_problems():
        session.emit(PluginFlavorProblem(problem))
    return specs


def register_flavor(session: Session, type_: TypeLike, source: str) -> FlavorRecord:
    from mlrig import flavors as flavor_registry

    plugin_cache(session)

    ctype = component_type(type_)
    normalized = source.strip().replace(":", ".")
    cls = flavor_registry.load_flavor_class(normalized, expected_type=ctype)
    flavor_name = validate_name("flavor", str(cls.FLAVOR))
    record = FlavorRecord(ctype, flavor_name, normalized)
    with session.store().write() as txn:
        if any(f.name == flavor_name for f in txn.list_flavors(ctype)):
            raise AlreadyExistsError(
                f"The flavor '{flavor_name}' for the component type '{ctype.value}' "
                "is already registered in this profile.",
                hint=f"Delete it first with 'mlrig {ctype.cli_name} flavor delete {flavor_name}'.",
                library_hint=f"Delete it first with client.delete_flavor("
                f"'{ctype.value}', '{flavor_name}').",
            )
        users = sorted(x.name for x in txn.list_components(ctype) if x.flavor == flavor_name)
        txn.create_flavor(record)
    if flavor_registry.is_builtin(ctype, flavor_name):
        origin = "built-in"
    elif any(s.type is ctype and s.name == flavor_name for s in flavor_registry.plugin_specs_all()):
        origin = "plugin"
    else:
        origin = ""
    if origin:
        session.emit(FlavorOverrides(ctype, flavor_name, origin, tuple(users)))
    return record


def delete_flavor(session: Session, type_: TypeLike, name: str) -> None:
    from mlrig import flavors as flavor_registry

    ctype = component_type(type_)
    with session.store().write() as txn:
        if not any(f.name == name for f in txn.list_flavors(ctype)):
            if flavor_registry.is_builtin(ctype, name):
                raise InputError(
                    f"'{name}' is a built-in flavor of {ctype.plural.replace('_', ' ')}; "
                    "only flavors registered in a profile can be deleted."
                )
            raise NotFoundError(
                f"No custom flavor '{name}' for the component type '{ctype.value}' is "
                "registered in this profile.",
                hint=f"Run 'mlrig {ctype.cli_name} flavor list'.",
                library_hint=f"client.list_flavors('{ctype.value}') lists them.",
            )
        users = sorted(x.name for x in txn.list_components(ctype) if x.flavor == name)
        if users:
            raise InUseError(
                f"The flavor '{name}' cannot be deleted: the {ctype.display_name}(s) "
                f"{', '.join(repr(u) for u in users)} use it.",
                hint=f"Delete those first ('mlrig {ctype.cli_name} delete NAME').",
                library_hint=f"Delete those first (client.delete_component("
                f"'{ctype.value}', NAME)).",
            )
        txn.delete_flavor(ctype, name)
