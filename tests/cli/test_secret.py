"""``mlrig secret …`` with the real executable: the secrets of the active stack's secrets
manager, values masked unless asked, one-line errors that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlrig.testing.files import snapshot
from mlrig.testing.runs import (
    HEAVY_MODULES,
    Run,
    assert_one_line_error,
    heavy,
    modules_imported_by,
    run_mlrig_in,
)

VALUE = "hunter2-Sup3rSecret"


@pytest.fixture
def with_vault(config_dir: Path) -> Path:
    """The default stack with a local secrets manager 'vault'."""
    for args in (("secrets-manager", "register", "vault", "-f", "local"),
                 ("stack", "update", "default", "-x", "vault")):
        assert run_mlrig_in(config_dir, *args).exit_code == 0
    return config_dir


def mlrig(config_dir: Path, *args: str, **kwargs: str) -> Run:
    return run_mlrig_in(config_dir, *args, **kwargs)


def test_register_get_list_update_delete(with_vault: Path, tmp_path: Path) -> None:
    pw = tmp_path / "pw.txt"
    pw.write_text("from-a-file\n")
    done = mlrig(with_vault, "secret", "register", "aws", "--key=AKIAPUBLIC",
                 f"--secret={VALUE}", f"--file-key=@{pw}")
    assert done.exit_code == 0, done.stderr
    assert "Successfully registered secret 'aws'." in done.stdout
    assert VALUE not in done.output

    listed = mlrig(with_vault, "secret", "list")
    assert listed.exit_code == 0 and "aws" in listed.stdout and VALUE not in listed.output
    document = json.loads(mlrig(with_vault, "secret", "list", "-o", "json").stdout)
    assert document == {"format_version": 1, "secrets": [
        {"name": "aws", "secrets_manager": "vault", "keys": ["file-key", "key", "secret"]}]}

    shown = mlrig(with_vault, "secret", "get", "aws")
    assert shown.exit_code == 0 and "********" in shown.stdout
    assert VALUE not in shown.output and "AKIAPUBLIC" not in shown.output
    masked = yaml.safe_load(mlrig(with_vault, "secret", "get", "aws", "-o", "yaml").stdout)
    assert masked["secret"]["values"] == {"file-key": "********", "key": "********",
                                          "secret": "********"}
    clear = json.loads(mlrig(with_vault, "secret", "get", "aws", "--show-values", "-o",
                             "json").stdout)
    assert clear["secret"]["values"] == {"file-key": "from-a-file", "key": "AKIAPUBLIC",
                                         "secret": VALUE}

    values_file = tmp_path / "values.yaml"
    values_file.write_text("token: tok-1\nkey: AKIANEW\n")
    updated = mlrig(with_vault, "secret", "update", "aws", "--values-file", str(values_file),
                    "--remove", "file-key")
    assert updated.exit_code == 0, updated.stderr
    clear = json.loads(mlrig(with_vault, "secret", "get", "aws", "--show-values", "-o",
                             "json").stdout)
    assert clear["secret"]["values"] == {"key": "AKIANEW", "secret": VALUE, "token": "tok-1"}

    deleted = mlrig(with_vault, "secret", "delete", "aws", "-y")
    assert deleted.exit_code == 0 and "Deleted secret 'aws'." in deleted.stdout
    assert json.loads(mlrig(with_vault, "secret", "list", "-o", "json").stdout)["secrets"] == []


def test_the_file_is_private_and_holds_the_values(with_vault: Path) -> None:
    assert mlrig(with_vault, "secret", "register", "db", f"--password={VALUE}").exit_code == 0
    files = list(with_vault.rglob("secrets.yaml"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(files[0].read_text())["secrets"] == {"db": {"password": VALUE}}


def test_delete_asks_and_a_closed_stdin_refuses(with_vault: Path) -> None:
    assert mlrig(with_vault, "secret", "register", "db", "--password=x").exit_code == 0
    refused = mlrig(with_vault, "secret", "delete", "db")
    assert refused.exit_code == 1 and "Not deleting secret 'db'" in refused.stderr
    canceled = mlrig(with_vault, "secret", "delete", "db", input="n\n")
    assert canceled.exit_code == 1 and "canceled" in canceled.stderr
    assert mlrig(with_vault, "secret", "delete", "db", input="y\n").exit_code == 0
    assert mlrig(with_vault, "secret", "list", "-o", "json").stdout.count('"name"') == 0


@pytest.mark.parametrize(("args", "expected"), [
    (("register", "aws", "--k=v"), None),  # taken: registered by the test first
    (("register", "new"), "needs at least one key"),
    (("register", "bad name", "--k=v"), "Invalid secret name"),
    (("register", "new", f"-secret={VALUE}"), "Unexpected argument"),
    (("register", "new", f"secret={VALUE}"), "Unexpected argument"),
    (("register", "new", "--k=v", "--k=w"), "more than once"),
    (("register", "new", "--values-file", "/nonexistent/v.yaml"), "does not exist"),
    (("get", "missing"), "holds no secret 'missing'"),
    (("update", "missing", "--k=v"), "holds no secret 'missing'"),
    (("update", "aws"), "Nothing to change"),
    (("update", "aws", "--remove", "nokey"), "has no key 'nokey'"),
    (("update", "aws", "--remove", "key"), "no key left"),
    (("delete", "missing", "-y"), "holds no secret 'missing'"),
])
def test_bad_input_is_one_line_and_changes_nothing(with_vault: Path, args: tuple[str, ...],
                                                   expected: str | None) -> None:
    assert mlrig(with_vault, "secret", "register", "aws", f"--key={VALUE}").exit_code == 0
    before = snapshot(with_vault)
    result = mlrig(with_vault, "secret", *args)
    line = assert_one_line_error(result.exit_code, result.stdout, result.stderr)
    assert VALUE not in result.output
    assert expected is None or expected in line, line
    if expected is None:
        assert "already holds a secret 'aws'" in line
    assert snapshot(with_vault) == before


def test_a_stack_without_a_secrets_manager_says_how_to_add_one(config_dir: Path) -> None:
    assert mlrig(config_dir, "stack", "list").exit_code == 0  # the first run's bootstrap
    for args in (("list",), ("register", "aws", "--k=v"), ("get", "aws")):
        result = mlrig(config_dir, "secret", *args)
        line = assert_one_line_error(result.exit_code, result.stdout, result.stderr)
        assert "stack 'default'" in line and "has no secrets manager" in line
        assert "mlrig secrets-manager register" in line and "mlrig stack update default" in line


def test_a_damaged_secrets_file_is_reported_and_kept(with_vault: Path) -> None:
    assert mlrig(with_vault, "secret", "register", "db", "--password=x").exit_code == 0
    (path,) = with_vault.rglob("secrets.yaml")
    path.write_text("version: 1\nsecrets: [oops\n")
    for args in (("list",), ("register", "x", "--k=v"), ("delete", "db", "-y")):
        result = mlrig(with_vault, "secret", *args)
        line = assert_one_line_error(result.exit_code, result.stdout, result.stderr)
        assert str(path) in line
    assert path.read_text() == "version: 1\nsecrets: [oops\n"


def test_the_secrets_follow_the_chosen_stack(with_vault: Path) -> None:
    """--stack and MLRIG_ACTIVE_STACK choose the stack, hence the secrets manager."""
    for args in (("secrets-manager", "register", "other", "-f", "local", "--secrets_file="
                  + str(with_vault / "other.yaml")),
                 ("stack", "copy", "default", "second"),
                 ("stack", "update", "second", "-x", "other")):
        assert mlrig(with_vault, *args).exit_code == 0, args
    assert mlrig(with_vault, "--stack", "second", "secret", "register", "only-here",
                 "--k=v").exit_code == 0
    assert "only-here" not in mlrig(with_vault, "secret", "list", "-o", "json").stdout
    via_env = mlrig(with_vault, "secret", "list", "-o", "json", MLRIG_ACTIVE_STACK="second")
    assert json.loads(via_env.stdout)["secrets"][0]["name"] == "only-here"
    assert (with_vault / "other.yaml").stat().st_mode & 0o777 == 0o600


def test_secret_and_describe_commands_import_no_store_driver(with_vault: Path,
                                                             tmp_path: Path) -> None:
    """``secret …`` builds the secrets manager only: an S3 artifact store in the stack
    imports no s3fs, and describing it neither (nor any SQL or HTTP library)."""
    for args in (("artifact-store", "register", "lake", "-f", "s3", "--path=s3://b/p",
                  "--secret={{aws.secret}}"),
                 ("stack", "update", "default", "-a", "lake"),
                 ("secret", "register", "aws", "--secret=x")):
        assert mlrig(with_vault, *args).exit_code == 0, args
    drivers = (*HEAVY_MODULES, "s3fs", "aiobotocore", "botocore", "fsspec",
               "mlrig.runtime.artifact_stores")
    for args in (("secret", "list"), ("secret", "get", "aws"),
                 ("artifact-store", "describe", "lake")):
        modules = modules_imported_by(with_vault, tmp_path, *args)
        assert "mlrig.cli" in modules
        assert heavy(modules, drivers) == [], args
