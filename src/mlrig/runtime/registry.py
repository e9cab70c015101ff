"""Which class implements which ``(component type, flavor)`` at run time.

A value is ``'module:Class'``, imported only when a run needs it. A class is built with
``Class.from_config(config, context)``: ``config`` is the component's validated config with
every secret reference already resolved by the core, ``context`` a :class:`RuntimeContext`
(whose ``references`` say which fields came from secrets: an identity, URI or message shows
those fields as the reference, see :mod:`mlrig.runtime.masking`). A flavor without an entry
here is a configuration record only: a run on a stack that uses it stops in preflight with
one line saying so.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrig.exceptions import InputError, MlrigError

IMPLEMENTATIONS: dict[tuple[str, str], str] = {
    ("orchestrator", "local"): "mlrig.runtime.orchestrators.local:LocalOrchestrator",
    ("orchestrator", "dask"): "mlrig.runtime.orchestrators.dask:DaskOrchestrator",
    ("artifact_store", "local"): "mlrig.runtime.artifact_stores.local:LocalArtifactStore",
    ("artifact_store", "s3"): "mlrig.runtime.artifact_stores.fsspec_store:S3ArtifactStore",
    ("artifact_store", "gcs"): "mlrig.runtime.artifact_stores.fsspec_store:GCSArtifactStore",
    ("artifact_store", "azure"): "mlrig.runtime.artifact_stores.fsspec_store:AzureArtifactStore",
    ("metadata_store", "sqlite"): "mlrig.runtime.metadata.sql:SQLMetadataStore",
    ("metadata_store", "mysql"): "mlrig.runtime.metadata.sql:SQLMetadataStore",
    ("metadata_store", "postgresql"): "mlrig.runtime.metadata.sql:SQLMetadataStore",
    ("secrets_manager", "local"): "mlrig.runtime.secrets_managers.local:LocalSecretsManager",
}


@dataclass(frozen=True)
class RuntimeContext:
    """What an implementation may need besides its config."""

    component_name: str
    flavor: str
    profile: str
    data_dir: Path  # the profile's own data directory (defaults go under it)
    #: config key -> the secret reference its value came from (``{{NAME.KEY}}``): what the
    #: implementation shows or records of such a field is this, never the resolved value
    references: Mapping[str, str] = field(default_factory=dict)


def local_path(raw: str, context: RuntimeContext, attribute: str, what: str) -> Path:
    """The absolute path a component's path attribute names (``~`` expanded). A relative
    one is refused in one line: a run never resolves a path against the directory it runs
    in (the same stack would use different places from different directories); ``mlrig``
    stores a relative path given to ``register``/``update`` as an absolute one, so only a
    secret's value, an imported or hand-edited config can be relative."""
    path = Path(os.path.expanduser(raw))
    if path.is_absolute():
        return path
    reference = context.references.get(attribute)
    shown = reference or raw
    kind = what.replace(" ", "_")
    if reference is not None:
        hint = "Give the secret an absolute path: run 'mlrig secret update' with it."
        library_hint = "Give the secret an absolute path: client.update_secret(...)."
    else:
        hint = (f"Run 'mlrig {what.replace(' ', '-')} update {context.component_name} "
                f"--{attribute}=/absolute/path'.")
        library_hint = (f"Call client.update_component('{kind}', '{context.component_name}'"
                        f", {{'{attribute}': '/absolute/path'}}).")
    raise InputError(
        f"The {what} '{context.component_name}' has the relative {attribute} '{shown}': "
        "mlrig does not resolve a path against the directory a run starts in.",
        hint=hint, library_hint=library_hint)


def implementation(component_type: str, flavor: str) -> Any:
    """The class for ``(component_type, flavor)``; one-line ``MlrigError`` when none."""
    target = IMPLEMENTATIONS.get((component_type, flavor))
    if target is None:
        raise MlrigError(
            f"The {component_type.replace('_', ' ')} flavor '{flavor}' is a configuration "
            "record only: mlrig cannot run pipelines with it."
        )
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
