"""The components mlrig creates for every new profile, and how to recognise them later.

A new profile gets a ``default`` stack of three components named ``default``:

* a ``local`` orchestrator, with no configuration;
* a ``sqlite`` metadata store whose database is ``<config>/local_stores/<id>/metadata.db``;
* a ``local`` artifact store in the directory ``<config>/local_stores/<id>``;

``<id>`` being the component's own id. So the two stores of every profile have paths of their
own, and the same-named defaults of two profiles are never identical.

:func:`is_profile_default` recognises such a component by comparison, without a marker in the
store: it is named ``default``, has the flavor mlrig gives it and exactly the configuration
mlrig creates for *its id*. The directory above ``local_stores`` is not compared: a store can
be used with another configuration directory than the one that created it (``profile create
--url``, another ``MLRIG_CONFIG_PATH``, a bundle from another machine). A default whose
configuration was changed since (``update``) is not one any more, nor is a component
registered as ``default`` by hand or made with ``<type> copy``: its id is new, so the paths
are not its own. A ``profile copy`` keeps the ids, so the copy's defaults are still
recognised (and still use the source profile's files).

Copies and imports between profiles use this to give a stack the target profile's own
defaults instead of the source's (see :mod:`mlrig.core.transfer_plan`).
"""

from __future__ import annotations

import re
from pathlib import Path

from mlrig.models import Component, ComponentType, new_id

DEFAULT = "default"
LOCAL_STORES = "local_stores"
METADATA_FILE = "metadata.db"

# the flavor of each component mlrig creates for a new profile
DEFAULT_FLAVORS: dict[ComponentType, str] = {
    ComponentType.ORCHESTRATOR: "local",
    ComponentType.METADATA_STORE: "sqlite",
    ComponentType.ARTIFACT_STORE: "local",
}

_SEPARATORS = re.compile(r"[\\/]+")


def new_default_components(config_dir: Path) -> tuple[Component, Component, Component]:
    """The orchestrator, metadata store and artifact store of a new profile's default
    stack, with new ids (their directories are not created here)."""
    metadata_id, artifact_id = new_id(), new_id()
    stores = config_dir / LOCAL_STORES
    return (
        Component(ComponentType.ORCHESTRATOR, DEFAULT,
                  DEFAULT_FLAVORS[ComponentType.ORCHESTRATOR], {}),
        Component(ComponentType.METADATA_STORE, DEFAULT,
                  DEFAULT_FLAVORS[ComponentType.METADATA_STORE],
                  {"uri": str(stores / metadata_id / METADATA_FILE)}, id=metadata_id),
        Component(ComponentType.ARTIFACT_STORE, DEFAULT,
                  DEFAULT_FLAVORS[ComponentType.ARTIFACT_STORE],
                  {"path": str(stores / artifact_id)}, id=artifact_id),
    )


def is_profile_default(component: Component) -> bool:
    """Whether ``component`` is a default component exactly as mlrig created it for its
    profile (see the module docstring)."""
    if component.name != DEFAULT or DEFAULT_FLAVORS.get(component.type) != component.flavor:
        return False
    if component.type is ComponentType.ORCHESTRATOR:
        return component.config == {}
    tail: tuple[str, ...]
    if component.type is ComponentType.METADATA_STORE:
        key, tail = "uri", (LOCAL_STORES, component.id, METADATA_FILE)
    else:
        key, tail = "path", (LOCAL_STORES, component.id)
    if set(component.config) != {key}:
        return False
    value = component.config[key]
    if not isinstance(value, str) or not component.id:
        return False
    parts = [p for p in _SEPARATORS.split(value) if p]
    return len(parts) > len(tail) and tuple(parts[-len(tail):]) == tail


def local_paths(component: Component) -> list[Path]:
    """The directories a default metadata or artifact store keeps its files in."""
    if component.type is ComponentType.METADATA_STORE:
        return [Path(str(component.config["uri"])).parent]
    if component.type is ComponentType.ARTIFACT_STORE:
        return [Path(str(component.config["path"]))]
    return []
