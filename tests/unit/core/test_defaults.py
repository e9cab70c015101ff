"""Copying and importing stacks between profiles: each profile's own ``default`` components.

The spec tells users to reuse the stacks of other profiles with ``stack copy``. The default
metadata and artifact stores that mlrig creates for each profile have paths of their own, so
the ``default`` of one profile never equals the ``default`` of another: a copy or an import
uses the target profile's own defaults (no option needed, and it says so), while a component
a user registered under a taken name stays a conflict with two ways out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.client import Client
from mlrig.core.defaults import is_profile_default
from mlrig.exceptions import AlreadyExistsError, InputError
from mlrig.models import Component, ComponentType
from mlrig.testing.clients import make_client
from mlrig.testing.files import data_files
from mlrig.testing.plugin import Run as Result
from mlrig.testing.stores import contents

A = ComponentType.ARTIFACT_STORE
M = ComponentType.METADATA_STORE
O = ComponentType.ORCHESTRATOR

USING_DEFAULT = ("Using the default {type} 'default' of profile '{target}' instead of the one "
                 "{origin} (each profile's default components keep their own paths).")


@pytest.fixture(params=["local", "sql"])
def store_type(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every profile (the default one too) on a local store, then on a SQLite store."""
    monkeypatch.setenv("MLRIG_DEFAULT_STORE_TYPE", request.param)
    return str(request.param)


def snapshot(config_dir: Path) -> dict[str, Any]:
    """Every data file, and what each profile's store holds. A SQLite database is compared
    by its content: closing a connection checkpoints its write-ahead log, which changes the
    files' bytes but nothing they hold."""
    files: dict[str, Any] = {k: v for k, v in data_files(config_dir).items()
                             if ".db" not in Path(k).name}
    client = make_client()
    for profile in client.config().profiles:
        files[f"store of {profile}"] = contents(client, profile)
    client.close()
    return files


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if not line.startswith("Running ")]


def spec_custom_stack(run: Any) -> None:
    """The spec's walkthrough: profile 'zenml' with the stack 'custom' (its own 'lake');
    ``run`` is the ``cli`` or the ``mlrig_exe`` fixture."""
    ok(run("profile", "create", "zenml"))
    ok(run("profile", "set", "zenml"))
    ok(run("artifact-store", "register", "lake", "--flavor", "local", "--path=/tmp/lake"))
    ok(run("stack", "register", "custom", "-o", "default", "-m", "default", "-a", "lake"))


def defaults_of(profile: str) -> dict[ComponentType, Component]:
    client = make_client(profile=profile)
    return {t: client.get_component(t, "default") for t in (O, M, A)}


# ---------------------------------------------------------------------------- the rule
def test_the_defaults_mlrig_creates_are_recognised_and_changed_ones_are_not(
        client: Client, config_dir: Path, tmp_path: Path) -> None:
    own = defaults_of("default")
    assert all(is_profile_default(c) for c in own.values())
    assert own[M].config["uri"].startswith(str(config_dir / "local_stores" / own[M].id))
    # the directory above local_stores is not compared: the same store used from elsewhere
    moved = Component(M, "default", "sqlite",
                      {"uri": f"/elsewhere/local_stores/{own[M].id}/metadata.db"}, id=own[M].id)
    assert is_profile_default(moved)
    # another id's paths, another name, another flavor, an extra attribute: not a default
    assert not is_profile_default(Component(A, "default", "local",
                                            {"path": own[A].config["path"]}))
    assert not is_profile_default(Component(A, "mine", "local", dict(own[A].config),
                                            id=own[A].id))
    assert not is_profile_default(Component(O, "default", "local_docker", {}))
    assert not is_profile_default(Component(A, "default", "local", {"path": "local_stores"},
                                            id="local_stores"))
    # a default that was updated is an ordinary component
    client.update_component(A, "default", {"path": str(tmp_path / "mine")})
    assert not is_profile_default(client.get_component(A, "default"))
    # a profile copy keeps the ids (and the files): its defaults are still recognised
    client.copy_profile("default", "twin")
    twin = defaults_of("twin")
    assert is_profile_default(twin[M]) and not is_profile_default(twin[A])


# ---------------------------------------------------------------------------- stack copy
def test_spec_custom_stack_copies_to_another_profile_with_no_flag(  # type: ignore[no-untyped-def]
        mlrig_exe, config_dir: Path, store_type: str) -> None:
    spec_custom_stack(mlrig_exe)
    source_before = contents(make_client(), "zenml")
    target = defaults_of("default")

    result = ok(mlrig_exe("stack", "copy", "custom", "custom", "--from", "zenml", "--to",
                          "default"))
    assert "Stack 'custom' successfully copied to 'custom' in profile 'default'!" in (
        result.stdout)
    assert USING_DEFAULT.format(type="metadata store", target="default",
                                origin="of profile 'zenml'") in result.stderr
    assert "Reusing the orchestrator 'default' of profile 'default'" in result.stderr
    assert "Registered stack component with type 'artifact_store' and name 'lake'." in (
        result.stderr)
    # the copy in 'default' uses default's own components; the source is unchanged
    described = json.loads(ok(mlrig_exe("--profile", "default", "stack", "describe", "custom",
                                        "-o", "json")).stdout)
    assert described["stack"]["components"] == {"orchestrator": "default",
                                                "metadata_store": "default",
                                                "artifact_store": "lake"}
    in_target = make_client(profile="default")
    assert {t: in_target.get_component(t, "default").id for t in (O, M, A)} == {
        t: c.id for t, c in target.items()}
    assert in_target.get_component(M, "default").config == target[M].config
    assert in_target.get_component(A, "lake").config == {"path": "/tmp/lake"}
    assert contents(make_client(), "zenml") == source_before
    assert make_client().config().profiles["zenml"].store_type == store_type


def test_a_stack_of_defaults_only_maps_each_default_and_the_dry_run_says_so(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, store_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(cli("profile", "create", "zenml"))
    ok(cli("--profile", "zenml", "stack", "copy", "default", "plain"))
    before = contents(make_client(), "default")
    dry = ok(cli("stack", "copy", "plain", "plain", "--from", "zenml", "--to", "default",
                 "--dry-run", "-o", "json"))
    actions = {(a["kind"], a["type"], a["source_name"]): (a["action"], a["name"])
               for a in json.loads(dry.stdout)["plan"]["actions"]}
    assert actions == {
        ("component", "artifact_store", "default"): ("use-default", "default"),
        ("component", "metadata_store", "default"): ("use-default", "default"),
        ("component", "orchestrator", "default"): ("reuse", "default"),
        ("stack", None, "plain"): ("create", "plain"),
    }
    monkeypatch.setenv("COLUMNS", "200")
    table = ok(cli("stack", "copy", "plain", "plain", "--from", "zenml", "--to", "default",
                   "--dry-run"))
    assert "USE-DEFAULT" in table.stdout and "own default" in table.stdout
    assert contents(make_client(), "default") == before
    done = ok(cli("stack", "copy", "plain", "plain", "--from", "zenml", "--to",
                  "default"))
    for type_ in ("metadata store", "artifact store"):
        assert USING_DEFAULT.format(type=type_, target="default",
                                    origin="of profile 'zenml'") in done.stderr
    target = make_client(profile="default")
    assert target.get_stack("plain").components == target.get_stack("default").components
    after = contents(target)
    assert after["components"] == before["components"]  # nothing copied


def test_a_target_on_postgresql_uses_its_own_defaults(cli, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    spec_custom_stack(cli)
    ok(cli("profile", "create", "team", "--store-type", "sql", "--url", pg_url))
    team = defaults_of("team")
    result = ok(cli("stack", "copy", "custom", "custom", "--to", "team"))
    assert USING_DEFAULT.format(type="metadata store", target="team",
                                origin="of profile 'zenml'") in result.stderr
    copied = make_client(profile="team")
    assert copied.get_component(M, copied.get_stack("custom").components[M]).id == team[M].id
    # and back: the copy in 'team' uses team's defaults, which map to zenml's own
    back = ok(cli("stack", "copy", "custom", "custom-back", "--from", "team", "--to",
                  "zenml"))
    assert USING_DEFAULT.format(type="metadata store", target="zenml",
                                origin="of profile 'team'") in back.stderr
    zenml = make_client(profile="zenml")
    assert zenml.get_stack("custom-back").components == zenml.get_stack("custom").components


# ---------------------------------------------------------------------------- export / import
def test_export_and_import_into_another_profile_uses_its_defaults(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, tmp_path: Path, store_type: str) -> None:
    spec_custom_stack(cli)
    ok(cli("stack", "register", "all-default", "-o", "default", "-m", "default", "-a",
           "default"))
    bundle = tmp_path / "custom.yaml"
    ok(cli("stack", "export", "all-default", str(bundle)))
    doc = yaml.safe_load(bundle.read_text())
    flags = {(c["type"], c["name"]): c.get("profile_default") for c in doc["components"]}
    assert flags == {("orchestrator", "default"): True, ("metadata_store", "default"): True,
                     ("artifact_store", "default"): True}
    source_before = contents(make_client(), "zenml")
    result = ok(cli("--profile", "default", "stack", "import", str(bundle)))
    assert "Stack 'all-default' successfully imported" in result.stdout
    for type_ in ("metadata store", "artifact store"):
        assert USING_DEFAULT.format(type=type_, target="default",
                                    origin="in the bundle") in result.stderr
    target = make_client(profile="default")
    assert target.get_stack("all-default").components == target.get_stack(
        "default").components
    assert len(target.list_components(M)) == len(target.list_components(A)) == 1
    assert contents(make_client(), "zenml") == source_before

    # a bundle written before the flag existed: the configuration tells the same
    for c in doc["components"]:
        c.pop("profile_default", None)
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(doc))
    ok(cli("profile", "create", "third"))
    third = defaults_of("third")
    imported = ok(cli("--profile", "third", "stack", "import", "legacy", str(old)))
    assert USING_DEFAULT.format(type="artifact store", target="third",
                                origin="in the bundle") in imported.stderr
    stack = make_client(profile="third").get_stack("legacy")
    assert {t: defaults_of("third")[t].id for t in stack.components} == {
        t: third[t].id for t in stack.components}


def test_a_bundle_may_mark_its_default_as_an_ordinary_component(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, tmp_path: Path) -> None:
    spec_custom_stack(cli)
    bundle = tmp_path / "custom.yaml"
    ok(cli("stack", "export", "custom", str(bundle)))
    doc = yaml.safe_load(bundle.read_text())
    for c in doc["components"]:
        if c["type"] == "metadata_store":
            c["profile_default"] = False
    bundle.write_text(yaml.safe_dump(doc))
    before = snapshot(config_dir)
    refused = cli("--profile", "default", "stack", "import", str(bundle))
    assert refused.exit_code == 1
    assert "metadata store 'default'" in refused.stderr
    assert snapshot(config_dir) == before


@pytest.mark.parametrize("entry, problem", [
    ({"type": "metadata_store", "name": "default", "flavor": "sqlite",
      "config": {"uri": "/x.db"}, "profile_default": "yes"}, "is not true or false"),
    ({"type": "artifact_store", "name": "lake", "flavor": "local", "config": {"path": "/l"},
      "profile_default": True}, "only a default orchestrator, metadata store or artifact"),
    ({"type": "alerter", "name": "default", "flavor": "slack", "config": {},
      "profile_default": True}, "only a default orchestrator, metadata store or artifact"),
])
def test_a_malformed_profile_default_flag_is_refused(  # type: ignore[no-untyped-def]
        cli, client: Client, tmp_path: Path, config_dir: Path, *, entry: dict[str, Any],
        problem: str) -> None:
    doc = {"format_version": 1, "kind": "mlrig-stack",
           "stack": {"name": "s", "components": {"orchestrator": "default",
                                                 "metadata_store": "default",
                                                 "artifact_store": "default"}},
           "components": [
               {"type": "orchestrator", "name": "default", "flavor": "local", "config": {}},
               {"type": "metadata_store", "name": "default", "flavor": "sqlite",
                "config": {"uri": "/m.db"}},
               {"type": "artifact_store", "name": "default", "flavor": "local",
                "config": {"path": "/a"}}]}
    doc["components"] = [c for c in doc["components"]
                         if (c["type"], c["name"]) != (entry["type"], entry["name"])]
    doc["components"].append(entry)
    bundle = tmp_path / "b.yaml"
    bundle.write_text(yaml.safe_dump(doc))
    before = snapshot(config_dir)
    result = cli("stack", "import", str(bundle))
    assert result.exit_code == 1
    assert "is not valid" in result.stderr and problem in result.stderr, result.stderr
    assert snapshot(config_dir) == before


# ---------------------------------------------------------------------------- conflicts
def conflicting_lake(run: Any) -> None:
    """The spec's custom stack in 'zenml'; 'default' has a lake of its own."""
    spec_custom_stack(run)
    ok(run("--profile", "default", "artifact-store", "register", "lake", "--flavor",
           "local", "--path=/srv/other-lake"))


def test_a_user_registered_same_named_component_stays_a_conflict(  # type: ignore[no-untyped-def]
        mlrig_exe, config_dir: Path, store_type: str) -> None:
    conflicting_lake(mlrig_exe)
    before = snapshot(config_dir)
    result = mlrig_exe("stack", "copy", "custom", "custom", "--from", "zenml", "--to",
                       "default")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: Nothing was changed: artifact store 'lake': the target "
                               "has a component of that name that is configured differently.")
    assert "--rename-conflicts" in lines[0] and "--use-existing" in lines[0]
    assert "metadata store" not in lines[0]  # the defaults are no conflict
    assert snapshot(config_dir) == before


def test_use_existing_uses_the_target_component(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, tmp_path: Path, store_type: str) -> None:
    conflicting_lake(cli)
    target = make_client(profile="default")
    lake_before = target.get_component(A, "lake")
    dry = ok(cli("stack", "copy", "custom", "custom", "--from", "zenml", "--to",
                 "default", "--use-existing", "--dry-run", "-o", "json"))
    actions = {(a["type"], a["source_name"]): a["action"]
               for a in json.loads(dry.stdout)["plan"]["actions"]}
    assert actions[("artifact_store", "lake")] == "use-existing"
    assert actions[("metadata_store", "default")] == "use-default"
    result = ok(cli("stack", "copy", "custom", "custom", "--from", "zenml", "--to",
                    "default", "--use-existing"))
    assert ("Using the artifact store 'lake' of profile 'default' instead of the one of "
            "profile 'zenml' (--use-existing; the target has a component of that name that "
            "is configured differently).") in result.stderr
    target = make_client(profile="default")
    assert target.get_stack("custom").components == {O: "default", M: "default", A: "lake"}
    assert target.get_component(A, "lake") == lake_before
    assert [c.name for c in target.list_components(A)] == ["default", "lake"]

    # the same for an import, into a third profile
    bundle = tmp_path / "custom.yaml"
    ok(cli("--profile", "zenml", "stack", "export", "custom", str(bundle)))
    refused = cli("--profile", "default", "stack", "import", "again", str(bundle))
    assert refused.exit_code == 1 and "--use-existing" in refused.stderr
    imported = ok(cli("--profile", "default", "stack", "import", "again", str(bundle),
                      "--use-existing"))
    assert "instead of the one in the bundle (--use-existing;" in imported.stderr
    assert make_client(profile="default").get_stack("again").components[A] == "lake"


def test_rename_conflicts_still_copies_under_a_new_name(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, store_type: str) -> None:
    conflicting_lake(cli)
    result = ok(cli("stack", "copy", "custom", "custom", "--from", "zenml", "--to",
                    "default", "--rename-conflicts"))
    assert "registered the copy as 'lake-2'" in result.stderr
    assert USING_DEFAULT.format(type="metadata store", target="default",
                                origin="of profile 'zenml'") in result.stderr
    target = make_client(profile="default")
    assert target.get_stack("custom").components == {O: "default", M: "default",
                                                      A: "lake-2"}
    assert target.get_component(A, "lake-2").config == {"path": "/tmp/lake"}
    assert target.get_component(A, "lake").config == {"path": "/srv/other-lake"}
    assert [c.name for c in target.list_components(M)] == ["default"]


def test_both_ways_out_at_once_are_refused(cli, config_dir: Path,  # type: ignore[no-untyped-def]
                                           tmp_path: Path) -> None:
    conflicting_lake(cli)
    bundle = tmp_path / "custom.yaml"
    ok(cli("stack", "export", "custom", str(bundle)))
    before = snapshot(config_dir)
    for args in (("stack", "copy", "custom", "custom", "--to", "default"),
                 ("--profile", "default", "stack", "import", "x", str(bundle))):
        result = cli(*args, "--rename-conflicts", "--use-existing")
        assert result.exit_code == 2, result.output
        assert "Give --rename-conflicts or --use-existing, not both" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(config_dir) == before
    client = make_client(profile="zenml")
    with pytest.raises(InputError, match="exclude each other"):
        client.copy_stack("custom", "x", to_profile="default", rename_conflicts=True,
                          use_existing=True)
    assert snapshot(config_dir) == before


@pytest.mark.parametrize("side", ["source", "target"])
def test_an_updated_default_is_an_ordinary_component(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, tmp_path: Path, store_type: str, side: str) -> None:
    spec_custom_stack(cli)
    profile = "zenml" if side == "source" else "default"
    ok(cli("--profile", profile, "metadata-store", "update", "default",
           f"--uri={tmp_path / 'changed.db'}"))
    before = snapshot(config_dir)
    result = cli("stack", "copy", "custom", "custom", "--to", "default")
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert "metadata store 'default': the target has a component of that name that is " \
           "configured differently" in lines[0]
    assert ("not a default as mlrig created it" in lines[0]) is (side == "target")
    assert "--rename-conflicts" in lines[0] and "--use-existing" in lines[0]
    assert snapshot(config_dir) == before
    ok(cli("stack", "copy", "custom", "custom", "--to", "default", "--use-existing"))
    target = make_client(profile="default")
    assert target.get_stack("custom").components[M] == "default"
    assert [c.name for c in target.list_components(M)] == ["default"]


def test_a_given_secret_for_a_replaced_component_is_reported(  # type: ignore[no-untyped-def]
        cli, client: Client, tmp_path: Path) -> None:
    client.register_component("alerter", "slack", "slack", {"slack_token": "t1",
                                                            "default_slack_channel_id": "C1"})
    client.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                                  "artifact_store": "default", "alerter": "slack"})
    bundle = tmp_path / "dev.yaml"
    assert cli("stack", "export", "dev", str(bundle)).exit_code == 0
    assert cli("profile", "create", "other").exit_code == 0
    other = make_client(profile="other")
    other.register_component("alerter", "slack", "slack", {"slack_token": "t2",
                                                           "default_slack_channel_id": "C2"})
    result = cli("--profile", "other", "stack", "import", str(bundle), "--use-existing",
                 "--secret", "alerter/slack/slack_token=t3")
    assert result.exit_code == 0, result.stderr
    assert ("The --secret value(s) of 'slack_token' given for the alerter 'slack' are not "
            "used") in result.stderr
    assert other.get_component("alerter", "slack").config["slack_token"] == "t2"


def test_use_existing_does_not_bring_a_flavor_nothing_created_needs(  # type: ignore[no-untyped-def]
        cli, client: Client, plugin: Path) -> None:
    src = "mlrig_test_plugin.custom.KubeflowOrchestrator"
    assert cli("orchestrator", "flavor", "register", src).exit_code == 0
    assert cli("orchestrator", "register", "kf", "-f", "kubeflow", "--host=k8s").exit_code == 0
    assert cli("stack", "register", "kube", "-o", "kf", "-m", "default", "-a",
               "default").exit_code == 0
    assert cli("profile", "create", "other").exit_code == 0
    assert cli("--profile", "other", "orchestrator", "register", "kf", "-f",
               "local").exit_code == 0
    refused = cli("stack", "copy", "kube", "kube", "--to", "other")
    assert refused.exit_code == 1 and "orchestrator 'kf'" in refused.stderr
    done = cli("stack", "copy", "kube", "kube", "--to", "other", "--use-existing")
    assert done.exit_code == 0, done.stderr
    other = make_client(profile="other")
    assert other.get_stack("kube").components[O] == "kf"
    assert other.get_component(O, "kf").flavor == "local"
    assert [f.name for f in other.list_flavors(O) if f.origin == "profile"] == []


# ---------------------------------------------------------------------------- library
def test_library_keyword_arguments(client: Client, tmp_path: Path) -> None:
    client.register_component("artifact_store", "lake", "local", {"path": "/data/lake"})
    client.register_stack("dev", {"orchestrator": "default", "metadata_store": "default",
                                  "artifact_store": "lake"})
    client.create_profile("other")
    other = make_client(profile="other")
    other.register_component("artifact_store", "lake", "local", {"path": "/data/theirs"})
    with pytest.raises(AlreadyExistsError) as refused:
        client.copy_stack("dev", "dev", to_profile="other")
    assert refused.value.hint is not None and "--use-existing" in refused.value.hint
    plan = client.copy_stack("dev", "dev", to_profile="other", use_existing=True)
    by_type = {a.type: a.action for a in plan.actions if a.kind == "component"}
    assert by_type == {A: "use-existing", M: "use-default", O: "reuse"}
    bundle = client.stack_bundle("dev")
    _, planned = other.plan_stack_import(bundle, "dev2", use_existing=True)
    assert planned.ok and not planned.new_components
    other.import_stack(bundle, "dev2", use_existing=True)
    assert other.get_stack("dev2").components == other.get_stack("dev").components
    assert any("Using the default metadata store 'default' of profile 'other' instead of the "
               "one in the bundle" in m for _, m in other.events)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- other paths
def test_component_copy_of_a_default_is_an_ordinary_component(  # type: ignore[no-untyped-def]
        cli, config_dir: Path) -> None:
    spec_custom_stack(cli)
    zenml = defaults_of("zenml")
    ok(cli("metadata-store", "copy", "default", "zenml-md", "--to", "default"))
    copied = make_client(profile="default").get_component(M, "zenml-md")
    assert copied.config == zenml[M].config and copied.id != zenml[M].id
    assert not is_profile_default(copied)  # it shares zenml's files, explicitly
    refused = cli("metadata-store", "copy", "default", "default", "--to", "default")
    assert refused.exit_code == 1 and "already exists in profile 'default'" in refused.stderr


def test_profile_copy_and_import_keep_the_defaults_as_they_are(  # type: ignore[no-untyped-def]
        cli, config_dir: Path, tmp_path: Path, store_type: str) -> None:
    spec_custom_stack(cli)
    ok(cli("profile", "copy", "zenml", "twin"))
    assert contents(make_client(), "twin") == contents(make_client(), "zenml")
    bundle = tmp_path / "zenml.yaml"
    ok(cli("profile", "export", "zenml", str(bundle)))
    ok(cli("profile", "import", str(bundle), "imported"))
    assert contents(make_client(), "imported") == contents(make_client(), "zenml")
    # the twin's defaults are zenml's: copying between the two reuses them as identical
    result = ok(cli("stack", "copy", "custom", "custom2", "--from", "twin", "--to",
                    "zenml"))
    assert "Reusing the metadata store 'default' of profile 'zenml' (same id and " \
           "configuration)." in result.stderr
