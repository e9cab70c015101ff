"""Options of a new ``rest`` store (``profile create/copy/import/migrate``)."""

from __future__ import annotations

from typing import Any

import click


def token_options(func: Any) -> Any:
    """``--token-env`` / ``--token-file`` / ``--ca-bundle`` / ``--timeout``: a rest store's
    credential, the CA that signed its server's certificate, the deadline of a request."""
    func = click.option("--timeout", "timeout", metavar="SECONDS",
                        help="rest store: the deadline of one request (default 5).")(func)
    func = click.option("--ca-bundle", "ca_bundle", metavar="PATH",
                        help="rest store: trust the server certificates this CA bundle "
                        "signed (a private CA).")(func)
    func = click.option("--token-file", "token_file", metavar="PATH",
                        help="rest store: read the API token from this file.")(func)
    return click.option("--token-env", "token_env", metavar="VAR",
                        help="rest store: read the API token from this environment "
                        "variable ('mlrig login' keeps one in a 0600 file instead).")(func)
