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


def _metavar(param: click.Parameter) -> str:
    """The placeholder of a parameter, built here rather than by click (whose help rendering
    changes between releases: the reference must not)."""
    if param.metavar:
        return param.metavar
    if isinstance(param, click.Argument):
        name = (param.name or "").upper()
        text = name if param.required else f"[{name}]"
        return f"{text}..." if param.nargs != 1 else text
    if isinstance(param.type, click.Choice):
        return "[" + "|".join(str(choice) for choice in param.type.choices) + "]"
    return param.type.name.upper()


def _usage(command: click.Command, ctx: click.Context) -> str:
    pieces = [ctx.command_path]
    if any(isinstance(p, click.Option) for p in command.get_params(ctx)):
        pieces.append("[OPTIONS]")
    pieces.extend(_metavar(p) for p in command.get_params(ctx) if isinstance(p, click.Argument))
    if isinstance(command, click.Group):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _option_names(option: click.Option) -> str:
    def ordered(names: list[str]) -> list[str]:
        return sorted(names, key=lambda n: len(n) - len(n.lstrip("-")))

    names = ", ".join(ordered(list(option.opts)))
    if option.secondary_opts:
        names += " / " + ", ".join(ordered(list(option.secondary_opts)))
    if not option.is_flag and not option.count:
        names += f" {_metavar(option)}"
    return names


def _options(command: click.Command, ctx: click.Context) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden:
            continue
        text = " ".join((param.help or "").split())
        if param.show_default and param.default is not None and not param.is_flag:
            text += f"  [default: {param.default}]"
        elif param.required:
            text += "  [required]"
        rows.append(f"| `{_option_names(param)}` | {text.replace('|', '/')} |")
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
