"""Relative paths of components, with the real executable: a relative ``path`` of a local
artifact store, ``secrets_file`` of a local secrets manager or ``uri`` of a SQLite metadata
store is stored absolute (against the directory ``register``/``update`` ran in, said in one
line), so the same stack writes to the same places from every directory; a relative path
that reaches a run anyway (a secret's value) is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

from mlrig.testing.runs import Run, assert_one_line_error, run_mlrig_in

PIPELINE = "mlrig.testing.pipelines:linear"


def mlrig(config_dir: Path, cwd: Path, *args: str) -> Run:
    return run_mlrig_in(config_dir, *args, cwd=cwd, timeout=120)


def ok(config_dir: Path, cwd: Path, *args: str) -> Run:
    result = mlrig(config_dir, cwd, *args)
    assert result.exit_code == 0, f"{args}: {result.stderr}"
    return result


def config_of(config_dir: Path, cwd: Path, kind: str, name: str) -> dict:  # type: ignore[type-arg]
    shown = ok(config_dir, cwd, kind, "describe", name, "-o", "json").stdout
    return json.loads(shown)[kind.replace("-", "_")]["config"]  # type: ignore[no-any-return]


def test_relative_paths_are_stored_absolute_and_runs_use_them_from_any_directory(
        config_dir: Path, tmp_path: Path) -> None:
    here, elsewhere, third = (tmp_path / n for n in ("project", "elsewhere", "third"))
    for directory in (here, elsewhere, third):
        directory.mkdir()
    registered = ok(config_dir, here, "artifact-store", "register", "lake", "-f", "local",
                    "--path=data/artifacts")
    assert (f"The relative path 'data/artifacts' (path) of the artifact store 'lake' is "
            f"stored as '{here / 'data' / 'artifacts'}'.") in registered.output
    ok(config_dir, here, "secrets-manager", "register", "vault", "-f", "local",
       "--secrets_file=./secrets/vault.yaml")
    ok(config_dir, here, "metadata-store", "register", "meta", "-f", "sqlite",
       "--uri=sqlite:///runs/records.db")
    assert config_of(config_dir, elsewhere, "artifact-store", "lake")["path"] == str(
        here / "data" / "artifacts")
    assert config_of(config_dir, elsewhere, "secrets-manager", "vault")["secrets_file"] == \
        str(here / "secrets" / "vault.yaml")
    assert config_of(config_dir, elsewhere, "metadata-store", "meta")["uri"] == \
        f"sqlite:///{here / 'runs' / 'records.db'}"

    ok(config_dir, here, "stack", "copy", "default", "mine")
    ok(config_dir, here, "stack", "update", "mine", "-a", "lake", "-x", "vault", "-m", "meta")
    ok(config_dir, here, "stack", "set", "mine")
    ok(config_dir, elsewhere, "secret", "register", "db", "--password=pw")
    ok(config_dir, elsewhere, "pipeline", "run", PIPELINE)
    cached = ok(config_dir, third, "pipeline", "run", PIPELINE)
    assert "Using cached version of step" in cached.output  # the same store, the same records
    assert (here / "secrets" / "vault.yaml").is_file()
    assert (here / "runs" / "records.db").is_file()
    assert len(list((here / "data" / "artifacts").rglob("sha256/*/*"))) == 3
    assert sorted(p.name for d in (elsewhere, third) for p in d.iterdir()) == []

    # an update resolves against its own directory; '~' and references are kept as written
    ok(config_dir, elsewhere, "artifact-store", "update", "lake", "--path=other")
    assert config_of(config_dir, here, "artifact-store", "lake")["path"] == str(
        elsewhere / "other")
    quiet = ok(config_dir, here, "artifact-store", "update", "lake", "--path=~/mlrig-art")
    assert "relative path" not in quiet.output
    assert config_of(config_dir, here, "artifact-store", "lake")["path"] == "~/mlrig-art"
    ok(config_dir, here, "artifact-store", "update", "lake", "--path={{paths.lake}}")
    assert config_of(config_dir, here, "artifact-store", "lake")["path"] == "{{paths.lake}}"

    # a relative path reaching a run (a secret's value) is refused, nothing runs
    ok(config_dir, here, "secret", "register", "paths", "--lake=relative/dir")
    refused = mlrig(config_dir, third, "pipeline", "run", PIPELINE)
    line = assert_one_line_error(refused.exit_code, refused.stdout, refused.stderr)
    assert "'lake'" in line and "relative path '{{paths.lake}}'" in line
    assert sorted(third.iterdir()) == []


def test_a_bad_update_says_nothing_about_paths_and_changes_nothing(
        config_dir: Path, tmp_path: Path) -> None:
    ok(config_dir, tmp_path, "artifact-store", "register", "lake", "-f", "local",
       f"--path={tmp_path / 'a'}")
    bad = mlrig(config_dir, tmp_path, "artifact-store", "update", "lake", "--path=b",
                "--nonsense=1")
    assert_one_line_error(bad.exit_code, bad.stdout, bad.stderr)
    assert "stored as" not in bad.output
    assert config_of(config_dir, tmp_path, "artifact-store", "lake")["path"] == str(
        tmp_path / "a")
