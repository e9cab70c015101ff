"""``mlrig init`` and ``mlrig status``."""

from __future__ import annotations

from pathlib import Path

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.output import emit_data, output_option, print_status, warn


@click.command()
@click.option("--path", type=click.Path(file_okay=False, path_type=Path),
              help="Directory to initialise (default: the current directory).")
@pass_state
def init(state: State, path: Path | None) -> None:
    """Make a directory an mlrig repository with its own active profile and stack."""
    client = state.client
    client.config()
    target = (path or Path.cwd()).resolve()
    click.echo(f"Initializing mlrig repository at {target}.", err=True)
    repo, profile, stack = client.init_repository(target)
    click.echo(f"mlrig repository initialized at {repo.root}.")
    click.echo(
        f"The local active profile was initialized to '{profile.name}' and the local active "
        f"stack to '{stack.name if stack else ''}'. This local configuration will only take "
        "effect when you're running mlrig from the initialized repository root, or from a "
        "subdirectory. For more information on profile and stack configuration, please run "
        "'mlrig profile explain'."
    )


@click.command()
@output_option
@pass_state
def status(state: State, output: str) -> None:
    """Show the active profile and stack, the scope and file that chose each, and what
    they override."""
    info = state.client.status()
    if output != "table":
        emit_data(output, "status", info)
        return
    print_status(info)
    for message in info["warnings"]:
        warn(message)
