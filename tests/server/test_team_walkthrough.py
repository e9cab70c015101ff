"""Done when: a team member in another HOME creates a rest profile with a token an admin
made, and runs the spec walkthrough on the shared profile; a viewer's token reads, never
writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mlrig.testing.server import write_token
from mlrig.testing.tables import PROFILE_HEADER, STACK_HEADER, parse_table


def banner(profile: str) -> list[str]:
    return ["Running without an active repository root.",
            f"Running with active profile: '{profile}' (global)"]


def default_stack_lines() -> list[str]:
    return [
        "Initializing store...",
        "Registered stack component with type 'orchestrator' and name 'default'.",
        "Registered stack component with type 'metadata_store' and name 'default'.",
        "Registered stack component with type 'artifact_store' and name 'default'.",
        "Registered stack with name 'default'.",
    ]


def _ok(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def test_spec_walkthrough_on_a_shared_rest_profile(server, token, member, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice = member("alice")
    editor = write_token(tmp_path / "alice.token", token("alice-laptop", "editor", user="alice"))
    _ok(alice("profile", "list"))  # first run: the default profile

    created = _ok(alice("profile", "create", "team", "--store-type", "rest", "--url",
                        server.url, "--token-file", str(editor)))
    assert created.stderr.splitlines() == [
        *banner("default"), "Initializing profile `team`...", *default_stack_lines()]
    assert created.stdout.splitlines() == ["Profile 'team' successfully created."]

    listed = _ok(alice("profile", "list"))
    rows = parse_table(listed.stdout)
    assert rows[0] == PROFILE_HEADER
    assert [r[:3] + r[4:] for r in rows[1:]] == [["👉", "default", "local", "default"],
                                                 ["", "team", "rest", "default"]]
    assert rows[2][3] == server.url

    assert _ok(alice("profile", "set", "team")).stdout.splitlines() == [
        "Active profile changed to: 'team'"]
    registered = _ok(alice("stack", "register", "custom", "-m", "default", "-a", "default",
                           "-o", "default"))
    assert registered.stderr.splitlines() == [*banner("team"),
                                              "Registered stack with name 'custom'."]
    assert registered.stdout.splitlines() == ["Stack 'custom' successfully registered!"]
    assert _ok(alice("stack", "set", "custom")).stdout.splitlines() == [
        "Active stack set to: 'custom'"]
    stacks = _ok(alice("stack", "list"))
    assert stacks.stderr.splitlines() == banner("team")
    assert parse_table(stacks.stdout) == [
        STACK_HEADER,
        ["👉", "custom", "default", "default", "default"],
        ["", "default", "default", "default", "default"]]
    assert _ok(alice("profile", "set", "default")).stdout.splitlines() == [
        "Active profile changed to: 'default'"]
    assert parse_table(_ok(alice("stack", "list")).stdout) == [
        STACK_HEADER, ["👉", "default", "default", "default", "default"]]

    # the same documents as a local profile's -o json, through the server's API too
    shown = json.loads(_ok(alice("--profile", "team", "stack", "list", "-o", "json")).stdout)
    assert [s["name"] for s in shown["stacks"]] == ["custom", "default"]

    # a viewer, in a third HOME, attached to the same store: reads, never writes
    bob = member("bob")
    viewer_token = token("bob-laptop", "viewer", user="bob")
    _ok(bob("profile", "create", "team", "--store-type", "rest", "--url", server.url,
            "--token-env", "TEAM_TOKEN", env={"TEAM_TOKEN": viewer_token}))
    seen = _ok(bob("--profile", "team", "stack", "list", env={"TEAM_TOKEN": viewer_token}))
    assert [r[1] for r in parse_table(seen.stdout)[1:]] == ["custom", "default"]
    refused = bob("--profile", "team", "stack", "register", "mine", "-m", "default", "-a",
                  "default", "-o", "default", env={"TEAM_TOKEN": viewer_token})
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    (line,) = [x for x in refused.stderr.splitlines() if x.startswith("Error:")]
    assert "'write' permission" in line and "'bob-laptop'" in line
    assert "Registered stack" not in refused.output
    again = _ok(alice("--profile", "team", "stack", "list", "-o", "json"))
    assert [s["name"] for s in json.loads(again.stdout)["stacks"]] == ["custom", "default"]

    # the credential is in no config file, and never printed
    for home in (alice, bob):
        config = (home.config_dir / "config.yaml").read_text()
        assert "mlrig_" not in config
    assert viewer_token not in seen.output and editor.read_text().strip() not in listed.output


def test_login_keeps_the_token_in_a_private_file(server, token, member) -> None:  # type: ignore[no-untyped-def]
    carol = member("carol")
    secret = token("carol-ci", "editor", user="carol")
    _ok(carol("profile", "list"))
    # created with a token of this shell only; without it, a command says what is missing
    _ok(carol("profile", "create", "team", "-t", "rest", "--url", server.url,
              "--token-env", "CAROL_TOKEN", env={"CAROL_TOKEN": secret}))
    missing = carol("--profile", "team", "stack", "list")
    assert missing.exit_code == 1 and "CAROL_TOKEN" in missing.stderr
    logged = _ok(carol("login", "team", input=secret + "\n"))
    assert "carol" in logged.stderr and secret not in logged.output
    path = carol.config_dir / "credentials" / "team.token"
    assert path.read_text().strip() == secret
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert secret not in (carol.config_dir / "config.yaml").read_text()
    _ok(carol("--profile", "team", "stack", "list"))
    wrong = carol("login", "team", input="mlrig_0123456789ab_" + "x" * 43 + "\n")
    assert wrong.exit_code == 1 and "not valid" in wrong.stderr
    assert path.read_text().strip() == secret  # a refused token replaces nothing
    assert _ok(carol("logout", "team")).stdout.splitlines() == ["Logged out of profile 'team'."]
    assert not path.exists()
    after = carol("--profile", "team", "stack", "list")
    assert after.exit_code == 1 and "mlrig login" in after.stderr
    # logged in again, then the profile is deleted: its credential goes with it
    _ok(carol("login", "team", input=secret + "\n"))
    assert path.exists()
    _ok(carol("profile", "delete", "team", "-y"))
    assert not path.exists()


def test_login_with_a_password_gets_a_short_lived_token(server, token, member) -> None:  # type: ignore[no-untyped-def]
    from mlrig.testing.runs import run_mlrig

    admin_env = {"MLRIG_CONFIG_PATH": str(server.config_dir)}
    made = run_mlrig("server", "user", "create", "judy", "--role", "editor", "--password",
                     "--store", server.store_url, env=admin_env,
                     input="correct horse\ncorrect horse\n")
    assert made.exit_code == 0, made.output
    assert "correct horse" not in made.output
    judy = member("judy")
    _ok(judy("profile", "list"))
    _ok(judy("profile", "create", "team", "-t", "rest", "--url", server.url,
             "--token-env", "J", env={"J": token("judy-setup", "editor", user="judy")}))
    wrong = judy("login", "team", "--user", "judy", input="wrong\n")
    assert wrong.exit_code == 1 and "Wrong user name or password." in wrong.stderr
    logged = _ok(judy("login", "team", "--user", "judy", input="correct horse\n"))
    assert "as user 'judy'" in logged.stderr and "write" in logged.stderr
    _ok(judy("--profile", "team", "artifact-store", "register", "lake", "--flavor", "local",
             "--path=/tmp/lake"))
    listed = run_mlrig("server", "token", "list", "--store", server.store_url, "-o", "json",
                       env=admin_env)
    session = [t for t in json.loads(listed.stdout)["tokens"] if t["kind"] == "session"]
    assert len(session) == 1 and session[0]["user"] == "judy"
    assert session[0]["expires"] is not None and session[0]["last_used"] is not None


def test_a_user_with_a_password_only_joins_by_logging_in(server, token, member) -> None:  # type: ignore[no-untyped-def]
    from mlrig.testing.runs import run_mlrig

    admin_env = {"MLRIG_CONFIG_PATH": str(server.config_dir)}
    boss = member("boss")  # an editor sets up the shared store first
    _ok(boss("profile", "create", "team", "-t", "rest", "--url", server.url,
             "--token-env", "B", env={"B": token("boss", "editor")}))
    _ok(run_mlrig("server", "user", "create", "kim", "--role", "viewer", "--password",
                  "--store", server.store_url, env=admin_env, input="pass phrase\npass phrase\n"))
    kim = member("kim")
    _ok(kim("profile", "list"))
    config_before = (kim.config_dir / "config.yaml").read_text()

    no_token = kim("profile", "create", "team", "-t", "rest", "--url", server.url)
    assert no_token.exit_code == 1 and "--user" in no_token.stderr
    wrong = kim("profile", "create", "team", "-t", "rest", "--url", server.url,
                "--user", "kim", input="not it\n")
    assert wrong.exit_code == 1 and "Wrong user name or password." in wrong.stderr
    both = kim("profile", "create", "team", "-t", "rest", "--url", server.url, "--user", "kim",
               "--token-env", "T", env={"T": "x"}, input="pass phrase\n")
    assert both.exit_code == 1 and "not both" in both.stderr
    # nothing was left behind by the refusals
    assert (kim.config_dir / "config.yaml").read_text() == config_before
    assert not (kim.config_dir / "credentials").exists() or \
        list((kim.config_dir / "credentials").iterdir()) == []

    _ok(kim("profile", "create", "team", "-t", "rest", "--url", server.url, "--user", "kim",
            input="pass phrase\n"))
    kept = kim.config_dir / "credentials" / "team.token"
    assert kept.stat().st_mode & 0o077 == 0
    assert kept.read_text().strip() not in (kim.config_dir / "config.yaml").read_text()
    assert "default" in _ok(kim("--profile", "team", "stack", "list")).stdout
    refused = kim("--profile", "team", "stack", "register", "x", "-o", "default",
                  "-a", "default", "-m", "default")
    assert refused.exit_code == 1 and "'write' permission" in refused.stderr
