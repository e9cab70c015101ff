"""Test helpers shipped with mlrig, for store and flavor authors and mlrig's own tests.

* :mod:`mlrig.testing.plugin` — the pytest plugin (fixtures ``mlrig_config_dir``,
  ``mlrig_client``, ``mlrig_run``), loaded by pytest through mlrig's ``pytest11`` entry point;
* :mod:`mlrig.testing.contract` — :class:`StoreContract`, the suite every store passes;
* :mod:`mlrig.testing.flavors` — :class:`FlavorContract`, the suite every flavor passes;
* :mod:`mlrig.testing.stores` — direct store access, below the rules.
"""
