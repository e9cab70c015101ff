"""Generate the CLI reference (docs/cli.md) from the click command tree."""

from __future__ import annotations

import inspect

import click

from mlrig.cli.app import _COMPONENT_GROUPS, cli

HEADER = """# CLI reference

Generated from the code by `python3 scripts/gen_cli_docs.py`; do not edit by hand.
Component groups (`orchestrator`, `artifact-store`, ...) all have the same commands;
`artifact-store` is shown in full, the others are listed.

"""
_SHOWN_COMPONENT = "artifact-store"


def _usage(command: click.Command, ctx: click.Context) -> str:
    pieces = command.collect_usage_pieces(ctx)
    return " ".join([ctx.command_path, *pieces])


def _options(command: click.Command, ctx: click.Context) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, text = record
        rows.append(f"| `{names}` | {text.replace('|', '/')} |")
    return rows


def _document(command: click.Command, ctx: click.Context, level: int, out: list[str]) -> None:
    out.append(f"{'#' * level} `{ctx.command_path}`\n")
    help_text = (command.help or "").strip()
    if help_text:
        out.append(inspect.cleandoc(click.unstyle(help_text)).replace("\b\n", "") + "\n")
    out.append(f"```\n{_usage(command, ctx)}\n```\n")
    rows = _options(command, ctx)
    if rows:
        out.append("| option | description |\n|---|---|")
        out.extend(rows)
        out.append("")
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = click.Context(sub, info_name=name, parent=ctx)
            if level == 2 and name in _COMPONENT_GROUPS and name != _SHOWN_COMPONENT:
                out.append(f"{'#' * (level + 1)} `{sub_ctx.command_path}`\n")
                out.append(f"Same commands as `mlrig {_SHOWN_COMPONENT}`.\n")
                continue
            _document(sub, sub_ctx, min(level + 1, 6), out)


def render() -> str:
    # the root's context settings (``-h`` for help) as when the CLI runs: click caches each
    # command's help option on first use, so the reference must not depend on whether the
    # CLI ran before in this process
    ctx = click.Context(cli, info_name="mlrig", **cli.context_settings)
    out: list[str] = [HEADER]
    _document(cli, ctx, 2, out)
    return "\n".join(out).rstrip() + "\n"
