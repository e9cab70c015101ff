"""The ``mlrig`` command line: a thin layer over :class:`mlrig.client.Client`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from mlrig.cli.app import run

    sys.exit(run(argv))
