"""Profile verbs across a local and a rest store: migrate to and from rest, copy, export and
import, rename, scopes — through the real executable."""

from __future__ import annotations

import json
from pathlib import Path

from mlrig.testing.server import make_token, served, write_token


def _ok(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def _stacks(run, *flags: str) -> list[str]:  # type: ignore[no-untyped-def]
    shown = json.loads(_ok(run(*flags, "stack", "list", "-o", "json")).stdout)
    return [s["name"] for s in shown["stacks"]]


def test_migrate_copy_export_import_rename_across_rest(tmp_path: Path, member) -> None:  # type: ignore[no-untyped-def]
    ivan = member("ivan")
    _ok(ivan("profile", "list"))
    _ok(ivan("stack", "register", "dev", "-o", "default", "-m", "default", "-a", "default"))
    with served(tmp_path / "one") as first, served(tmp_path / "two") as second:
        one = write_token(tmp_path / "one.token", make_token(first, "ivan", "editor"))
        two = write_token(tmp_path / "two.token", make_token(second, "ivan", "editor"))
        # a local profile moves to a server: everything there, nothing left behind
        local_dir = ivan.config_dir / "profiles" / "default"
        _ok(ivan("profile", "migrate", "default", "-t", "rest", "--url", first.url,
                 "--token-file", str(one)))
        assert not local_dir.exists()
        assert _stacks(ivan) == ["default", "dev"]
        # copied to a second server, exported and imported, renamed
        _ok(ivan("profile", "copy", "default", "backup", "-t", "rest", "--url", second.url,
                 "--token-file", str(two)))
        assert _stacks(ivan, "--profile", "backup") == ["default", "dev"]
        bundle = tmp_path / "team.yaml"
        _ok(ivan("profile", "export", "default", str(bundle)))
        _ok(ivan("profile", "import", str(bundle), "restored"))
        assert _stacks(ivan, "--profile", "restored") == ["default", "dev"]
        _ok(ivan("profile", "rename", "default", "team"))
        _ok(ivan("--profile", "team", "stack", "rename", "dev", "prod"))
        assert _stacks(ivan, "--profile", "team") == ["default", "prod"]
        # scopes choose a rest profile as any other
        _ok(ivan("profile", "set", "restored"))
        chosen = _ok(ivan("stack", "list", env={"MLRIG_ACTIVE_PROFILE": "team"}))
        assert "Running with active profile: 'team' (environment)" in chosen.stderr
        assert "prod" in chosen.stdout
        # and back from the server to a local store
        _ok(ivan("profile", "migrate", "team", "-t", "local"))
        listed = json.loads(_ok(ivan("profile", "list", "-o", "json")).stdout)
        kinds = {p["name"]: p["store_type"] for p in listed["profiles"]}
        assert kinds == {"backup": "rest", "restored": "local", "team": "local"}
        assert _stacks(ivan, "--profile", "team") == ["default", "prod"]
        # the server's store is not the profile's to delete: it stays for the team
        admin = json.loads(_ok(ivan("--profile", "backup", "stack", "list", "-o",
                                    "json")).stdout)
        assert len(admin["stacks"]) == 2
        _ok(ivan("profile", "delete", "backup", "-y"))
        from mlrig.stores.rest import RestStore

        with RestStore(second.url, token=second.admin_token).read() as view:
            assert sorted(s.name for s in view.list_stacks()) == ["default", "dev"]
