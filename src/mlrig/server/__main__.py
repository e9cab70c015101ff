"""``python -m mlrig.server``: one server process (what ``mlrig server up`` starts)."""

from __future__ import annotations

import argparse
import os

from mlrig.server.runner import DEFAULT_HOST, DEFAULT_PORT, serve
from mlrig.server.settings import SETTINGS_ENV


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mlrig.server")
    parser.add_argument("--settings", required=True)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--ssl-certfile")
    parser.add_argument("--ssl-keyfile")
    args = parser.parse_args()
    os.environ[SETTINGS_ENV] = args.settings
    serve(args.host, args.port, args.workers, args.ssl_certfile, args.ssl_keyfile)


if __name__ == "__main__":
    main()
