"""Secret references end to end, with the real executable and a real S3 server: an S3
artifact store whose credentials are ``{{NAME.KEY}}`` is stored, shown and exported with the
references, runs pipelines with the values the secrets manager holds, and no value is ever
written anywhere but the secrets file."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mlrig.testing.runs import Run, assert_one_line_error, run_mlrig_in
from mlrig.testing.s3 import S3Server

PIPELINE = "mlrig.testing.pipelines:linear"


def mlrig(config_dir: Path, *args: str, **env: str) -> Run:
    return run_mlrig_in(config_dir, *args, timeout=180, **env)


def ok(config_dir: Path, *args: str) -> Run:
    result = mlrig(config_dir, *args)
    assert result.exit_code == 0, f"{args}: {result.stderr}"
    return result


def files_holding(root: Path, values: list[str], *, besides: Path) -> list[str]:
    """The files under ``root`` (other than ``besides``) whose bytes hold one of ``values``."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path != besides:
            data = path.read_bytes()
            found += [f"{path}: {v[:4]}..." for v in values if v.encode() in data]
    return found


def test_s3_credentials_as_references_run_pipelines_and_are_never_written(
        config_dir: Path, s3_server: S3Server, s3_path: str) -> None:
    ok(config_dir, "secrets-manager", "register", "vault", "-f", "local")
    ok(config_dir, "artifact-store", "register", "lake", "-f", "s3", f"--path={s3_path}",
       f"--endpoint_url={s3_server.endpoint_url}", "--region=us-east-1",
       "--key={{s3.key}}", "--secret={{ s3.secret }}")
    ok(config_dir, "stack", "copy", "default", "cloud")
    ok(config_dir, "stack", "update", "cloud", "-a", "lake", "-x", "vault")
    ok(config_dir, "stack", "set", "cloud")

    # stored, shown and exported as the references
    described = json.loads(ok(config_dir, "artifact-store", "describe", "lake", "-o",
                              "json").stdout)["artifact_store"]["config"]
    assert described["key"] == "{{s3.key}}" and described["secret"] == "{{ s3.secret }}"
    stored = next(config_dir.rglob("lake.yaml")).read_text()
    assert "{{s3.key}}" in stored and "{{ s3.secret }}" in stored
    export = config_dir.parent / "cloud-export.yaml"
    ok(config_dir, "stack", "export", "cloud", str(export))
    assert "{{ s3.secret }}" in export.read_text()

    # a reference to a secret that is not there: preflight names it, in one line
    missing = mlrig(config_dir, "pipeline", "run", PIPELINE)
    line = assert_one_line_error(missing.exit_code, missing.stdout, missing.stderr)
    assert "'lake'" in line and "secret 's3'" in line and "'cloud'" in line

    ok(config_dir, "secret", "register", "s3", f"--key={s3_server.access_key}",
       f"--secret={s3_server.secret_key}")
    first = ok(config_dir, "pipeline", "run", PIPELINE)
    assert "completed" in first.stdout
    bucket, _, prefix = s3_path.removeprefix("s3://").partition("/")
    objects = s3_server.objects(bucket, prefix)
    assert objects and all("/artifacts/sha256/" in key for key in objects)
    second = ok(config_dir, "pipeline", "run", PIPELINE)
    assert "Using cached version of step" in second.output
    assert s3_server.objects(bucket, prefix) == objects  # the same bytes, stored once

    if s3_server.checks_credentials:
        wrong = "Wr0ng-" + s3_server.secret_key[::-1]
        ok(config_dir, "secret", "update", "s3", f"--secret={wrong}")
        refused = mlrig(config_dir, "pipeline", "run", PIPELINE)
        line = assert_one_line_error(refused.exit_code, refused.stdout, refused.stderr)
        assert "'lake'" in line and f"'{bucket}'" in line and s3_server.endpoint_url in line
        assert wrong not in refused.output and s3_server.secret_key not in refused.output
        ok(config_dir, "secret", "update", "s3", f"--secret={s3_server.secret_key}")

    # the values are in the secrets file and nowhere else: not in the config dir (records,
    # logs, component files), not in the export, not in the bucket
    (secrets_file,) = config_dir.rglob("secrets.yaml")
    assert yaml.safe_load(secrets_file.read_text())["secrets"]["s3"]["secret"] == \
        s3_server.secret_key
    values = [s3_server.secret_key, s3_server.access_key]
    assert files_holding(config_dir, values, besides=secrets_file) == []
    assert files_holding(export.parent, values, besides=secrets_file) == []
    assert not any(v.encode() in data for data in s3_server.objects(bucket).values()
                   for v in values)

    # an update keeps a new reference verbatim
    ok(config_dir, "artifact-store", "update", "lake", "--secret={{s3.other}}")
    described = json.loads(ok(config_dir, "artifact-store", "describe", "lake", "-o",
                              "json").stdout)["artifact_store"]["config"]
    assert described["secret"] == "{{s3.other}}"
    bad_key = mlrig(config_dir, "pipeline", "run", PIPELINE)
    line = assert_one_line_error(bad_key.exit_code, bad_key.stdout, bad_key.stderr)
    assert "no key 'other'" in line
