"""Orchestrators: where the steps of a run execute (the engine decides when).

- ``local`` (:mod:`.local`): in the calling process, one step at a time in topological
  order; with ``parallelism: N``, independent steps at once in N worker processes.
- ``dask`` (:mod:`.dask`): each step one task on a Dask cluster (``address``), or on a
  ``distributed.LocalCluster`` started for the process when no address is given.

An implementation offers ``in_process`` (whether a step runs in the calling process, so
that its function needs not be importable by name), ``check()`` (preflight) and
``executor()`` (a context manager giving a ``concurrent.futures``-style executor, or
``None`` to run steps in the caller); see :class:`mlrig.runtime.engine.Orchestrator`.
"""
