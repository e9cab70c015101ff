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


def test_the_same_pipeline_on_worker_processes_and_dask_with_the_s3_store(
        config_dir: Path, s3_server: S3Server, s3_path: str) -> None:
    """The store (with credentials resolved from references) travels to worker processes
    and Dask workers pickled, in memory; each process opens its own connection."""
    ok(config_dir, "secrets-manager", "register", "vault", "-f", "local")
    ok(config_dir, "artifact-store", "register", "lake", "-f", "s3", f"--path={s3_path}",
       f"--endpoint_url={s3_server.endpoint_url}", "--key={{s3.key}}",
       "--secret={{s3.secret}}")
    ok(config_dir, "orchestrator", "register", "pool", "-f", "local", "--parallelism=2")
    ok(config_dir, "orchestrator", "register", "cluster", "-f", "dask")
    for name, orchestrator in (("pooled", "pool"), ("dasked", "cluster")):
        ok(config_dir, "stack", "copy", "default", name)
        ok(config_dir, "stack", "update", name, "-o", orchestrator, "-a", "lake", "-x",
           "vault")
    # both stacks share the secrets manager 'vault'
    ok(config_dir, "--stack", "pooled", "secret", "register", "s3",
       f"--key={s3_server.access_key}", f"--secret={s3_server.secret_key}")
    bucket, _, prefix = s3_path.removeprefix("s3://").partition("/")
    first = ok(config_dir, "--stack", "pooled", "pipeline", "run", PIPELINE)
    assert "completed" in first.stdout
    objects = s3_server.objects(bucket, prefix)
    assert len(objects) == 3  # one output per step
    # the same code on Dask (MLRIG_ACTIVE_STACK, as another shell would): served from the
    # cache, the outputs are the same objects
    second = mlrig(config_dir, "pipeline", "run", PIPELINE, MLRIG_ACTIVE_STACK="dasked")
    assert second.exit_code == 0, second.stderr
    assert "Using cached version of step" in second.output
    fresh = mlrig(config_dir, "pipeline", "run", PIPELINE, "--config", str(
        _config(config_dir, count=7)), MLRIG_ACTIVE_STACK="dasked")
    assert fresh.exit_code == 0, fresh.stderr
    assert len(s3_server.objects(bucket, prefix)) > len(objects)
    (secrets_file,) = config_dir.rglob("secrets.yaml")
    assert files_holding(config_dir, [s3_server.secret_key], besides=secrets_file) == []


def _config(config_dir: Path, count: int) -> Path:
    path = config_dir.parent / "run.yaml"
    path.write_text(f"parameters:\n  make_numbers:\n    count: {count}\n")
    return path


def _json(config_dir: Path, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(ok(config_dir, *args, "-o", "json").stdout)  # type: ignore[no-any-return]


def last_run(config_dir: Path) -> tuple[dict, list[str], dict[str, str]]:  # type: ignore[type-arg]
    """The newest run described, its artifacts' URIs and the parts of its last step's
    cache key, as the commands give them."""
    (run,) = _json(config_dir, "pipeline", "runs", "list", "--limit", "1")["runs"]
    described = _json(config_dir, "pipeline", "runs", "describe", run["id"])["run"]
    uris = [a["uri"] for s in described["steps"] for a in s["outputs"].values()]
    explained = _json(config_dir, "pipeline", "runs", "explain-cache", run["id"], "total")[
        "explanation"]
    return described, uris, {p["name"]: p["value"] for p in explained["parts"]}


def test_a_reference_in_a_field_that_is_no_secret_is_shown_and_recorded_as_the_reference(
        config_dir: Path, tmp_path: Path) -> None:
    """A local artifact store's ``path`` and a SQLite metadata store's ``uri`` given as
    references: the run uses the directories the secret names, and no output, record, log,
    error or file says where they are — everything shows ``{{hidden.path}}``."""
    vault = tmp_path / "vault-7f3a9c1e"
    vault.mkdir()
    store_dir, database = str(vault / "artifact-dir"), str(vault / "runs-db.sqlite")
    values = [store_dir, database, "vault-7f3a9c1e"]
    ok(config_dir, "secrets-manager", "register", "vault", "-f", "local")
    ok(config_dir, "artifact-store", "register", "lake", "-f", "local",
       "--path={{hidden.path}}")
    ok(config_dir, "metadata-store", "register", "meta", "-f", "sqlite",
       "--uri={{ hidden.db }}")
    ok(config_dir, "stack", "copy", "default", "hidden")
    ok(config_dir, "stack", "update", "hidden", "-a", "lake", "-m", "meta", "-x", "vault")
    ok(config_dir, "stack", "set", "hidden")
    ok(config_dir, "secret", "register", "hidden", f"--path={store_dir}", f"--db={database}")

    outputs = [ok(config_dir, "pipeline", "run", PIPELINE)]
    assert Path(database).is_file() and (Path(store_dir) / "artifacts" / "sha256").is_dir()
    outputs.append(ok(config_dir, "pipeline", "run", PIPELINE))  # from the cache
    assert "Using cached version of step" in outputs[-1].output
    described, uris, parts = last_run(config_dir)
    assert uris and all(u.startswith("{{hidden.path}}/artifacts/sha256/") for u in uris)
    assert parts["artifact_store"] == "local:{{hidden.path}}"
    artifact_id = described["steps"][-1]["outputs"]["output"]["id"]
    artifact = _json(config_dir, "artifact", "describe", artifact_id)["artifact"]
    assert artifact["uri"].startswith("{{hidden.path}}/")
    out = tmp_path / "total.json"
    ok(config_dir, "artifact", "get", artifact_id, "--out", str(out))  # the bytes are there
    assert json.loads(out.read_text()) == 20.0
    outputs += [mlrig(config_dir, *args) for args in (
        ("pipeline", "runs", "list"), ("pipeline", "runs", "describe", described["id"]),
        ("pipeline", "runs", "logs", described["id"]), ("artifact", "list"),
        ("artifact", "describe", artifact_id), ("pipeline", "list"))]

    # errors of both components name the references
    missing = mlrig(config_dir, "pipeline", "runs", "describe", "0" * 32)
    line = assert_one_line_error(missing.exit_code, missing.stdout, missing.stderr)
    assert "{{hidden.db}}" in line
    blocker = vault / "a-file"
    blocker.write_text("not a directory")
    ok(config_dir, "secret", "update", "hidden", f"--path={blocker}")
    refused = mlrig(config_dir, "pipeline", "run", PIPELINE)
    line = assert_one_line_error(refused.exit_code, refused.stdout, refused.stderr)
    assert "'lake'" in line and "{{hidden.path}}" in line
    outputs += [missing, refused]

    values.append(str(blocker))
    for result in outputs:
        assert not [v for v in values if v in result.output], result.output
    (secrets_file,) = config_dir.rglob("secrets.yaml")
    assert files_holding(config_dir, values, besides=secrets_file) == []
    assert files_holding(vault, values, besides=secrets_file) == []  # the database itself


def test_an_s3_endpoint_and_path_as_references_are_recorded_as_the_references(
        config_dir: Path, s3_server: S3Server, s3_path: str) -> None:
    ok(config_dir, "secrets-manager", "register", "vault", "-f", "local")
    ok(config_dir, "artifact-store", "register", "lake", "-f", "s3", "--path={{s3.path}}",
       "--endpoint_url={{s3.endpoint}}", "--key={{s3.key}}", "--secret={{s3.secret}}")
    ok(config_dir, "stack", "copy", "default", "cloud")
    ok(config_dir, "stack", "update", "cloud", "-a", "lake", "-x", "vault")
    ok(config_dir, "stack", "set", "cloud")
    ok(config_dir, "secret", "register", "s3", f"--path={s3_path}",
       f"--endpoint={s3_server.endpoint_url}", f"--key={s3_server.access_key}",
       f"--secret={s3_server.secret_key}")
    outputs = [ok(config_dir, "pipeline", "run", PIPELINE)]
    bucket, _, prefix = s3_path.removeprefix("s3://").partition("/")
    assert len(s3_server.objects(bucket, prefix)) == 3
    described, uris, parts = last_run(config_dir)
    assert uris and all(u.startswith("{{s3.path}}/artifacts/sha256/") for u in uris)
    assert parts["artifact_store"] == "s3:{{s3.endpoint}}/{{s3.path}}"
    # a bucket that does not exist: preflight names the references, not the values
    ok(config_dir, "secret", "update", "s3", "--path=s3://no-such-bucket-5c1d/x")
    refused = mlrig(config_dir, "pipeline", "run", PIPELINE)
    line = assert_one_line_error(refused.exit_code, refused.stdout, refused.stderr)
    assert "'lake'" in line and "{{s3.path}}" in line and "{{s3.endpoint}}" in line
    outputs += [refused, mlrig(config_dir, "pipeline", "runs", "describe", described["id"])]
    values = [s3_server.endpoint_url, s3_path, "no-such-bucket-5c1d"]
    for result in outputs:
        assert not [v for v in values if v in result.output], result.output
    (secrets_file,) = config_dir.rglob("secrets.yaml")
    assert files_holding(config_dir, values, besides=secrets_file) == []
