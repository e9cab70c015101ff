"""``mlrig login [PROFILE]`` / ``mlrig logout [PROFILE]``: the credential of a rest profile."""

from __future__ import annotations

import sys
from typing import Any

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.completers import profile_names
from mlrig.cli.output import ask_secret, echo_err


@click.command()
@click.argument("profile", required=False, shell_complete=profile_names)
@click.option("--token-file", "token_file", type=click.File("r"),
              help="Read the token from this file ('-': standard input) instead of asking.")
@click.option("--user", "user", help="Log in with this user's password (a token for "
              "12 hours) instead of an API token.")
@click.option("--keyring", "keyring", is_flag=True,
              help="Keep the token in the system keyring (needs mlrig[keyring]) instead of "
              "a 0600 file in the config directory.")
@pass_state
def login(state: State, profile: str | None, token_file: Any,
          user: str | None, keyring: bool) -> None:
    """Keep a credential for a rest profile (never printed, never in config.yaml)."""
    token = password = None
    if user is not None:
        password = ask_secret("Password")
    elif token_file is not None:
        token = token_file.read(64 * 1024).strip()
    elif sys.stdin.isatty():
        token = click.prompt("Token", hide_input=True, err=True)
    else:
        token = sys.stdin.read(64 * 1024).strip()
    who = state.client.login(profile, token, user=user, password=password, keyring=keyring)
    name = profile or state.client.active_profile_name
    echo_err(f"Logged in to profile '{name}' as user '{who['user']}' (token "
             f"'{who['token']}': {', '.join(who['permissions'])}).")


@click.command()
@click.argument("profile", required=False, shell_complete=profile_names)
@pass_state
def logout(state: State, profile: str | None) -> None:
    """Forget the credential 'mlrig login' kept for a rest profile."""
    name = profile or state.client.active_profile_name
    if state.client.logout(profile):
        click.echo(f"Logged out of profile '{name}'.")
    else:
        click.echo(f"Profile '{name}' has no credential kept by 'mlrig login'.")
