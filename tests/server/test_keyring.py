"""``mlrig login --keyring``: a rest profile's token in a keyring (here the real file-based
backend of ``keyrings.alt``, as no desktop keyring runs on a test machine), never in
config.yaml or mlrig's credentials directory; ``logout`` and ``profile delete`` remove it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlrig.testing.runs import Run


def _ok(result: Run) -> Run:
    assert result.exit_code == 0, result.output
    return result


def test_a_token_kept_in_the_keyring(server, token, member, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keyring_env = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
                   "XDG_DATA_HOME": str(tmp_path / "xdg")}
    lee = member("lee")
    secret = token("lee", "editor")
    _ok(lee("profile", "create", "team", "-t", "rest", "--url", server.url, "--token-env",
            "T", env={"T": secret}))
    logged = _ok(lee("login", "team", "--keyring", input=secret + "\n", env=keyring_env))
    assert secret not in logged.output

    config = (lee.config_dir / "config.yaml").read_text()
    assert secret not in config and "token_keyring" in config and "token_env" not in config
    assert not (lee.config_dir / "credentials" / "team.token").exists()
    kept = list((tmp_path / "xdg").rglob("*"))
    assert any(p.is_file() for p in kept), kept  # the backend's own file holds it

    # no variable, no file: the keyring answers
    assert "default" in _ok(lee("--profile", "team", "stack", "list", env=keyring_env)).stdout

    # login without --keyring moves it back to a 0600 file and out of the keyring
    _ok(lee("login", "team", input=secret + "\n", env=keyring_env))
    assert (lee.config_dir / "credentials" / "team.token").exists()
    assert "token_keyring" not in (lee.config_dir / "config.yaml").read_text()
    _ok(lee("login", "team", "--keyring", input=secret + "\n", env=keyring_env))
    assert not (lee.config_dir / "credentials" / "team.token").exists()

    assert "Logged out" in _ok(lee("logout", "team", env=keyring_env)).stdout
    refused = lee("--profile", "team", "stack", "list", env=keyring_env)
    assert refused.exit_code == 1 and "needs a token" in refused.stderr
    assert "Traceback" not in refused.stderr

    # a profile deleted forgets its keyring entry too
    _ok(lee("login", "team", "--keyring", input=secret + "\n", env=keyring_env))
    _ok(lee("profile", "delete", "team", "-y", env=keyring_env))
    probe = subprocess.run(
        [sys.executable, "-c", "import keyring; print(keyring.get_password('mlrig', "
         f"'team@{server.url}'))"], env={**os.environ, **keyring_env},
        capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "None"
