"""The pipeline runtime: what the components of a stack *do* when a pipeline runs.

Below the core, beside ``stores/`` and ``flavors/``: this package never imports
``mlrig.core`` or ``mlrig.client``. The core resolves the active stack (and the secrets its
configs refer to) and hands this package plain configs; this package runs steps, writes
artifacts and records runs.

- ``records.py``: the records of a run (pipeline runs, step runs, artifacts) and the
  ``MetadataStore``, ``ArtifactStore`` and ``SecretsManager`` interfaces every
  implementation of those component types follows.
- one sub-package per component type, one module per flavor, looked up through
  ``registry.py`` by ``(type, flavor)`` and imported only when a run needs it.
"""
