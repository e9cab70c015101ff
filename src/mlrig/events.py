"""How the library reports progress without printing.

The :class:`~mlrig.client.Client` calls an ``on_event(level, message)`` callback for lines such
as ``Registered stack with name 'custom'.``. The CLI prints them to stderr; library users get
them on the ``mlrig`` logger by default.
"""

from __future__ import annotations

from collections.abc import Callable

INFO, WARNING = "info", "warning"

EventSink = Callable[[str, str], None]

def log_event(level: str, message: str) -> None:
    """The default sink: the ``mlrig`` logger (imported only when used)."""
    import logging

    logging.getLogger("mlrig").log(logging.WARNING if level == WARNING else logging.INFO,
                                   message)
