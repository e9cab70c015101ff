"""Custom flavors (register / delete) and plugin flavors from an installed test package."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.exceptions import InputError
from mlrig.testing.files import data_files

CUSTOM = "mlrig_test_plugin.custom."


def flavors_of(cli, group: str) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    result = cli(group, "flavor", "list", "-o", "json")
    assert result.exit_code == 0, result.stderr
    return {f["flavor"]: f for f in json.loads(result.stdout)["flavors"]}


def test_register_use_and_delete_a_custom_flavor(cli, client: Client, plugin: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("orchestrator", "flavor", "register", CUSTOM + "KubeflowOrchestrator")
    assert result.exit_code == 0, result.stderr
    assert ("Successfully registered new flavor 'kubeflow' for stack component "
            "'orchestrator'.") in result.stdout
    listed = flavors_of(cli, "orchestrator")
    assert listed["kubeflow"] == {"flavor": "kubeflow", "source": CUSTOM + "KubeflowOrchestrator",
                                  "origin": "profile"}
    assert listed["local"]["origin"] == "built-in"
    assert listed["airflow"]["origin"] == "plugin"
    table = cli("orchestrator", "flavor", "list").stdout
    assert "FLAVOR" in table and "SOURCE" in table and "ORIGIN" in table
    assert cli("orchestrator", "register", "kf", "-f", "kubeflow", "--host=k8s").exit_code == 0
    assert client.get_component("orchestrator", "kf").config == {"host": "k8s",
                                                                 "namespace": "kubeflow"}
    in_use = cli("orchestrator", "flavor", "delete", "kubeflow")
    assert in_use.exit_code == 1
    assert "'kf'" in in_use.stderr
    assert cli("orchestrator", "delete", "kf").exit_code == 0
    deleted = cli("orchestrator", "flavor", "delete", "kubeflow")
    assert deleted.exit_code == 0, deleted.stderr
    assert "kubeflow" not in flavors_of(cli, "orchestrator")
    # the flavor list of another profile never saw it
    assert cli("profile", "create", "other").exit_code == 0


def test_register_refusals(cli, client: Client, plugin: Path, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("orchestrator", "flavor", "register", CUSTOM + "KubeflowOrchestrator"
               ).exit_code == 0
    before = data_files(config_dir)
    for args, message in [
        (("artifact-store", "flavor", "register", CUSTOM + "KubeflowOrchestrator"),
         "is a flavor of 'orchestrator', not of 'artifact_store'"),
        (("orchestrator", "flavor", "register", CUSTOM + "NotAFlavor"), "is not a subclass"),
        (("orchestrator", "flavor", "register", "nowhere.module.Class"), "Cannot import"),
        (("orchestrator", "flavor", "register", "justaname"), "Invalid flavor source"),
        (("orchestrator", "flavor", "register", CUSTOM + "OtherKubeflowOrchestrator"),
         "already registered in this profile"),
        (("orchestrator", "flavor", "delete", "local"), "built-in flavor"),
        (("orchestrator", "flavor", "delete", "ghost"), "No custom flavor 'ghost'"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, args
        assert message in result.stderr, (args, result.stderr)
    assert data_files(config_dir) == before


def test_shadowing_a_builtin_is_allowed_with_a_warning(cli, client: Client,  # type: ignore[no-untyped-def]
                                                      plugin: Path) -> None:
    result = cli("orchestrator", "flavor", "register", CUSTOM + "ShadowLocalOrchestrator")
    assert result.exit_code == 0, result.stderr
    assert "overrides the built-in flavor" in result.stderr
    assert "'default'" in result.stderr  # the default orchestrator now uses it
    listed = cli("orchestrator", "flavor", "list", "-o", "json")
    origins = [(f["flavor"], f["origin"]) for f in json.loads(listed.stdout)["flavors"]]
    assert origins.index(("local", "profile")) < origins.index(("local", "built-in"))


def test_plugin_flavors_come_from_entry_points(cli, client: Client, plugin: Path) -> None:  # type: ignore[no-untyped-def]
    listed = flavors_of(cli, "secrets-manager")
    assert listed["vault"] == {"flavor": "vault",
                               "source": "mlrig_test_plugin.flavors.VaultSecretsManager",
                               "origin": "plugin"}
    result = cli("secrets-manager", "register", "vault", "-f", "vault",
                 "--address=https://vault:8200", "--token=s3cr3t")
    assert result.exit_code == 0, result.stderr
    described = cli("secrets-manager", "describe", "vault")
    assert "s3cr3t" not in described.stdout and "********" in described.stdout
    assert "s3cr3t" in cli("secrets-manager", "describe", "vault", "--show-secrets").stdout
    assert cli("secrets-manager", "flavor", "delete", "vault").exit_code == 1  # not a record


def test_plugin_flavors_in_the_real_executable(mlrig_exe, plugin: Path) -> None:  # type: ignore[no-untyped-def]
    listed = mlrig_exe("orchestrator", "flavor", "list", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    flavors = {f["flavor"]: f["origin"] for f in json.loads(listed.stdout)["flavors"]}
    assert flavors["airflow"] == "plugin"
    registered = mlrig_exe("orchestrator", "register", "af", "-f", "airflow", "--dag_dir=/dags")
    assert registered.exit_code == 0, registered.stderr


def test_plugins_are_loaded_lazily(plugin: Path, config_dir: Path, tmp_path: Path) -> None:
    """Commands that need no flavor never import the plugin's module."""
    import os

    from mlrig.testing.runs import modules_imported_by

    modules = modules_imported_by(config_dir, tmp_path, "profile", "list")
    assert "mlrig_test_plugin" not in modules and "mlrig_test_plugin.flavors" not in modules
    assert os.environ["PYTHONPATH"].startswith(str(plugin))
    out = tmp_path / "m.json"
    code = ("import json,sys; from mlrig import flavors; flavors.plugin_specs_all(); "
            f"json.dump(sorted(sys.modules), open({str(out)!r}, 'w'))")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert "mlrig_test_plugin.flavors" in json.loads(out.read_text())


@pytest.mark.parametrize("group", ["orchestrator", "annotator"])
def test_flavor_list_without_plugins(cli, client: Client, group: str) -> None:  # type: ignore[no-untyped-def]
    assert all(f["origin"] == "built-in" for f in flavors_of(cli, group).values())


# ---------------------------------------------------------------------------- messages
def test_a_flavor_import_error_is_a_sentence_before_its_hint(  # type: ignore[no-untyped-def]
        cli, client: Client, tmp_path: Path, monkeypatch) -> None:
    from mlrig import flavors

    with pytest.raises(InputError) as raised:
        flavors.load_flavor_class("mlrig_no_such_module_xyz.Flavor")
    assert raised.value.message.endswith("No module named 'mlrig_no_such_module_xyz'.")

    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "gone_flavor_mod.py").write_text(
        "from pydantic import BaseModel\n"
        "from mlrig.flavors.base import Flavor\n"
        "from mlrig.models import ComponentType\n\n"
        "class Config(BaseModel):\n    host: str\n\n"
        "class GoneOrchestrator(Flavor):\n"
        "    TYPE = ComponentType.ORCHESTRATOR\n    FLAVOR = 'gone'\n    CONFIG = Config\n")
    monkeypatch.syspath_prepend(str(module_dir))
    client.register_flavor("orchestrator", "gone_flavor_mod.GoneOrchestrator")
    client.register_component("orchestrator", "o1", "gone", {"host": "h"})
    client.register_stack("s1", {"orchestrator": "o1", "metadata_store": "default",
                                 "artifact_store": "default"})
    sys.path.remove(str(module_dir))
    sys.modules.pop("gone_flavor_mod", None)
    importlib.invalidate_caches()

    result = cli("stack", "export", "s1", "-")
    assert result.exit_code == 1
    assert ("No module named 'gone_flavor_mod'. Make its flavor importable, or export with "
            "--include-secrets.") in result.stderr
