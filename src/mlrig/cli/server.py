"""``mlrig server ...``: serve one store to a team over HTTP (``mlrig[server]``).

``up/down/status/logs`` manage the server of this config dir (its files are in
``<config dir>/server/``). ``user``, ``token`` and ``audit`` work directly on the store
being served on this host (file-system access to the store is the trust boundary, as with a
database's own admin tools), or on the store ``--store`` names.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.output import echo_err, emit_data, output_option, print_table
from mlrig.exceptions import InputError, StoreError


def _libraries() -> None:
    from mlrig.server import require_server_libraries

    require_server_libraries()


@click.group()
def server() -> None:
    """Serve one store to a team over HTTP: users, roles, tokens, audit."""


def _settings(state: State, store: str | None, profile: str | None) -> Any:
    from mlrig.server.runner import store_of_url
    from mlrig.server.settings import ServerSettings

    if store and profile:
        raise InputError("Give --store or --profile, not both.")
    if store:
        store_type, url = store_of_url(store)
        return ServerSettings(store_type, url)
    info = state.client.get_profile(profile)
    if info.store_type == "rest":
        raise InputError(f"Profile '{info.name}' is itself served by a server; serve its "
                         "server's store there.")
    return ServerSettings(info.store_type, info.store_url, dict(info.options))


def _config_dir(state: State) -> Path:
    return state.client.config_dir


@server.command("up")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this host only).")
@click.option("--port", default=8237, show_default=True, type=click.IntRange(1, 65535))
@click.option("--store", "store", metavar="URL",
              help="Serve this store (a path, file:// or database URL).")
@click.option("--profile", "profile", metavar="PROFILE",
              help="Serve this profile's store (default: the active profile's).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--foreground", is_flag=True, help="Run in this process (containers, systemd).")
@click.option("--ssl-certfile", metavar="FILE", help="Serve HTTPS with this certificate.")
@click.option("--ssl-keyfile", metavar="FILE", help="The certificate's private key.")
@pass_state
def up(state: State, *, host: str, port: int, store: str | None, profile: str | None,
       workers: int, foreground: bool, ssl_certfile: str | None,
       ssl_keyfile: str | None) -> None:
    """Start the server (in the background unless --foreground)."""
    _libraries()
    from mlrig.server import runner
    from mlrig.stores import mask_url

    settings = _settings(state, store, profile)
    config_dir = _config_dir(state)
    if foreground:
        def ready(url: str, token: str | None) -> None:
            _show_admin_token(token)
            echo_err(f"Serving {mask_url(settings.store_url)} at {url}.")

        runner.foreground(config_dir, settings, host=host, port=port, workers=workers,
                          certfile=ssl_certfile, keyfile=ssl_keyfile, on_ready=ready)
        return
    started = runner.up(config_dir, settings, host=host, port=port, workers=workers,
                        certfile=ssl_certfile, keyfile=ssl_keyfile)
    _show_admin_token(started.admin_token)
    click.echo(f"The mlrig server serves {started.store} at {started.url} (pid {started.pid}).")


def _show_admin_token(token: str | None) -> None:
    if token is None:
        return
    echo_err("Created the user 'admin' and its first token, shown only this once (keep it "
             "safe; 'mlrig server token create' makes more):")
    click.echo(token)


@server.command("down")
@pass_state
def down(state: State) -> None:
    """Stop the server of this config dir."""
    from mlrig.server import runner

    stopped = runner.down(_config_dir(state))
    click.echo(f"Stopped the mlrig server at {stopped.url} (pid {stopped.pid}).")


@server.command("status")
@output_option
@pass_state
def status(state: State, output: str) -> None:
    """Show the server of this config dir: URL, pid, store, uptime, health."""
    from mlrig.server import runner

    info = runner.status(_config_dir(state))
    if output != "table":
        emit_data(output, "server", info)
        return
    if not info["running"]:
        click.echo("No mlrig server runs from this config dir.")
        sys.exit(1)
    print_table(["URL", "PID", "STORE", "UPTIME", "HEALTH"],
                [[info["url"], str(info["pid"]), info["store"],
                  f"{info['uptime_seconds']:.0f}s", info["health"]]])


@server.command("logs")
@click.option("--lines", "-n", default=50, show_default=True, type=click.IntRange(1))
@pass_state
def logs(state: State, lines: int) -> None:
    """Print the end of the server's log."""
    from mlrig.server import runner

    path = runner.log_file(_config_dir(state))
    if not path.exists():
        raise InputError(f"There is no server log at '{path}'.")
    for line in runner.tail(path, lines):
        click.echo(line)


# -- accounts, directly on the served store --------------------------------------------------
def _accounts(state: State, store: str | None) -> Any:
    _libraries()
    from mlrig.server import runner
    from mlrig.server.accounts import open_accounts
    from mlrig.server.settings import ServerSettings

    if store:
        store_type, url = runner.store_of_url(store)
        return open_accounts(store_type, url)
    path = runner.settings_file(_config_dir(state))
    if not path.exists():
        raise InputError("No server was started from this config dir; name its store with "
                         "--store URL.")
    settings = ServerSettings.from_file(path)
    return open_accounts(settings.store_type, settings.store_url, settings.options)


store_option = click.option("--store", "store", metavar="URL",
                            help="The served store (default: that of this host's server).")
via_option = click.option("--via", "via", metavar="PROFILE",
                          help="From another host: through the API of the server behind this "
                          "rest profile, with its (admin) token.")


def _api(state: State, via: str) -> Any:
    from mlrig.stores.rest import RestStore

    profile = state.client.get_profile(via)
    if profile.store_type != "rest":
        raise InputError(f"Profile '{via}' has a {profile.store_type} store; --via needs a "
                         "profile of store type 'rest'.")
    return RestStore(profile.store_url, profile.options, env=state.client.env,
                     on_event=lambda level, message: echo_err(message))


def _remote(state: State, via: str, method: str, path: str, body: Any = None) -> Any:
    store = _api(state, via)
    try:
        return store.call(method, path, body)
    finally:
        store.close()


def _listing(state: State, store: str | None, via: str | None, what: str) -> list[Any]:
    """The users or tokens: through the API of profile ``via``, else from this host's store."""
    if via:
        return list(_remote(state, via, "GET", f"/{what}")[what])
    from mlrig.server import auth

    accounts = _accounts(state, store)
    try:
        listed = auth.list_users if what == "users" else auth.list_tokens
        return list(listed(accounts.load()))
    finally:
        accounts.close()


def _record(accounts: Any, action: str, key: str, after: Any) -> None:
    from mlrig.server.accounts import local_admin, record_admin

    record_admin(accounts, local_admin(), "-", action, key=key, after=after)


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@server.group("user")
def user() -> None:
    """Users of the server: create, list, delete, set-role."""


@user.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "editor", "admin"]), default="viewer",
              show_default=True)
@click.option("--password", "with_password", is_flag=True,
              help="Ask for a password (for 'mlrig login --user').")
@click.option("--secrets", "secrets_", is_flag=True,
              help="The user may be given tokens that read secret values.")
@store_option
@via_option
@output_option
@pass_state
def user_create(state: State, name: str, *, role: str, with_password: bool, secrets_: bool,
                store: str | None, via: str | None, output: str) -> None:
    """Create a user."""
    password = None
    if with_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                                err=True)
    if via:
        entry = _remote(state, via, "POST", "/users", {
            "name": name, "role": role, "password": password, "secrets": secrets_})["user"]
    else:
        from mlrig.server import auth

        accounts = _accounts(state, store)
        try:
            entry = accounts.update(lambda doc: auth.create_user(doc, name, role, password,
                                                                 secrets_))
            _record(accounts, "create_user", f"user:{name}", entry)
        finally:
            accounts.close()
    if output != "table":
        emit_data(output, "user", entry)
        return
    click.echo(f"Created user '{name}' with the role '{role}'.")


@user.command("list")
@store_option
@via_option
@output_option
@pass_state
def user_list(state: State, store: str | None, via: str | None, output: str) -> None:
    """List the users."""
    users = _listing(state, store, via, "users")
    if output != "table":
        emit_data(output, "users", users)
        return
    print_table(["USER", "ROLE", "SECRETS", "PASSWORD", "CREATED"],
                [[u["name"], u["role"], "yes" if u["secrets"] else "no",
                  "yes" if u["password"] else "no", u["created"]] for u in users])


@user.command("delete")
@click.argument("name")
@store_option
@via_option
@pass_state
def user_delete(state: State, name: str, store: str | None, via: str | None) -> None:
    """Delete a user (its tokens are revoked)."""
    if via:
        _remote(state, via, "DELETE", f"/users/{_quoted(name)}")
    else:
        from mlrig.server import auth

        accounts = _accounts(state, store)
        try:
            accounts.update(lambda doc: auth.delete_user(doc, name))
            _record(accounts, "delete_user", f"user:{name}", None)
        finally:
            accounts.close()
    click.echo(f"Deleted user '{name}' and revoked its tokens.")


@user.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["viewer", "editor", "admin"]))
@store_option
@via_option
@pass_state
def user_set_role(state: State, name: str, role: str, store: str | None,
                  via: str | None) -> None:
    """Change a user's role (its tokens never exceed it)."""
    if via:
        _remote(state, via, "PUT", f"/users/{_quoted(name)}/role", {"role": role})
    else:
        from mlrig.server import auth

        accounts = _accounts(state, store)
        try:
            entry = accounts.update(lambda doc: auth.set_role(doc, name, role))
            _record(accounts, "set_role", f"user:{name}", entry)
        finally:
            accounts.close()
    click.echo(f"User '{name}' now has the role '{role}'.")


@server.group("token")
def token() -> None:
    """API tokens: create (shown once), list, revoke."""


@token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "editor", "admin"]),
              help="The token's role (default: its user's).")
@click.option("--user", "user_name", default="admin", show_default=True,
              help="The user the token acts for (created with the role if missing).")
@click.option("--expires", metavar="DURATION", help="Expire after e.g. 30d, 12h, 15m.")
@click.option("--secrets", "secrets_", is_flag=True,
              help="The token may read secret values (its user must be allowed to).")
@store_option
@via_option
@output_option
@pass_state
def token_create(state: State, name: str, *, role: str | None, user_name: str,
                 expires: str | None, secrets_: bool, store: str | None, via: str | None,
                 output: str) -> None:
    """Create a token and print it, once (the user is created with the role if missing;
    through --via the user must exist)."""
    if via:
        entry = _remote(state, via, "POST", "/tokens", {
            "name": name, "user": user_name, "role": role, "expires": expires,
            "secrets": secrets_})["token"]
        value = str(entry.pop("token"))
    else:
        from mlrig.server import auth

        duration = auth.parse_duration(expires) if expires else None

        def change(doc: dict[str, Any]) -> auth.NewToken:
            if user_name not in doc["users"]:
                auth.create_user(doc, user_name, role or "viewer")
            return auth.create_token(doc, name, user_name, role=role, expires=duration,
                                     secrets_=secrets_)

        accounts = _accounts(state, store)
        try:
            made = accounts.update(change)
            _record(accounts, "create_token", f"token:{made.entry['id']}", made.entry)
        finally:
            accounts.close()
        entry, value = made.entry, made.token
    if output != "table":
        emit_data(output, "token", {**entry, "token": value})
        return
    echo_err(f"Created the token '{name}' of user '{user_name}' (role '{entry['role']}'"
             f"{', expires ' + entry['expires'] if entry['expires'] else ''}); it "
             "is shown only this once:")
    click.echo(value)


@token.command("list")
@store_option
@via_option
@output_option
@pass_state
def token_list(state: State, store: str | None, via: str | None, output: str) -> None:
    """List the tokens (never their values) with their last use."""
    tokens = _listing(state, store, via, "tokens")
    if output != "table":
        emit_data(output, "tokens", tokens)
        return
    print_table(["ID", "NAME", "USER", "ROLE", "STATE", "EXPIRES", "LAST USED"],
                [[t["id"], t["name"], t["user"], t["role"], t["state"], t["expires"] or "never",
                  t["last_used"] or "never"] for t in tokens])


@token.command("revoke")
@click.argument("ref", metavar="ID_OR_NAME")
@store_option
@via_option
@pass_state
def token_revoke(state: State, ref: str, store: str | None, via: str | None) -> None:
    """Revoke a token: it is refused from now on."""
    if via:
        entry = _remote(state, via, "DELETE", f"/tokens/{_quoted(ref)}")["token"]
    else:
        from mlrig.server import auth

        accounts = _accounts(state, store)
        try:
            entry = accounts.update(lambda doc: auth.revoke_token(doc, ref))
            _record(accounts, "revoke_token", f"token:{entry['id']}", entry)
        finally:
            accounts.close()
    click.echo(f"Revoked the token '{entry['name']}' ({entry['id']}) of user "
               f"'{entry['user']}'.")


@server.command("audit")
@click.option("--since", metavar="TIME",
              help="Only what changed after this time (ISO, e.g. 2026-12-01T10:00, or a "
                   "duration back from now: 1h, 2d).")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@store_option
@via_option
@output_option
@pass_state
def audit(state: State, *, since: str | None, limit: int, store: str | None, via: str | None,
          output: str) -> None:
    """Who changed what, when (secret values masked)."""
    after = _since(since)
    if via:
        from urllib.parse import urlencode

        query = urlencode({"limit": limit, **({"since": after} if after else {})})
        records = _remote(state, via, "GET", f"/audit?{query}")["audit"]
    else:
        accounts = _accounts(state, store)
        try:
            records = accounts.audit(after, limit)
        finally:
            accounts.close()
    if output != "table":
        emit_data(output, "audit", records)
        return
    if not records:
        click.echo("No changes recorded.")
        return
    print_table(["TIME", "USER", "TOKEN", "ACTION", "OBJECT"],
                [[r["time"], r["user"], r["token"], r["action"], ", ".join(r["keys"])]
                 for r in records])


def _since(text: str | None) -> str | None:
    if text is None:
        return None
    from datetime import datetime, timezone

    from mlrig.server import auth

    try:
        moment = auth.now() - auth.parse_duration(text)
    except InputError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"Invalid time for --since: '{text}' (use ISO, e.g. "
                             "2026-12-01T10:00, or a duration: 1h, 2d).") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    return auth.iso(moment)


__all__ = ["StoreError", "server"]
