"""stack export / import: the bundle, secrets, conflicts, dry runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlrig.client import Client
from mlrig.exceptions import AlreadyExistsError
from mlrig.models import ComponentType
from mlrig.testing.clients import add_stack, make_client
from mlrig.testing.files import data_files
from mlrig.testing.stores import contents

A = ComponentType.ARTIFACT_STORE


@pytest.fixture
def dev(client: Client) -> Client:
    client.register_component("artifact_store", "lake", "s3",
                              {"path": "s3://bucket/p", "key": "AK", "secret": "SK"})
    client.register_component("alerter", "slack", "slack", {"slack_token": "xoxb-1",
                                                            "default_slack_channel_id": "C1"})
    add_stack(client, alerter="slack")
    return client


def test_export_writes_a_versioned_bundle_without_secrets(cli, dev: Client,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    result = cli("stack", "export", "dev")
    assert result.exit_code == 0, result.stderr
    path = Path.cwd() / "dev.yaml"
    assert f"Exported stack 'dev' to file '{path}'." in result.stdout
    doc = yaml.safe_load(path.read_text())
    assert doc["format_version"] == 1 and doc["kind"] == "mlrig-stack"
    assert doc["stack"] == {"name": "dev", "components": {
        "alerter": "slack", "artifact_store": "lake", "metadata_store": "default",
        "orchestrator": "default"}}
    by_name = {(c["type"], c["name"]): c for c in doc["components"]}
    lake = by_name[("artifact_store", "lake")]
    assert lake["flavor"] == "s3"
    assert lake["config"] == {"path": "s3://bucket/p", "key": "AK"}
    assert lake["omitted_secrets"] == ["secret"]
    assert "SK" not in path.read_text() and "xoxb-1" not in path.read_text()
    with_secrets = cli("stack", "export", "dev", "-", "--include-secrets")
    assert with_secrets.exit_code == 0
    assert yaml.safe_load(with_secrets.stdout)["secrets_included"] is True
    assert "xoxb-1" in with_secrets.stdout
    # masked everywhere else too
    assert "SK" not in cli("artifact-store", "describe", "lake").stdout
    assert "SK" not in cli("artifact-store", "list").stdout
    assert "SK" in cli("artifact-store", "list", "--show-secrets", "-o", "json").stdout


def test_round_trip_into_another_profile(cli, dev: Client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = tmp_path / "dev.yaml"
    assert cli("stack", "export", "dev", str(bundle), "--include-secrets").exit_code == 0
    assert cli("profile", "create", "other").exit_code == 0
    result = cli("--profile", "other", "stack", "import", str(bundle))
    assert result.exit_code == 0, result.stderr
    other = make_client(profile="other")
    imported, original = other.get_stack("dev"), dev.get_stack("dev")
    for type_, name in original.components.items():
        mine, theirs = dev.get_component(type_, name), other.get_component(
            type_, imported.components[type_])
        if type_ is ComponentType.METADATA_STORE:  # each profile keeps its own default
            assert imported.components[type_] == "default"
            assert theirs.id != mine.id and theirs.config != mine.config
            continue
        assert (theirs.flavor, theirs.config) == (mine.flavor, mine.config)
        if type_ in (A, ComponentType.ALERTER):  # created there: same identity
            assert theirs.id == mine.id
    # exporting the import gives the same bundle content, but for the profile's own default
    again = tmp_path / "again.yaml"
    assert cli("--profile", "other", "stack", "export", "dev", str(again),
               "--include-secrets").exit_code == 0
    first, second = yaml.safe_load(bundle.read_text()), yaml.safe_load(again.read_text())
    for doc in (first, second):  # reused components keep the target's own ids
        for c in doc["components"]:
            del c["id"]
            if c["type"] == "metadata_store":
                assert c.pop("profile_default") is True
                del c["config"]
    assert first == second


def test_dry_run_shows_create_reuse_and_conflict(cli, dev: Client, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                 config_dir: Path) -> None:
    bundle = tmp_path / "dev.yaml"
    assert cli("stack", "export", "dev", str(bundle)).exit_code == 0
    assert cli("artifact-store", "update", "lake", "--region=eu").exit_code == 0
    doc = yaml.safe_load(bundle.read_text())
    for c in doc["components"]:
        c["id"] = "0" * 32  # as if it came from another machine
    bundle.write_text(yaml.safe_dump(doc))
    before = data_files(config_dir)
    result = cli("stack", "import", "copy", str(bundle), "--dry-run", "-o", "json")
    assert result.exit_code == 1  # the conflict would refuse the import
    plan = json.loads(result.stdout)["plan"]
    actions = {(a["type"], a["source_name"]): a["action"] for a in plan["actions"]}
    assert actions[("artifact_store", "lake")] == "conflict"  # region differs
    assert actions[("alerter", "slack")] == "reuse"  # the secret left out is not compared
    assert actions[("orchestrator", "default")] == "reuse"
    assert actions[(None, "copy")] == "create"
    table = cli("stack", "import", "copy", str(bundle), "--dry-run", "--rename-conflicts")
    assert table.exit_code == 0, table.stderr
    assert "RENAME" in table.stdout and "lake-2" in table.stdout
    assert data_files(config_dir) == before
    refused = cli("stack", "import", "copy", str(bundle))
    assert refused.exit_code == 1 and "artifact store 'lake'" in refused.stderr
    assert data_files(config_dir) == before
    done = cli("stack", "import", "copy", str(bundle), "--rename-conflicts")
    assert done.exit_code == 0, done.stderr
    assert dev.get_stack("copy").components[A] == "lake-2"
    assert dev.get_component(A, "lake-2").config == {"path": "s3://bucket/p", "key": "AK"}
    assert "without its secret attribute(s) 'secret'" in done.stderr


def test_import_into_an_empty_place_needs_required_secrets(cli, dev: Client,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    bundle = tmp_path / "dev.yaml"
    assert cli("stack", "export", "dev", str(bundle)).exit_code == 0
    assert cli("profile", "create", "other").exit_code == 0
    other = make_client(profile="other")
    before = contents(other)
    args = ("--profile", "other", "stack", "import", str(bundle), "--rename-conflicts")
    refused = cli(*args)
    assert refused.exit_code == 1
    assert "--secret alerter/slack/slack_token=VALUE" in refused.stderr
    assert contents(other) == before
    token = tmp_path / "token.txt"
    token.write_text("xoxb-2\n")
    bad = cli(*args, "--secret", "alerter/ghost/slack_token=x")
    assert bad.exit_code == 1 and "alerter 'ghost'" in bad.stderr
    assert cli(*args, "--secret", "nonsense").exit_code == 2
    ok = cli(*args, "--secret", f"alerter/slack/slack_token=@{token}")
    assert ok.exit_code == 0, ok.stderr
    assert other.get_component("alerter", "slack").config["slack_token"] == "xoxb-2"


def test_custom_flavors_travel_with_the_stack(cli, client: Client, plugin: Path,  # type: ignore[no-untyped-def]
                                              tmp_path: Path) -> None:
    src = "mlrig_test_plugin.custom.KubeflowOrchestrator"
    assert cli("orchestrator", "flavor", "register", src).exit_code == 0
    assert cli("orchestrator", "register", "kf", "-f", "kubeflow", "--host=k8s",
               "--api_key=k3y").exit_code == 0
    assert cli("stack", "register", "kube", "-o", "kf", "-m", "default", "-a",
               "default").exit_code == 0
    bundle = tmp_path / "kube.yaml"
    assert cli("stack", "export", "kube", str(bundle)).exit_code == 0
    doc = yaml.safe_load(bundle.read_text())
    assert doc["flavors"] == [{"type": "orchestrator", "name": "kubeflow", "source": src}]
    assert "k3y" not in bundle.read_text()
    assert cli("profile", "create", "other").exit_code == 0
    imported = cli("--profile", "other", "stack", "import", str(bundle), "--rename-conflicts")
    assert imported.exit_code == 0, imported.stderr
    other = make_client(profile="other")
    assert [f.name for f in other.list_flavors("orchestrator") if f.origin == "profile"] == [
        "kubeflow"]
    assert other.get_component("orchestrator", "kf").config == {"host": "k8s",
                                                                "namespace": "kubeflow"}
    # a different class under the same flavor name in the target is a conflict
    assert cli("profile", "create", "third").exit_code == 0
    assert cli("--profile", "third", "orchestrator", "flavor", "register",
               "mlrig_test_plugin.custom.OtherKubeflowOrchestrator").exit_code == 0
    third = make_client(profile="third")
    before = contents(third)
    clash = cli("--profile", "third", "stack", "copy", "kube", "kube", "--from", "default",
                "--rename-conflicts")
    assert clash.exit_code == 1 and "flavor 'kubeflow'" in clash.stderr
    assert contents(third) == before


@pytest.mark.parametrize("text, message", [
    ("just text", "not a mapping"),
    ("kind: mlrig-stack\n", "'format_version' is missing"),
    ("format_version: 1\nkind: other\n", "unknown kind"),
    # (the stacks are checked before the components: a stack that also lacked a mandatory
    # component would be refused for that)
    ("format_version: 1\nkind: mlrig-stack\nstack: {name: s, components: {orchestrator: o,"
     " metadata_store: m, artifact_store: a}}\ncomponents: []\n",
     "which the bundle does not contain"),
    ("format_version: 1\nkind: mlrig-stack\nstack: {name: s, components: {orchestrator: o}}\n"
     "components: []\n", "lacks a mandatory component"),
    ("format_version: 1\nkind: mlrig-stack\nstack: {name: '../x', components: {}}\n",
     "Invalid stack name"),
    ("format_version: 1\nkind: mlrig-stack\nstack: {name: s, components: {orchestrator: o,"
     " metadata_store: m, artifact_store: a}}\ncomponents: [{type: orchestrator, name: o, "
     "flavor: local}, {type: metadata_store, name: m, flavor: sqlite, config: {uri: x}}, "
     "{type: artifact_store, name: a, flavor: nope}]\n", "no flavor 'nope'"),
])
def test_malformed_bundles_are_refused(cli, client: Client, tmp_path: Path, config_dir: Path,  # type: ignore[no-untyped-def]
                                       *, text: str, message: str) -> None:
    bundle = tmp_path / "b.yaml"
    bundle.write_text(text)
    before = data_files(config_dir)
    result = cli("stack", "import", str(bundle))
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr
    assert data_files(config_dir) == before


def test_import_real_executable_round_trip(mlrig_exe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert mlrig_exe("artifact-store", "register", "lake", "-f", "local",
                     "--path=/data").exit_code == 0
    assert mlrig_exe("stack", "register", "dev", "-o", "default", "-m", "default", "-a",
                     "lake").exit_code == 0
    exported = mlrig_exe("stack", "export", "dev", cwd=tmp_path)
    assert exported.exit_code == 0, exported.stderr
    assert (tmp_path / "dev.yaml").is_file()
    imported = mlrig_exe("stack", "import", "dev-copy", "dev.yaml", cwd=tmp_path)
    assert imported.exit_code == 0, imported.stderr
    described = mlrig_exe("stack", "describe", "dev-copy", "-o", "json")
    assert json.loads(described.stdout)["stack"]["components"]["artifact_store"] == "lake"


M = ComponentType.METADATA_STORE


# ---------------------------------------------------------------------------- reuse by id
@pytest.fixture
def copied(client: Client) -> Client:
    """Stack s1 (artifact store a1, mysql metadata store m1) copied to the profile p2."""
    client.register_component(A, "a1", "local", {"path": "/tmp/a1"})
    client.register_component(M, "m1", "mysql", {"host": "h", "database": "d",
                                                 "username": "u", "password": "pw"})
    client.register_stack("s1", {"orchestrator": "default", "metadata_store": "m1",
                                 "artifact_store": "a1"})
    client.create_profile("p2")
    client.copy_stack("s1", "s1", to_profile="p2")
    return client


def in_p2() -> Client:
    return make_client(profile="p2")


def test_stack_copy_does_not_reuse_a_same_id_component_configured_differently(
        copied: Client) -> None:
    in_p2().update_component(A, "a1", {"path": "/other"})
    before = contents(copied, "p2")
    plan = copied.copy_stack("s1", "s10", to_profile="p2", dry_run=True)
    actions = {(a.kind, a.type, a.source_name): a for a in plan.actions}
    assert actions[("component", A, "a1")].action == "conflict"
    assert actions[("component", M, "m1")].action == "reuse"  # unchanged: still the same
    with pytest.raises(AlreadyExistsError, match="artifact store 'a1': the target has a "
                       "component of that name that is configured differently"):
        copied.copy_stack("s1", "s10", to_profile="p2")
    assert contents(copied, "p2") == before

    copied.copy_stack("s1", "s10", to_profile="p2", rename_conflicts=True)
    target = in_p2()
    assert target.get_stack("s10").components[A] == "a1-2"
    assert target.get_component(A, "a1-2").config == {"path": "/tmp/a1"}
    assert target.get_component(A, "a1").config == {"path": "/other"}
    assert target.get_component(A, "a1-2").id != copied.get_component(A, "a1").id


def test_stack_import_does_not_reuse_a_same_id_component_configured_differently(
        copied: Client, tmp_path: Path) -> None:
    bundle = copied.export_stack("s1", tmp_path / "s1.yaml")
    target = in_p2()
    target.update_component(A, "a1", {"path": "/other"})
    _, plan = target.plan_stack_import(bundle, "s11")
    assert {a.source_name: a.action for a in plan.actions
            if a.kind == "component"}["a1"] == "conflict"
    with pytest.raises(AlreadyExistsError, match="configured differently"):
        target.import_stack(bundle, "s11")
    assert "s11" not in {s.name for s in target.list_stacks()}
    target.import_stack(bundle, "s11", rename_conflicts=True)
    assert target.get_stack("s11").components[A] == "a1-2"


def test_a_given_secret_is_compared_with_the_component_it_would_reuse(
        copied: Client, tmp_path: Path) -> None:
    bundle = copied.export_stack("s1", tmp_path / "s1.yaml")  # the password is left out
    target = in_p2()
    # left out and not given: not compared, the target's component is reused
    _, plan = target.plan_stack_import(bundle, "s11")
    assert {a.source_name: a.action for a in plan.actions
            if a.kind == "component"}["m1"] == "reuse"
    # given and different: never dropped silently
    different = {(M, "m1"): {"password": "zz"}}
    with pytest.raises(AlreadyExistsError, match="metadata store 'm1': the target has a "
                       "component of that name whose value of 'password' differs from the "
                       "one given with --secret"):
        target.import_stack(bundle, "s11", secrets=different)
    assert "s11" not in {s.name for s in target.list_stacks()}
    # given and equal: reused
    target.import_stack(bundle, "s12", secrets={(M, "m1"): {"password": "pw"}})
    assert target.get_stack("s12").components[M] == "m1"
    # given, different, renaming asked for: a new component with the given value
    target.import_stack(bundle, "s13", secrets=different, rename_conflicts=True)
    assert target.get_stack("s13").components[M] == "m1-2"
    assert target.get_component(M, "m1-2").config["password"] == "zz"
    assert target.get_component(M, "m1").config["password"] == "pw"


def test_a_same_id_component_under_another_name_is_reused_only_when_identical(
        copied: Client) -> None:
    target = in_p2()
    target.rename_component(A, "a1", "renamed")
    plan = copied.copy_stack("s1", "s20", to_profile="p2")
    assert in_p2().get_stack("s20").components[A] == "renamed"
    assert any(a.action == "reuse" and a.name == "renamed" for a in plan.actions)

    target.update_component(A, "renamed", {"path": "/changed"})
    plan = copied.copy_stack("s1", "s21", to_profile="p2")
    created = in_p2().get_component(A, "a1")
    assert in_p2().get_stack("s21").components[A] == "a1"
    assert created.config == {"path": "/tmp/a1"}
    assert created.id != in_p2().get_component(A, "renamed").id  # a component of its own
    assert any(a.action == "create" and a.name == "a1" and "new id" in a.detail
               for a in plan.actions)
