"""Authoring pipelines: ``from mlrig import step, pipeline``.

Beside ``client.py``: a pipeline called in Python runs on the active stack (or the
``stack=``/``profile=`` given in code) through the core, which resolves the stack and hands
the run to ``mlrig.runtime``.
"""
