"""``mlrig server up/status/logs/down`` and the accounts commands, through the real
executable."""

from __future__ import annotations

import json
from pathlib import Path

from mlrig.testing.runs import run_mlrig
from mlrig.testing.server import free_port


def test_up_status_logs_down(tmp_path: Path) -> None:
    env = {"MLRIG_CONFIG_PATH": str(tmp_path / "config")}
    store = tmp_path / "team-store"
    port = free_port()
    up = run_mlrig("server", "up", "--store", str(store), "--port", str(port), env=env)
    try:
        assert up.exit_code == 0, up.output
        token = up.stdout.splitlines()[0]
        assert token.startswith("mlrig_")
        assert "shown only this once" in up.stderr
        assert up.stdout.splitlines()[1] == (
            f"The mlrig server serves {store.as_uri()} at http://127.0.0.1:{port} (pid "
            f"{up.stdout.split('(pid ')[1].rstrip(').' + chr(10))}).")
        again = run_mlrig("server", "up", "--store", str(store), "--port", str(port), env=env)
        assert again.exit_code == 1 and "already runs" in again.stderr

        status = run_mlrig("server", "status", "-o", "json", env=env)
        info = json.loads(status.stdout)["server"]
        assert info["running"] and info["health"] == "ok"
        assert info["url"] == f"http://127.0.0.1:{port}" and info["store"] == store.as_uri()
        assert isinstance(info["pid"], int) and info["uptime_seconds"] >= 0

        created = run_mlrig("server", "user", "create", "ivy", "--role", "editor", env=env)
        assert created.exit_code == 0, created.output
        users = json.loads(run_mlrig("server", "user", "list", "-o", "json", env=env).stdout)
        assert {u["name"]: u["role"] for u in users["users"]} == {"admin": "admin",
                                                                 "ivy": "editor"}
        assert run_mlrig("server", "user", "set-role", "ivy", "viewer", env=env).exit_code == 0
        alone = run_mlrig("server", "user", "delete", "admin", env=env)
        assert alone.exit_code == 1 and "only admin" in alone.stderr
        made = run_mlrig("server", "token", "create", "ci", "--user", "ivy", "--role",
                         "editor", env=env)
        assert made.exit_code == 1 and "cannot have the role 'editor'" in made.stderr
        audit = run_mlrig("server", "audit", "--since", "1h", "-o", "json", env=env)
        actions = [r["action"] for r in json.loads(audit.stdout)["audit"]]
        assert actions == ["create_user", "set_role"]  # the failed ones left no record
        assert all(r["user"].startswith("local:") for r in json.loads(audit.stdout)["audit"])

        logs = run_mlrig("server", "logs", env=env)
        assert logs.exit_code == 0 and "Uvicorn running" in logs.output
        assert token not in logs.output
    finally:
        down = run_mlrig("server", "down", env=env)
    assert down.exit_code == 0 and down.stdout.startswith("Stopped the mlrig server at ")
    stopped = run_mlrig("server", "status", env=env)
    assert stopped.exit_code == 1 and "No mlrig server runs" in stopped.stdout
    # a second start on the same store makes no new admin
    again = run_mlrig("server", "up", "--store", str(store), "--port", str(port), env=env)
    try:
        assert again.exit_code == 0 and "mlrig_" not in again.stdout
    finally:
        run_mlrig("server", "down", env=env)


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    env = {"MLRIG_CONFIG_PATH": str(tmp_path / "config")}
    for args, words in (
        (("server", "down"), "No mlrig server runs"),
        (("server", "up", "--store", "http://127.0.0.1:1"), "not another server"),
        (("server", "up", "--store", str(tmp_path / "s"), "--ssl-certfile", "x"),
         "together"),
        (("server", "token", "list"), "No server was started"),
        (("server", "token", "create", "x", "--expires", "soon", "--store",
          str(tmp_path / "s")), "Invalid duration"),
    ):
        result = run_mlrig(*args, env=env)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output
        (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
        assert words in line, (args, line)


def test_admin_commands_from_another_host_go_through_the_api(server, token, member) -> None:  # type: ignore[no-untyped-def]
    kim = member("kim")
    env = {"KIM": server.admin_token, "LEE": token("lee", "editor", user="lee")}
    assert kim("profile", "list").exit_code == 0
    for name, variable in (("team", "KIM"), ("mine", "LEE")):
        created = kim("profile", "create", name, "-t", "rest", "--url", server.url,
                      "--token-env", variable, env=env)
        assert created.exit_code == 0, created.output
    made = kim("server", "user", "create", "mo", "--role", "viewer", "--via", "team", env=env)
    assert made.exit_code == 0, made.output
    issued = kim("server", "token", "create", "mo-ci", "--user", "mo", "--via", "team",
                 "-o", "json", env=env)
    assert issued.exit_code == 0, issued.output
    value = json.loads(issued.stdout)["token"]["token"]
    tokens = kim("server", "token", "list", "--via", "team", "-o", "json", env=env)
    assert "mo-ci" in tokens.stdout and value not in tokens.stdout
    mo = member("mo")
    assert mo("profile", "list").exit_code == 0
    assert mo("profile", "create", "team", "-t", "rest", "--url", server.url, "--token-env",
              "MO", env={"MO": value}).exit_code == 0
    assert kim("server", "token", "revoke", "mo-ci", "--via", "team", env=env).exit_code == 0
    refused = mo("--profile", "team", "stack", "list", env={"MO": value})
    assert refused.exit_code == 1 and "was revoked" in refused.stderr
    audit = kim("server", "audit", "--since", "1h", "--via", "team", "-o", "json", env=env)
    assert audit.exit_code == 0
    records = json.loads(audit.stdout)["audit"]
    assert [r["action"] for r in records if r["user"] == "admin"][-3:] == [
        "create_user", "create_token", "revoke_token"]
    assert value not in audit.stdout
    denied = kim("server", "user", "list", "--via", "mine", env=env)
    assert denied.exit_code == 1
    (line,) = [x for x in denied.stderr.splitlines() if x.startswith("Error:")]
    assert "needs the 'admin' permission" in line


def test_without_the_server_extra_the_group_says_what_to_install(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['fastapi'] = None; sys.modules['uvicorn'] = None; "
            "sys.argv = ['mlrig', *sys.argv[1:]]; from mlrig.cli import main; main()")
    env = {**__import__("os").environ, "MLRIG_CONFIG_PATH": str(tmp_path / "config")}
    result = subprocess.run([sys.executable, "-c", code, "server", "up", "--store",
                             str(tmp_path / "s")], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: The mlrig server needs fastapi, uvicorn, which are not installed. Install it "
        "with: pip install 'mlrig[server]'.")
    assert not (tmp_path / "s").exists()


def test_up_serves_the_active_profile_by_default(tmp_path: Path) -> None:
    env = {"MLRIG_CONFIG_PATH": str(tmp_path / "config")}
    assert run_mlrig("profile", "list", env=env).exit_code == 0
    up = run_mlrig("server", "up", "--port", str(free_port()), env=env)
    try:
        assert up.exit_code == 0, up.output
        served = (tmp_path / "config" / "profiles" / "default").resolve().as_uri()
        assert f"serves {served} at http://127.0.0.1:" in up.stdout
        # the profile's own stacks are there: the store already had a default stack
        from mlrig.stores.rest import RestStore

        url = json.loads(run_mlrig("server", "status", "-o", "json", env=env).stdout)[
            "server"]["url"]
        token = up.stdout.splitlines()[0]
        with RestStore(url, token=token).read() as view:
            assert [s.name for s in view.list_stacks()] == ["default"]
    finally:
        run_mlrig("server", "down", env=env)


def test_foreground_serves_until_stopped(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import time

    from mlrig.server.runner import health
    from mlrig.testing.runs import mlrig_command

    env = {**os.environ, "MLRIG_CONFIG_PATH": str(tmp_path / "config")}
    port = free_port()
    proc = subprocess.Popen([*mlrig_command(), "server", "up", "--foreground", "--store",
                             str(tmp_path / "store"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        token = proc.stdout.readline().strip()
        assert token.startswith("mlrig_")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while health(url, timeout=0.5) != "ok":
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        status = run_mlrig("server", "status", "-o", "json", env=env)
        assert json.loads(status.stdout)["server"]["pid"] == proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0
    assert not (tmp_path / "config" / "server" / "server.json").exists()
    assert health(url, timeout=0.5).startswith("unreachable")
