"""mlrig: ML infrastructure configuration kept in isolated profiles of stacks.

``from mlrig import Client`` gives the whole API; the CLI is a thin layer over it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mlrig.client import Client as Client

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from mlrig.client import Client

        return Client
    raise AttributeError(name)
