"""Shell completion through the real ``mlrig`` executable, as the shells drive it.

A shell runs ``mlrig`` with ``_MLRIG_COMPLETE=bash_complete`` and the words typed so far in
``COMP_WORDS`` (``COMP_CWORD``: the index of the word being completed); mlrig answers one
``type,value`` line per suggestion on stdout.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.client import Client
from mlrig.models import ComponentType
from mlrig.testing.files import data_files
from mlrig.testing.plugin import mlrig_command
from mlrig.testing.stores import store_of

# the test plugin (tests/plugin_pkg) is installed on demand by the ``plugin`` fixture

CUSTOM = "mlrig_test_plugin.custom."

# a registrable component of every type, with the attributes its built-in flavor requires
SAMPLES: dict[ComponentType, tuple[str, dict[str, str]]] = {
    ComponentType.ORCHESTRATOR: ("local_docker", {}),
    ComponentType.METADATA_STORE: ("sqlite", {"uri": "/data/meta.db"}),
    ComponentType.ARTIFACT_STORE: ("local", {"path": "/data/lake"}),
    ComponentType.CONTAINER_REGISTRY: ("default", {"uri": "localhost:5000"}),
    ComponentType.STEP_OPERATOR: ("local", {}),
    ComponentType.SECRETS_MANAGER: ("local", {}),
    ComponentType.FEATURE_STORE: ("feast", {"feast_repo": "/data/feast"}),
    ComponentType.MODEL_DEPLOYER: ("mlflow", {"tracking_uri": "http://mlflow:5000"}),
    ComponentType.EXPERIMENT_TRACKER: ("mlflow", {"tracking_uri": "http://mlflow:5000"}),
    ComponentType.ALERTER: ("slack", {"slack_token": "xoxb-1"}),
    ComponentType.DATA_VALIDATOR: ("great_expectations", {}),
    ComponentType.ANNOTATOR: ("label_studio", {}),
}


def sample_name(type_: ComponentType) -> str:
    return f"{type_.cli_name}-1"


def quiet(level: str, message: str) -> None:
    return None


def run_completion(mlrig_exe: Any, words: tuple[str, ...],
                   env: dict[str, str] | None = None) -> Any:
    """``words``: what follows ``mlrig``; the last one is the word being completed."""
    line = shlex.join(["mlrig", *words])
    return mlrig_exe(env={"_MLRIG_COMPLETE": "bash_complete", "COMP_WORDS": line,
                          "COMP_CWORD": str(len(words)), **(env or {})})


def complete(mlrig_exe: Any, *words: str, env: dict[str, str] | None = None) -> list[str]:
    """The names suggested for the last of ``words``; completion must succeed silently."""
    result = run_completion(mlrig_exe, words, env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = [line for line in result.stdout.splitlines() if line]
    assert all(line.startswith("plain,") for line in lines), lines
    return [line.removeprefix("plain,") for line in lines]


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file and directory under ``root`` (directories as ``None``)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def client(config_dir: Path) -> Client:
    """Profiles default, team and zenml; the active profile default has the stacks
    default and custom and one component of every type besides the default ones."""
    c = Client(on_event=quiet)
    c.config()
    for type_, (flavor, config) in SAMPLES.items():
        c.register_component(type_, sample_name(type_), flavor, config)
    c.register_stack("custom", {"orchestrator": "default", "metadata_store": "default",
                                "artifact_store": sample_name(ComponentType.ARTIFACT_STORE)})
    c.create_profile("zenml")
    c.create_profile("team")
    zenml = Client(profile="zenml", on_event=quiet)
    zenml.register_component("artifact_store", "zen-lake", "local", {"path": "/zen"})
    zenml.register_stack("zen-stack", {"orchestrator": "default", "metadata_store": "default",
                                       "artifact_store": "zen-lake"})
    return c


# ----------------------------------------------------------------------------- the script
@pytest.mark.parametrize(("shell", "hooks"), [
    ("bash", ("_MLRIG_COMPLETE=bash_complete", "complete -o nosort -F _mlrig_completion mlrig")),
    ("zsh", ("#compdef mlrig", "_MLRIG_COMPLETE=zsh_complete",
             "compdef _mlrig_completion mlrig")),
    ("fish", ("_MLRIG_COMPLETE=fish_complete", "complete --no-files --command mlrig")),
])
def test_completion_command_prints_the_script_of_each_shell(
        mlrig_exe: Any, tmp_path: Path, shell: str, hooks: tuple[str, ...]) -> None:
    before = tree(tmp_path)
    result = mlrig_exe("completion", shell)
    assert result.exit_code == 0, result.stderr
    for hook in hooks:
        assert hook in result.stdout, (hook, result.stdout)
    assert "Running with active" not in result.stderr
    assert tree(tmp_path) == before  # printing the script touches no configuration


def test_completion_command_refuses_an_unknown_shell(mlrig_exe: Any) -> None:
    for args in (("completion", "tcsh"), ("completion",)):
        result = mlrig_exe(*args)
        assert result.exit_code == 2, args
        assert result.stdout == ""
        assert result.stderr.startswith("Error:"), result.stderr
        assert "mlrig completion --help" in result.stderr
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in mlrig_exe("completion",
                                                                      "tcsh").stderr


def test_the_click_variable_prints_the_same_script(mlrig_exe: Any) -> None:
    documented = mlrig_exe("completion", "zsh")
    by_variable = mlrig_exe(env={"_MLRIG_COMPLETE": "zsh_source"})
    assert by_variable.exit_code == 0
    # the same script (how click ends it with newlines differs between its releases)
    assert by_variable.stdout.rstrip() == documented.stdout.rstrip()


def test_commands_and_shells_are_completed(mlrig_exe: Any, client: Client) -> None:
    assert complete(mlrig_exe, "st") == ["stack", "status", "step-operator"]
    assert complete(mlrig_exe, "completion", "") == ["bash", "zsh", "fish"]
    assert "--flavor" in complete(mlrig_exe, "artifact-store", "register", "x", "--")


def test_zsh_and_fish_protocols_get_the_same_names(mlrig_exe: Any, client: Client) -> None:
    zsh = mlrig_exe(env={"_MLRIG_COMPLETE": "zsh_complete", "COMP_WORDS": "mlrig stack set ",
                         "COMP_CWORD": "3"})
    assert (zsh.exit_code, zsh.stderr) == (0, "")
    # the names, whatever the line format of click's release (type, value, help)
    assert set(_words(zsh.stdout)) - _PROTOCOL_WORDS == {"custom", "default"}
    # fish sends the whole line and the word being completed
    fish = mlrig_exe(env={"_MLRIG_COMPLETE": "fish_complete", "COMP_WORDS": "mlrig -p zenml "
                          "artifact-store describe ze", "COMP_CWORD": "ze"})
    assert (fish.exit_code, fish.stderr) == (0, "")
    assert set(_words(fish.stdout)) - _PROTOCOL_WORDS == {"zen-lake"}


_PROTOCOL_WORDS = {"plain", "_", "dir", "file"}


def _words(output: str) -> list[str]:
    return [w for line in output.splitlines() for w in re.split(r"[,\s]+", line) if w]


# ----------------------------------------------------------------------------- profiles
@pytest.mark.parametrize("words", [
    ("profile", "set"), ("profile", "use"), ("profile", "describe"), ("profile", "delete"),
    ("profile", "rename"), ("profile", "copy"), ("profile", "export"),
    ("profile", "migrate"),
    ("--profile",), ("-p",), ("stack", "copy", "default", "x", "--from"),
    ("stack", "copy", "default", "x", "--to"), ("artifact-store", "copy", "a", "b", "--from"),
    ("orchestrator", "copy", "a", "b", "--to"),
])
def test_profile_names(mlrig_exe: Any, client: Client, words: tuple[str, ...]) -> None:
    assert complete(mlrig_exe, *words, "") == ["default", "team", "zenml"]
    assert complete(mlrig_exe, *words, "t") == ["team"]


def test_profile_names_only_where_a_profile_is_named(mlrig_exe: Any, client: Client) -> None:
    assert complete(mlrig_exe, "profile", "rename", "zenml", "") == []  # the new name
    assert complete(mlrig_exe, "profile", "create", "") == []
    assert complete(mlrig_exe, "profile", "copy", "zenml", "") == []


# ----------------------------------------------------------------------------- stacks
@pytest.mark.parametrize("words", [
    ("stack", "set"), ("stack", "use"), ("stack", "describe"), ("stack", "delete"),
    ("stack", "rename"), ("stack", "copy"), ("stack", "export"), ("stack", "update"),
    ("stack", "remove-component"), ("--stack",),
])
def test_stack_names(mlrig_exe: Any, client: Client, words: tuple[str, ...]) -> None:
    assert complete(mlrig_exe, *words, "") == ["custom", "default"]
    assert complete(mlrig_exe, *words, "cu") == ["custom"]


def test_stack_names_only_where_a_stack_is_named(mlrig_exe: Any, client: Client) -> None:
    assert complete(mlrig_exe, "stack", "register", "") == []
    assert complete(mlrig_exe, "stack", "rename", "custom", "") == []
    assert complete(mlrig_exe, "stack", "set", "custom", "") == []


# ----------------------------------------------------------------------------- components
@pytest.mark.parametrize("type_", list(ComponentType), ids=lambda t: t.value)
def test_each_component_option_completes_components_of_its_type(
        mlrig_exe: Any, client: Client, type_: ComponentType) -> None:
    expected = sorted(c.name for c in client.list_components(type_))
    assert sample_name(type_) in expected
    short, long = type_.short_option, f"--{type_.cli_name}"
    assert complete(mlrig_exe, "stack", "register", "new", short, "") == expected
    assert complete(mlrig_exe, "stack", "update", long, "") == expected
    assert complete(mlrig_exe, "stack", "update", "custom", short, type_.cli_name[:3]) == [
        sample_name(type_)]


def test_component_options_in_other_spellings(mlrig_exe: Any, client: Client) -> None:
    lake = sample_name(ComponentType.ARTIFACT_STORE)
    assert complete(mlrig_exe, "stack", "update", "--artifact_store", "") == [lake, "default"]
    assert complete(mlrig_exe, "stack", "update", "--artifact-store=") == [lake, "default"]
    # after another option's value, the next option completes its own type
    assert complete(mlrig_exe, "stack", "register", "n", "-a", lake, "-x", "") == [
        sample_name(ComponentType.SECRETS_MANAGER)]
    assert complete(mlrig_exe, "stack", "register", "n", "-a", lake, "-dv", "") == [
        sample_name(ComponentType.DATA_VALIDATOR)]


@pytest.mark.parametrize("command", ["describe", "delete", "update", "rename", "copy",
                                     "remove-attribute"])
def test_type_commands_complete_components_of_their_type(
        mlrig_exe: Any, client: Client, command: str) -> None:
    assert complete(mlrig_exe, "artifact-store", command, "") == [
        sample_name(ComponentType.ARTIFACT_STORE), "default"]
    assert complete(mlrig_exe, "alerter", command, "") == [sample_name(ComponentType.ALERTER)]


@pytest.mark.parametrize("type_", list(ComponentType), ids=lambda t: t.value)
def test_describe_of_every_type(mlrig_exe: Any, client: Client, type_: ComponentType) -> None:
    expected = sorted(c.name for c in client.list_components(type_))
    assert complete(mlrig_exe, type_.cli_name, "describe", "") == expected


def test_components_only_where_a_component_is_named(mlrig_exe: Any, client: Client) -> None:
    assert complete(mlrig_exe, "artifact-store", "register", "") == []
    assert complete(mlrig_exe, "artifact-store", "rename", "default", "") == []
    assert complete(mlrig_exe, "artifact-store", "copy", "default", "") == []


# ----------------------------------------------------------------------------- flavors
def test_flavor_names_built_in_plugin_and_registered(mlrig_exe: Any, client: Client,
                                                     plugin: Path) -> None:
    client.register_flavor("orchestrator", CUSTOM + "KubeflowOrchestrator")
    client.register_flavor("artifact_store", CUSTOM + "GCSArtifactStore")
    orchestrators = ["airflow", "dask", "kubeflow", "local", "local_docker"]
    for option in ("--flavor", "-f"):
        assert complete(mlrig_exe, "orchestrator", "register", "o", option, "") == orchestrators
        assert complete(mlrig_exe, "artifact-store", "register", "a", option, "") == [
            "azure", "gcs", "local", "s3"]
    assert complete(mlrig_exe, "orchestrator", "register", "o", "-f", "lo") == [
        "local", "local_docker"]
    assert complete(mlrig_exe, "orchestrator", "register", "o", "--flavor=") == orchestrators
    assert complete(mlrig_exe, "secrets-manager", "register", "s", "-f", "") == [
        "local", "vault"]
    # flavor delete: only the flavors registered in the profile can be deleted
    assert complete(mlrig_exe, "orchestrator", "flavor", "delete", "") == ["kubeflow"]
    assert complete(mlrig_exe, "alerter", "flavor", "delete", "") == []


def test_a_flavor_shadowing_a_built_in_is_suggested_once(mlrig_exe: Any, client: Client,
                                                         plugin: Path) -> None:
    client.register_flavor("orchestrator", CUSTOM + "ShadowLocalOrchestrator")
    assert complete(mlrig_exe, "orchestrator", "register", "o", "-f", "") == [
        "airflow", "dask", "local", "local_docker"]


# ----------------------------------------------------------------------------- --profile
def test_the_profile_flag_before_selects_the_profile_completed_from(
        mlrig_exe: Any, client: Client) -> None:
    for flag in ("--profile", "-p"):
        assert complete(mlrig_exe, flag, "zenml", "stack", "set", "") == ["default",
                                                                          "zen-stack"]
        assert complete(mlrig_exe, flag, "zenml", "--stack", "") == ["default", "zen-stack"]
        assert complete(mlrig_exe, flag, "zenml", "artifact-store", "describe", "") == [
            "default", "zen-lake"]
        assert complete(mlrig_exe, flag, "zenml", "stack", "register", "n", "-a", "") == [
            "default", "zen-lake"]
    assert complete(mlrig_exe, "--profile=zenml", "stack", "describe", "") == [
        "default", "zen-stack"]
    # the other scopes choose as for any command
    assert complete(mlrig_exe, "stack", "set", "",
                    env={"MLRIG_ACTIVE_PROFILE": "zenml"}) == ["default", "zen-stack"]
    # and the profile given to copy --from is the one SOURCE is completed from
    assert complete(mlrig_exe, "stack", "copy", "--from", "zenml", "") == ["default",
                                                                           "zen-stack"]
    assert complete(mlrig_exe, "artifact-store", "copy", "--from", "zenml", "") == [
        "default", "zen-lake"]


def test_profile_names_do_not_depend_on_the_profile_flag(mlrig_exe: Any,
                                                         client: Client) -> None:
    assert complete(mlrig_exe, "-p", "ghost", "profile", "set", "") == ["default", "team",
                                                                      "zenml"]


# ----------------------------------------------------------------------------- no writes
def test_completion_on_a_new_config_dir_creates_nothing(mlrig_exe: Any, config_dir: Path,
                                                        tmp_path: Path) -> None:
    def every_kind() -> None:
        for words in (("profile", "set", ""), ("--profile", ""), ("stack", "set", ""),
                      ("stack", "register", "n", "-o", ""), ("artifact-store", "describe", ""),
                      ("artifact-store", "register", "a", "-f", ""), ("--stack", ""),
                      ("stack", "describe", "d")):
            assert complete(mlrig_exe, *words) == [], words
        assert complete(mlrig_exe, "pro") == ["profile"]  # command names need no config

    assert not config_dir.exists()
    before = tree(tmp_path)
    every_kind()
    assert tree(tmp_path) == before
    assert not config_dir.exists()  # no config.yaml, no default profile, not even the dir

    config_dir.mkdir()
    before = tree(tmp_path)
    every_kind()
    assert tree(tmp_path) == before
    # and the first real command still creates the default profile as usual
    created = mlrig_exe("profile", "list")
    assert created.exit_code == 0, created.stderr
    assert "Created and activated default profile." in created.stderr


def test_completion_writes_nothing_in_a_configured_profile(mlrig_exe: Any, client: Client,
                                                           config_dir: Path) -> None:
    before = data_files(config_dir)
    complete(mlrig_exe, "stack", "set", "")
    complete(mlrig_exe, "-p", "zenml", "stack", "update", "-a", "")
    complete(mlrig_exe, "orchestrator", "register", "o", "-f", "")
    assert data_files(config_dir) == before


def test_what_a_crashed_command_left_is_not_touched(mlrig_exe: Any, client: Client,
                                                    config_dir: Path) -> None:
    """The next real command finishes it; completion, which must not write, suggests
    nothing meanwhile."""
    store_root = store_of(client).root  # type: ignore[attr-defined]
    journal = store_root / ".journal.yaml"
    journal.write_text(yaml.safe_dump({"version": 1, "writes": {}}))
    assert complete(mlrig_exe, "stack", "set", "") == []
    assert complete(mlrig_exe, "artifact-store", "describe", "") == []
    assert journal.exists()
    journal.unlink()

    pending = config_dir / "pending"
    pending.mkdir(exist_ok=True)
    intent = pending / "0001.yaml"
    intent.write_text("op: ghost\n")
    assert complete(mlrig_exe, "stack", "set", "") == []
    assert complete(mlrig_exe, "profile", "set", "") == []
    assert intent.read_text() == "op: ghost\n"


# ----------------------------------------------------------------------------- silence
def test_no_banner_even_when_verbose(mlrig_exe: Any, client: Client) -> None:
    for words in (("-v", "stack", "set", ""), ("--verbose", "profile", "set", ""),
                  ("--debug", "artifact-store", "describe", "")):
        result = run_completion(mlrig_exe, words)
        assert result.exit_code == 0
        assert result.stderr == "", words
        assert "Running with" not in result.stdout


def test_errors_mean_no_suggestions_and_no_message(mlrig_exe: Any, client: Client,
                                                   config_dir: Path) -> None:
    assert complete(mlrig_exe, "--profile", "ghost", "stack", "set", "") == []
    assert complete(mlrig_exe, "stack", "set", "", env={"MLRIG_ACTIVE_PROFILE": "ghost"}) == []
    refused = run_completion(mlrig_exe, ("artifact-store", "register", "x", "-path=/x", "-f", ""))
    assert (refused.stdout, refused.stderr) == ("", "")  # a usage error, silently
    (config_dir / "config.yaml").write_text("version: [broken\n")
    assert complete(mlrig_exe, "profile", "set", "") == []
    assert complete(mlrig_exe, "stack", "set", "") == []


def test_filenames_are_left_to_the_shell(mlrig_exe: Any, client: Client) -> None:
    for words in (("stack", "export", "default", "st"), ("profile", "import", "st"),
                  ("stack", "import", "st")):
        result = run_completion(mlrig_exe, words)
        assert result.exit_code == 0 and result.stderr == ""
        assert result.stdout.strip() == "file,st"


# ----------------------------------------------------------------------------- imports
# (modules loaded by the interpreter's start-up, such as an environment's .pth files, are
# not the completion's and are left out)
MODULES_WRAPPER = """
import sys
before = set(sys.modules)
out = sys.argv[1]
sys.argv = ["mlrig"]
from mlrig.cli import main
try:
    main()
except SystemExit:
    pass
modules = sorted(set(sys.modules) - before)
import json
with open(out, "w") as handle:
    json.dump(modules, handle)
"""
HEAVY = ("rich", "pydantic", "sqlalchemy", "alembic", "mlrig.stores.sql")


@pytest.mark.parametrize("words", [
    ("profile", "set", ""), ("stack", "set", ""), ("stack", "register", "n", "-a", ""),
    ("artifact-store", "describe", ""), ("artifact-store", "register", "a", "-f", ""),
])
def test_completion_on_a_local_profile_imports_nothing_heavy(
        client: Client, tmp_path: Path, words: tuple[str, ...]) -> None:
    """Through the executable's entry point, as tests/reliability/test_import_budget.py."""
    import json

    out = tmp_path / "modules.json"
    env = {**os.environ, "_MLRIG_COMPLETE": "bash_complete",
           "COMP_WORDS": shlex.join(["mlrig", *words]), "COMP_CWORD": str(len(words))}
    proc = subprocess.run([sys.executable, "-c", MODULES_WRAPPER, str(out)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.stderr == "" and proc.stdout.startswith("plain,"), proc
    modules = json.loads(out.read_text())
    assert [m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY
            or m.startswith("mlrig.stores.sql")] == []


# ----------------------------------------------------------------------------- quoting
def test_a_name_with_a_space_is_inserted_quoted_by_bash(mlrig_exe: Any, client: Client,
                                                        tmp_path: Path) -> None:
    client.register_stack("my st'ack", {"orchestrator": "default",
                                        "metadata_store": "default",
                                        "artifact_store": "default"})
    # the protocol line carries the name quoted for bash (backslashes doubled for `read`)
    assert "plain,'my st'\\\\''ack'" in run_completion(mlrig_exe, ("stack", "set", "my")).stdout
    # and bash itself, with the script mlrig prints, puts one word on the command line
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "mlrig"
    wrapper.write_text("#!/bin/sh\nexec " + shlex.join(mlrig_command()) + ' "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    script = mlrig_exe("completion", "bash").stdout
    program = script + (
        '\nCOMP_WORDS=(mlrig stack set my); COMP_CWORD=3; _mlrig_completion mlrig\n'
        'eval "words=(${COMPREPLY[0]})"; printf "%s|" "${#COMPREPLY[@]}" "${words[@]}"\n')
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "1|my st'ack|"
