"""Secrets: every field a flavor marks secret stays masked everywhere unless asked for.

"Everywhere": every table, JSON and YAML output, export, log line and error message. A
leak is looked for as any 8-character piece of a secret, so a value cut by a narrow table
column still counts. Files that may hold secrets are 0600 in 0700 directories, whatever
the umask, and ``mlrig status`` reports a wider mode it finds.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrig import flavors as flavor_registry
from mlrig.models import ComponentType, FlavorRecord
from mlrig.testing.clients import quiet_client
from mlrig.testing.runs import env_for, mlrig_command, run_mlrig_in
from mlrig.testing.stores import store_of

# a flavor module beside this file, importable (here and in subprocesses) through the
# ``secret_flavor_path`` fixture
VAULT = "secret_flavor.VaultSecretsManager"
FLAVOR_DIR = Path(__file__).resolve().parent

# the non-secret attributes each flavor with secrets needs
REQUIRED: dict[tuple[str, str], dict[str, str]] = {
    ("metadata_store", "mysql"): {"host": "db.internal", "database": "meta", "username": "ml"},
    ("metadata_store", "postgresql"): {"host": "db.internal", "database": "meta",
                                       "username": "ml"},
    ("artifact_store", "s3"): {"path": "s3://bucket/prefix", "key": "AKIAPUBLICKEYID"},
    ("container_registry", "dockerhub"): {"uri": "docker.io/team", "username": "bot"},
    ("experiment_tracker", "mlflow"): {"tracking_uri": "http://mlflow:5000"},
    ("alerter", "slack"): {"default_slack_channel_id": "C0001"},
    ("annotator", "label_studio"): {},
    ("secrets_manager", "vault"): {"url": "https://vault:8200"},
}


def secret_value(type_: str, field: str) -> str:
    if field == "pin":
        return "918273645"
    return f"Zx{zlib.crc32(f'{type_}/{field}'.encode()):010d}Qk-{field[:4]}-S3cr3tV4lue"


def flavors_with_secrets() -> list[tuple[str, str, list[str]]]:
    found = []
    for spec in flavor_registry.builtin_specs():
        secret = sorted(spec.load().secret_fields())
        if secret:
            found.append((spec.type.value, spec.name, secret))
    found.append(("secrets_manager", "vault", ["pin", "role_token"]))
    return found


def leaked(secret: str, text: str) -> bool:
    return any(secret[i:i + 8] in text for i in range(len(secret) - 7))


@pytest.fixture
def secrets_world(config_dir: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
                  ) -> dict[str, Any]:
    """One component of every flavor that has secret fields, registered through the CLI
    with the secrets on the command line, all in the active stack where a type allows."""
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping: a leak would be one piece of text
    monkeypatch.syspath_prepend(str(FLAVOR_DIR))  # VAULT's module, loaded by path
    existing = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(FLAVOR_DIR) + (os.pathsep + existing
                                                        if existing else ""))
    c = quiet_client(config_dir)
    c.config()
    with store_of(c).write() as txn:
        txn.create_flavor(FlavorRecord(ComponentType.SECRETS_MANAGER, "vault", VAULT))
    components, secrets = [], []
    for type_, flavor, fields in flavors_with_secrets():
        assert (type_, flavor) in REQUIRED, f"add {type_}/{flavor} to REQUIRED"
        name = f"sec-{flavor}".replace("_", "-")
        values = {**REQUIRED[(type_, flavor)],
                  **{f: secret_value(type_, f) for f in fields}}
        result = cli(type_.replace("_", "-"), "register", name, "-f", flavor,
                     *[f"--{k}={v}" for k, v in values.items()])
        assert result.exit_code == 0, result.output
        assert not any(leaked(secret_value(type_, f), result.output) for f in fields)
        components.append((type_, name, fields))
        secrets += [secret_value(type_, f) for f in fields]
    # a stack with one of each (where the type is unique per stack)
    chosen: dict[str, str] = {"orchestrator": "default"}
    for type_, name, _ in components:
        chosen.setdefault(type_, name)
    options = [x for t, n in chosen.items() for x in (f"--{t.replace('_', '-')}", n)]
    assert cli("stack", "register", "vaulted", *options, "--set").exit_code == 0
    return {"cli": cli, "components": components, "secrets": secrets, "config": config_dir}


def outputs(world: dict[str, Any], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Every read, list, describe and export output, as (what, text)."""
    cli = world["cli"]
    commands: list[tuple[str, ...]] = [
        ("stack", "describe"), ("stack", "describe", "vaulted", "-o", "json"),
        ("stack", "describe", "vaulted", "-o", "yaml"), ("stack", "list", "-o", "json"),
        ("profile", "describe", "-o", "yaml"), ("status", "-o", "json"), ("status",),
        ("stack", "export", "vaulted", "-"), ("profile", "export", "default", "-"),
        ("-v", "stack", "describe"),
    ]
    for type_, name, _ in world["components"]:
        group = type_.replace("_", "-")
        for fmt in ("table", "json", "yaml"):
            commands += [(group, "list", "-o", fmt), (group, "describe", name, "-o", fmt)]
        commands += [(group, "describe"), (group, "get"), ("--verbose", group, "describe", name),
                     (group, "copy", name, f"{name}-copy"),
                     (group, "describe", f"{name}-copy", "-o", "json"),
                     (group, "rename", f"{name}-copy", f"{name}-moved"),
                     (group, "update", f"{name}-moved"),
                     (group, "describe", f"{name}-moved")]
    for args in commands:
        result = cli(*args)
        yield " ".join(args), result.stdout + result.stderr
    for name in ("vaulted.yaml", "default-profile.yaml"):
        target = tmp_path / name
        cmd = (("stack", "export", "vaulted", str(target)) if name.startswith("vaulted")
               else ("profile", "export", "default", str(target)))
        result = cli(*cmd)
        yield " ".join(cmd), result.stdout + result.stderr
        if target.exists():
            yield f"file written by {' '.join(cmd)}", target.read_text()


def test_secrets_are_masked_in_every_output(secrets_world: dict[str, Any],
                                            tmp_path: Path) -> None:
    seen = 0
    for what, text in outputs(secrets_world, tmp_path):
        for secret in secrets_world["secrets"]:
            assert not leaked(secret, text), f"secret leaked by `{what}`:\n{text}"
        seen += 1
    assert seen > 40
    # and the mask is really there (the values were not simply dropped from the output)
    for type_, name, _ in secrets_world["components"]:
        result = secrets_world["cli"](type_.replace("_", "-"), "describe", name, "-o", "json")
        config = json.loads(result.stdout)[type_]["config"]
        for field, value in config.items():
            if field in dict.fromkeys(_secret_fields(type_, name, secrets_world)):
                assert value == "********", (type_, field, value)


def _secret_fields(type_: str, name: str, world: dict[str, Any]) -> list[str]:
    return next(f for t, n, f in world["components"] if (t, n) == (type_, name))


def test_show_secrets_shows_them(secrets_world: dict[str, Any]) -> None:
    cli = secrets_world["cli"]
    for type_, name, fields in secrets_world["components"]:
        group = type_.replace("_", "-")
        result = cli(group, "describe", name, "-o", "json", "--show-secrets")
        config = json.loads(result.stdout)[type_]["config"]
        for field in fields:
            assert str(config[field]) == secret_value(type_, field)
        table = cli(group, "describe", name, "--show-secrets").stdout
        assert all(secret_value(type_, f) in table for f in fields), table
        listing = cli(group, "list", "-o", "yaml", "--show-secrets").stdout
        assert all(secret_value(type_, f) in listing for f in fields)


def test_stored_secret_values_are_the_given_ones(secrets_world: dict[str, Any]) -> None:
    """A SecretStr field keeps the real value (pydantic's JSON dump would store stars)."""
    c = quiet_client(secrets_world["config"])
    for type_, name, fields in secrets_world["components"]:
        component = c.get_component(type_, name)
        for field in fields:
            assert str(component.config[field]) == secret_value(type_, field), (type_, field)


def test_export_with_secrets_only_when_asked_and_then_0600(secrets_world: dict[str, Any],
                                                          tmp_path: Path) -> None:
    cli = secrets_world["cli"]
    plain, full = tmp_path / "plain.yaml", tmp_path / "full.yaml"
    assert cli("profile", "export", "default", str(plain)).exit_code == 0
    result = cli("profile", "export", "default", str(full), "--include-secrets")
    assert result.exit_code == 0, result.output
    text = full.read_text()
    assert all(secret in text for secret in secrets_world["secrets"])
    assert stat.S_IMODE(full.stat().st_mode) == 0o600
    assert not any(leaked(s, plain.read_text()) for s in secrets_world["secrets"])


def test_secrets_never_in_error_messages(secrets_world: dict[str, Any]) -> None:
    cli = secrets_world["cli"]
    for type_, name, fields in secrets_world["components"]:
        group = type_.replace("_", "-")
        flavor = next(f for t, f, _ in flavors_with_secrets() if t == type_ and
                      f"sec-{f}".replace("_", "-") == name)
        secret_args = [f"--{f}={secret_value(type_, f)}" for f in fields]
        required = [f"--{k}={v}" for k, v in REQUIRED[(type_, flavor)].items()]
        attempts = [
            [group, "register", name, "-f", flavor, *required, *secret_args],  # exists
            [group, "register", "n2", "-f", flavor, *required, *secret_args, "--bogus=1"],
            [group, "register", "bad/name", "-f", flavor, *required, *secret_args],
            [group, "register", "n3", "-f", "nope", *secret_args],
            [group, "register", "n4", "-f", flavor, *required,
             *[f"-{f}={secret_value(type_, f)}" for f in fields]],  # typo'd dashes
            [group, "register", "n5", "-f", flavor, *required, *secret_args, *secret_args],
            [group, "update", name, *secret_args, "--bogus=1"],
            [group, "update", "missing", *secret_args],
            ["--debug", group, "register", name, "-f", flavor, *required, *secret_args],
        ]
        for args in attempts:
            result = cli(*args)
            assert result.exit_code in (1, 2), (args, result.output)
            for field in fields:
                assert not leaked(secret_value(type_, field), result.output), (args,
                                                                                result.output)


def test_an_integer_secret_of_the_wrong_type_is_not_echoed(secrets_world: dict[str, Any]
                                                           ) -> None:
    result = secrets_world["cli"]("secrets-manager", "register", "v2", "-f", "vault",
                                  "--url=https://v", "--pin=Zx7741pinNotANumber99")
    assert result.exit_code == 1
    assert "pin" in result.stderr
    assert not leaked("Zx7741pinNotANumber99", result.output)


def test_library_log_lines_carry_no_secrets(config_dir: Path, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    from mlrig.client import Client

    caplog.set_level(logging.DEBUG)
    c = Client(config_dir)  # events go to the 'mlrig' logger
    c.config()
    token = "xoxb-Zx99887766-LogLineSecret"
    c.register_component("alerter", "slack", "slack", {"slack_token": token})
    for method, args in (("copy_component", ("alerter", "slack", "slack2")),
                         ("rename_component", ("alerter", "slack2", "slack3")),
                         ("update_component", ("alerter", "slack3",
                                               {"default_slack_channel_id": "C1"}))):
        if hasattr(c, method):
            getattr(c, method)(*args)
    if hasattr(c, "export_profile"):
        c.export_profile("default", tmp_path / "p.yaml")
    assert caplog.records, "the client logged nothing: the check would be vacuous"
    for record in caplog.records:
        assert not leaked(token, record.getMessage()), record.getMessage()


# ----------------------------------------------------------------------------- file modes
def modes(root: Path) -> list[tuple[str, str]]:
    """Paths under ``root`` (and root) whose mode is wider than 0700 / 0600."""
    wide = []
    for dirpath, _dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if stat.S_IMODE(d.stat().st_mode) & 0o077:
            wide.append((str(d), oct(stat.S_IMODE(d.stat().st_mode))))
        for f in filenames:
            p = d / f
            mode = stat.S_IMODE(p.lstat().st_mode)
            if mode & 0o077:
                wide.append((str(p), oct(mode)))
    return wide


def test_files_are_private_whatever_the_umask(config_dir: Path, tmp_path: Path) -> None:
    """With umask 000 (the worst case), every directory mlrig creates in the config dir is
    0700 and every file 0600: profiles, stores, components, locks, caches, SQLite files."""
    exe = " ".join(f"'{part}'" for part in mlrig_command())
    script = "\n".join([
        "set -e", "umask 000",
        f"{exe} profile list",
        f"{exe} metadata-store register db -f mysql --host=h --database=d --username=u "
        "--password=Zx-umask-secret-123",
        f"{exe} alerter register al -f slack --slack_token=xoxb-Zx-umask-secret",
        f"{exe} stack register s -o default -m db -a default --set",
        f"{exe} profile create second",
        f"{exe} profile create third --store-type sql",
        f"{exe} --profile second artifact-store register lake -f s3 --path=s3://b/p "
        "--secret=Zx-umask-secret-456",
        f"{exe} artifact-store copy default default2",
        f"{exe} stack rename s s2",
        f"{exe} profile copy second fourth",
    ])
    proc = subprocess.run(["bash", "-c", script], env=env_for(config_dir), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert modes(config_dir) == []
    assert (config_dir / "profiles" / "third").is_dir()


def test_status_reports_wider_modes(config_dir: Path, cli: Any) -> None:
    c = quiet_client(config_dir)
    c.config()
    c.register_component("metadata_store", "db", "mysql", {
        "host": "h", "database": "d", "username": "u", "password": "pw"})
    result = cli("status", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"]["warnings"] == []
    store = Path(store_of(c).root)  # type: ignore[attr-defined]
    component = store / "components" / "metadata_store" / "db.yaml"
    wide = {config_dir: 0o755, config_dir / "config.yaml": 0o644, store: 0o750,
            component: 0o604, component.parent: 0o711}
    for path, mode in wide.items():
        path.chmod(mode)
    try:
        data = json.loads(cli("status", "-o", "json").stdout)["status"]
        warnings = "\n".join(data["warnings"])
        for path in wide:
            assert f"'{path}'" in warnings, (path, warnings)
        table = cli("status")
        assert table.exit_code == 0
        for path in wide:
            assert str(path) in table.stderr + table.stdout
        real = run_mlrig_in(config_dir, "status")
        assert real.exit_code == 0
        assert str(component) in real.stderr + real.stdout
    finally:
        for path in wide:
            path.chmod(0o700 if path.is_dir() else 0o600)
    assert json.loads(cli("status", "-o", "json").stdout)["status"]["warnings"] == []
