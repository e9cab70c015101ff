"""Test helpers shipped with mlrig, for store and flavor authors and mlrig's own tests.

* :mod:`mlrig.testing.plugin` — the pytest plugin (fixtures ``mlrig_config_dir``,
  ``mlrig_client``, ``mlrig_run``), loaded by pytest through mlrig's ``pytest11`` entry point;
* :mod:`mlrig.testing.contract` — :class:`StoreContract`, the suite every store passes;
* :mod:`mlrig.testing.flavors` — :class:`FlavorContract`, the suite every flavor passes;
* :mod:`mlrig.testing.runs` — the real ``mlrig`` executable, the one-line-error check, what a
  command imports;
* :mod:`mlrig.testing.files` — snapshots of a tree and their differences ("nothing changed");
* :mod:`mlrig.testing.clients` — in-process clients whose events are collected or dropped;
* :mod:`mlrig.testing.tables` — mlrig's tables as rows of cells;
* :mod:`mlrig.testing.sql` — SQL databases (SQLite, PostgreSQL, MariaDB), an opt-in plugin;
* :mod:`mlrig.testing.hostile_fs` — read-only mounts and full disks, for real;
* :mod:`mlrig.testing.stores` — direct store access, below the rules.
"""
