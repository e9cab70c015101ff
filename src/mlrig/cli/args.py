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
    from mlrig.fsutil import read_bytes

    path = Path(value[1:]).expanduser()
    try:
        # a regular file only, bounded: a FIFO would block, a device never ends
        raw, _ = read_bytes(path, _MAX_FILE_VALUE)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"The file '{path}' given for '{key}' does not exist.") from None
    except UnicodeDecodeError:
        raise InputError(f"The file '{path}' given for '{key}' is not UTF-8 text.") from None
    except OSError as exc:
        raise InputError(f"Cannot read the file '{path}' given for '{key}': "
                         f"{exc.strerror or exc}.") from None
    return text[:-1] if text.endswith("\n") else text


class AttributeCommand(click.Command):
    """A command taking free ``--key=value`` attributes.

    Unknown options pass through to the attributes, so click would read ``-path=x`` (or
    ``-path``) as the short flags ``-p -a -t -h ...`` and answer with the help and exit 0: a
    single-dash argument that is not one of the command's own short options is a usage error
    instead (exit 2, one line).
    """

    #: what the free arguments must look like, for the usage error
    expected = 'attributes must look like --key=value (for example --path="/data/artifacts")'

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        flags, valued = self._short_options(ctx)
        for arg in args:
            if arg == "--":
                break
            if not arg.startswith("-") or arg.startswith("--") or arg == "-":
                continue
            if arg in flags or arg in valued or arg[:2] in valued:
                continue  # "-f", "-h", or a value attached to its option ("-flocal")
            # never echo what follows '=': it may be a secret given with a typo in the key
            shown = arg.split("=", 1)[0] + "=..." if "=" in arg else arg
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise UsageError(f"Unexpected argument '{shown}': {self.expected}.")
        return super().parse_args(ctx, args)

    def _short_options(self, ctx: click.Context) -> tuple[set[str], set[str]]:
        """The command's own single-dash options: flags, and options taking a value."""
        flags: set[str] = set()
        valued: set[str] = set()
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            short = {o for o in (*param.opts, *param.secondary_opts)
                     if o.startswith("-") and not o.startswith("--")}
            (flags if param.is_flag or param.count else valued).update(short)
        return flags, valued


class AttributeNamesCommand(AttributeCommand):
    """A command taking attribute *names* (``ATTRIBUTE`` or ``--ATTRIBUTE``)."""

    expected = "attributes are given as ATTRIBUTE or --ATTRIBUTE (for example --path)"
