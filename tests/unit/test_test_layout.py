"""The tests mirror the package, and no test module imports another (docs/architecture.md,
"Tests").

* A module's tests are ``tests/unit/<package path>/test_<module>.py`` (or
  ``test_<module>_<aspect>.py``) for a module or subpackage that exists in ``src/mlrig``; the
  CLI's tests by noun are ``tests/cli/test_<noun>.py``; the suites of a kind that cut across
  modules are ``tests/e2e``, ``tests/reliability``, ``tests/server``, ``tests/sql`` and
  ``tests/stores``.
* Nothing under ``tests/`` imports ``tests`` or another file of ``tests/`` (shared helpers
  are fixtures in a ``conftest.py`` or functions of :mod:`mlrig.testing`); the few non-test
  files (a subprocess script, a flavor module, the plugin package) are loaded by path.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
PACKAGE = ROOT / "src" / "mlrig"

#: suites of a kind (not of a module): any ``test_*.py`` directly inside
KIND_SUITES = ("e2e", "reliability", "server", "sql", "stores")
#: tests/unit/ files about the project as a whole rather than one module
PROJECT_TESTS = {"test_layers.py", "test_test_layout.py", "test_docs.py"}
#: CLI nouns that are no module of their own (the flavor commands live in cli/component.py)
CLI_NOUNS = {"flavor"}
#: files under tests/ that are neither tests nor conftest.py nor __init__.py: data and
#: scripts, each loaded by path (never imported as a module of tests/)
NON_TEST_FILES = {"reliability/worker.py", "reliability/secret_flavor.py"}
#: an installable package of its own (installed with pip by the ``plugin`` fixture)
PLUGIN_PACKAGE = "plugin_pkg"
#: a module path into tests/ written as a string (a flavor source, importlib)
DOTTED_PATH = re.compile(r"tests(\.\w+)+")


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def suite_test_files() -> list[Path]:
    return [p for p in python_files() if p.name.startswith("test_")
            and PLUGIN_PACKAGE not in p.relative_to(TESTS).parts]


def modules_of(package: Path) -> set[str]:
    """Names of the modules and subpackages directly inside ``package``."""
    names = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in package.iterdir()
              if p.is_dir() and (p / "__init__.py").is_file()}
    return names


def covers(file_name: str, modules: set[str]) -> bool:
    """``test_<module>.py`` or ``test_<module>_<aspect>.py`` for one of ``modules``."""
    stem = file_name.removeprefix("test_").removesuffix(".py")
    return any(stem == m or stem.startswith(m + "_") for m in modules)


def misplaced(path: Path) -> str | None:
    """Why the test file at ``path`` is not where the layout puts it (``None``: it is)."""
    rel = path.relative_to(TESTS)
    suite, *inner = rel.parts[:-1]
    if suite in KIND_SUITES:
        return None if not inner else f"{rel}: a kind suite has no subdirectories"
    if suite == "cli":
        if inner:
            return f"{rel}: tests/cli has no subdirectories"
        nouns = modules_of(PACKAGE / "cli") | CLI_NOUNS
        return None if covers(path.name, nouns) else (
            f"{rel}: not test_<noun>.py for a CLI noun ({', '.join(sorted(nouns))})")
    if suite == "unit":
        if not inner and path.name in PROJECT_TESTS:
            return None
        package = PACKAGE.joinpath(*inner)
        if not (package / "__init__.py").is_file():
            return f"{rel}: src/mlrig/{'/'.join(inner)} is no package"
        modules = modules_of(package)
        return None if covers(path.name, modules) else (
            f"{rel}: not test_<module>.py for a module of src/mlrig/{'/'.join(inner)}")
    return f"{rel}: not in a suite (unit/<package>, cli, {', '.join(KIND_SUITES)})"


def test_every_test_file_is_where_the_layout_puts_it() -> None:
    files = suite_test_files()
    assert len(files) > 40  # the walk really found the suite
    assert [why for path in files if (why := misplaced(path))] == []


def test_the_rule_itself_places_and_refuses() -> None:
    """Guard against a rule that lets everything through."""
    assert misplaced(TESTS / "unit" / "core" / "test_stacks.py") is None
    assert misplaced(TESTS / "unit" / "core" / "test_profiles_shared_stores.py") is None
    assert misplaced(TESTS / "cli" / "test_flavor.py") is None
    assert misplaced(TESTS / "sql" / "test_anything.py") is None
    assert misplaced(TESTS / "unit" / "core" / "test_regressions.py") is not None
    assert misplaced(TESTS / "unit" / "test_stacks.py") is not None  # stacks is core's
    assert misplaced(TESTS / "cli" / "test_newcomer.py") is not None
    assert misplaced(TESTS / "lifecycle" / "test_profiles.py") is not None
    assert misplaced(TESTS / "unit" / "nowhere" / "test_x.py") is not None


def test_only_tests_conftests_and_known_data_files() -> None:
    others = sorted(str(p.relative_to(TESTS)) for p in python_files()
                    if not p.name.startswith("test_")
                    and p.name not in ("conftest.py", "__init__.py")
                    and PLUGIN_PACKAGE not in p.relative_to(TESTS).parts)
    assert others == sorted(NON_TEST_FILES), (
        "a helper module under tests/ is imported by tests: make it fixtures in a "
        "conftest.py or functions of mlrig.testing")


def local_module_names() -> set[str]:
    """Every name a file under tests/ could be imported by, besides ``tests.*``."""
    names = {p.stem for p in python_files() if p.stem != "__init__"}
    names |= {p.name for p in TESTS.rglob("*") if p.is_dir() and (p / "__init__.py").exists()}
    return names - {"mlrig_test_plugin", "flavors", "custom"}  # the plugin package's own


def imports_of_tests(source: str, local: set[str]) -> list[str]:
    """The imports in ``source`` of ``tests``, of a relative module, or of another file under
    tests/ by its bare name; and dotted paths into ``tests`` in strings (flavor sources)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "a relative import"))
                continue
            modules = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if DOTTED_PATH.fullmatch(text):
                found.append((node.lineno, f"the dotted path {text!r}"))
            continue
        found += [(node.lineno, f"import of {module!r}") for module in modules
                  if module.split(".")[0] == "tests" or module.split(".")[0] in local]
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_no_file_under_tests_imports_another() -> None:
    local = local_module_names()
    assert {"conftest", "worker", "test_stacks"} <= local
    found = [f"{path.relative_to(TESTS)} {what}" for path in python_files()
             if PLUGIN_PACKAGE not in path.relative_to(TESTS).parts
             for what in imports_of_tests(path.read_text(encoding="utf-8"), local)]
    assert found == []


def test_the_import_check_itself_sees_imports() -> None:
    """Guard against a check that silently stops seeing imports."""
    source = ("import tests.e2e\nfrom tests.reliability import worker\nfrom . import conftest\n"
              "import test_stacks\nfrom mlrig.testing.runs import run_mlrig\nimport json\n"
              "SOURCE = 'tests.reliability.secret_flavor.VaultSecretsManager'\n"
              "TEXT = 'tests. are good'\n")
    assert imports_of_tests(source, local_module_names()) == [
        "line 1: import of 'tests.e2e'",
        "line 2: import of 'tests.reliability'",
        "line 3: a relative import",
        "line 4: import of 'test_stacks'",
        "line 7: the dotted path 'tests.reliability.secret_flavor.VaultSecretsManager'",
    ]
