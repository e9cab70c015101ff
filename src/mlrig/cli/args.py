"""Parsing of free-form ``--key=value`` component attributes given on the command line."""

from __future__ import annotations

import re
from pathlib import Path

import click

from mlrig.exceptions import InputError, UsageError

_KEY = re.compile(r"^--([A-Za-z_][A-Za-z0-9_-]*)=(.*)$", re.DOTALL)
_MAX_FILE_VALUE = 1024 * 1024


def parse_attributes(args: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``("--path=/x", "--port=8080")`` -> ``{"path": "/x", "port": "8080"}``.

    A value starting with ``@`` is read from that file (``@@`` stands for a literal ``@``).
    """
    values: dict[str, str] = {}
    for arg in args:
        match = _KEY.match(arg)
        if match is None:
            # never echo what follows '=': it may be a secret given with a typo in the key
            shown = arg.split("=", 1)[0] + "=..." if "=" in arg else arg
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise UsageError(
                f"Unexpected argument {shown!r}: attributes must look like --key=value "
                '(for example --path="/data/artifacts").'
            )
        key = match.group(1).replace("-", "_")
        if key in values:
            raise UsageError(f"The attribute '{key}' is given more than once.")
        values[key] = _expand(match.group(2), key)
    return values


def _expand(value: str, key: str) -> str:
    if value.startswith("@@"):
        return value[1:]
    if not value.startswith("@"):
        return value
    path = Path(value[1:]).expanduser()
    try:
        # bounded read: a device or pipe (/dev/zero, /dev/stdin) has no meaningful size
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_VALUE + 1)
        if len(raw) > _MAX_FILE_VALUE:
            raise InputError(f"The file '{path}' given for '{key}' is larger than 1 MiB.")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"The file '{path}' given for '{key}' does not exist.") from None
    except UnicodeDecodeError:
        raise InputError(f"The file '{path}' given for '{key}' is not UTF-8 text.") from None
    except OSError as exc:
        raise InputError(f"Cannot read the file '{path}' given for '{key}': "
                         f"{exc.strerror}.") from None
    return text[:-1] if text.endswith("\n") else text


class AttributeCommand(click.Command):
    """A command taking free ``--key=value`` attributes.

    Unknown options pass through to the attributes, so click would read ``-path=x`` as the
    short flags ``-p -a -t -h ...`` and answer with the help and exit 0: a typo'd attribute
    must be a usage error instead.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:
            if arg == "--":
                break
            if arg.startswith("-") and not arg.startswith("--") and "=" in arg:
                raise UsageError(
                    f"Unexpected argument '{arg.split('=', 1)[0]}=...': attributes must look "
                    'like --key=value (for example --path="/data/artifacts").'
                )
        return super().parse_args(ctx, args)
