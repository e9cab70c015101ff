"""A profile's run data (its run logs, its default secrets file) follows the profile, with
the real executable: ``profile rename`` moves it (runs, logs and secrets keep working under
the new name, a later profile of the old name starts without them), ``profile delete``
removes what mlrig wrote there and keeps anything else."""

from __future__ import annotations

import json
from pathlib import Path

from mlrig.testing.runs import Run, assert_one_line_error, run_mlrig_in

PIPELINE = "mlrig.testing.pipelines:linear"


def mlrig(config_dir: Path, *args: str) -> Run:
    return run_mlrig_in(config_dir, *args, timeout=120)


def ok(config_dir: Path, *args: str) -> Run:
    result = mlrig(config_dir, *args)
    assert result.exit_code == 0, f"{args}: {result.stderr}"
    return result


def data_of(config_dir: Path, profile: str) -> Path:
    return config_dir / "local_stores" / f"runs-{profile}"


def with_runs(config_dir: Path, profile: str) -> str:
    """A profile whose default stack has a secrets manager holding a secret, and one run;
    the run's id."""
    ok(config_dir, "profile", "create", profile)
    ok(config_dir, "--profile", profile, "secrets-manager", "register", "vault", "-f", "local")
    ok(config_dir, "--profile", profile, "stack", "update", "default", "-x", "vault")
    ok(config_dir, "--profile", profile, "secret", "register", "db", "--password=s3cr3t-pw")
    ok(config_dir, "--profile", profile, "pipeline", "run", PIPELINE)
    listed = ok(config_dir, "--profile", profile, "pipeline", "runs", "list", "-o", "json")
    return str(json.loads(listed.stdout)["runs"][0]["id"])


def test_rename_moves_the_run_data_with_the_profile(config_dir: Path) -> None:
    run = with_runs(config_dir, "work")
    old = data_of(config_dir, "work")
    assert (old / "secrets.yaml").is_file() and (old / "logs" / run).is_dir()
    ok(config_dir, "profile", "rename", "work", "job")
    new = data_of(config_dir, "job")
    assert not old.exists() and (new / "secrets.yaml").is_file()

    # the secrets, the logs and the records work under the new name
    shown = ok(config_dir, "--profile", "job", "secret", "get", "db", "--show-values",
               "-o", "json")
    assert "s3cr3t-pw" in shown.stdout
    logs = ok(config_dir, "--profile", "job", "pipeline", "runs", "logs", run)
    assert "total" in logs.stdout
    described = json.loads(ok(config_dir, "--profile", "job", "pipeline", "runs", "describe",
                              run, "-o", "json").stdout)["run"]
    assert all(Path(s["logs"]).parent == new / "logs" / run for s in described["steps"])
    again = ok(config_dir, "--profile", "job", "pipeline", "run", PIPELINE)
    assert "Using cached version of step" in again.output
    cached_logs = ok(config_dir, "--profile", "job", "pipeline", "runs", "logs",
                     json.loads(ok(config_dir, "--profile", "job", "pipeline", "runs", "list",
                                   "-o", "json").stdout)["runs"][0]["id"], "total")
    assert cached_logs.exit_code == 0

    # a new profile of the old name starts with no secrets and no logs of the renamed one
    ok(config_dir, "profile", "create", "work")
    ok(config_dir, "--profile", "work", "secrets-manager", "register", "vault", "-f", "local")
    ok(config_dir, "--profile", "work", "stack", "update", "default", "-x", "vault")
    listed = ok(config_dir, "--profile", "work", "secret", "list", "-o", "json")
    assert "db" not in listed.stdout

    # a rename onto a name whose data directory is taken is refused, nothing moves
    (data_of(config_dir, "taken") / "keep").mkdir(parents=True)
    refused = mlrig(config_dir, "profile", "rename", "job", "taken")
    line = assert_one_line_error(refused.exit_code, refused.stdout, refused.stderr)
    assert str(data_of(config_dir, "taken")) in line
    assert (new / "secrets.yaml").is_file()
    ok(config_dir, "--profile", "job", "secret", "get", "db")


def test_delete_removes_what_mlrig_wrote_in_the_run_data_and_keeps_the_rest(
        config_dir: Path) -> None:
    with_runs(config_dir, "gone")
    with_runs(config_dir, "cluttered")
    foreign = data_of(config_dir, "cluttered") / "notes.txt"
    foreign.write_text("mine, not mlrig's")
    (data_of(config_dir, "cluttered") / "logs" / "mine").mkdir()

    ok(config_dir, "profile", "delete", "gone", "-y")
    assert not data_of(config_dir, "gone").exists()
    deleted = ok(config_dir, "profile", "delete", "cluttered", "-y")
    directory = data_of(config_dir, "cluttered")
    assert f"Kept '{directory}'" in deleted.output
    assert sorted(str(p.relative_to(directory)) for p in directory.rglob("*")) == [
        "logs", "logs/mine", "notes.txt"]
    assert foreign.read_text() == "mine, not mlrig's"

    # a later profile of a deleted name does not inherit its secrets
    ok(config_dir, "profile", "create", "gone")
    ok(config_dir, "--profile", "gone", "secrets-manager", "register", "vault", "-f", "local")
    ok(config_dir, "--profile", "gone", "stack", "update", "default", "-x", "vault")
    assert "db" not in ok(config_dir, "--profile", "gone", "secret", "list", "-o",
                          "json").stdout


def test_a_data_directory_another_profile_points_into_is_kept(
        config_dir: Path, tmp_path: Path) -> None:
    with_runs(config_dir, "first")
    shared = data_of(config_dir, "first") / "secrets.yaml"
    ok(config_dir, "secrets-manager", "register", "borrowed", "-f", "local",
       f"--secrets_file={shared}")
    ok(config_dir, "profile", "delete", "first", "-y")
    assert shared.is_file()  # the default profile's secrets manager still uses it
