"""``mlrig server``: one store (any backend) served over HTTP to a team.

Beside the core (it never imports :mod:`mlrig.client`): :mod:`~mlrig.server.app` is the
FastAPI application, :mod:`~mlrig.server.accounts` keeps users, tokens and the audit log
*with the served store* (so that several workers and several servers on one database agree:
the server holds no state of its own), :mod:`~mlrig.server.auth` has the rules of users,
roles and tokens, :mod:`~mlrig.server.runner` starts, stops and reports a server on this host.
The client side is the ``rest`` store type (:mod:`mlrig.stores.rest`).

FastAPI, uvicorn and argon2-cffi are the ``mlrig[server]`` extra.
"""

from __future__ import annotations

from mlrig.exceptions import StoreError

EXTRA_HINT = "Install it with: pip install 'mlrig[server]'."


def require_server_libraries() -> None:
    """StoreError in one line if the server's libraries are missing."""
    import importlib.util

    missing = []
    for name in ("fastapi", "uvicorn", "argon2"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: a module blocked in sys.modules
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise StoreError(f"The mlrig server needs {', '.join(missing)}, which "
                         f"{'is' if len(missing) == 1 else 'are'} not installed.",
                         hint=EXTRA_HINT, library_hint=EXTRA_HINT)
