"""The four scopes, for the profile and for the stack: flag > environment > repository > global.

Every pair of scopes is checked in both directions of presence: with both set to different
existing names, the higher one wins, reports itself and lists the lower one as overridden.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from mlrig.client import Client
from mlrig.config.repository import Repository, RepositoryConfig
from mlrig.context import ENVIRONMENT, FLAG, GLOBAL, LOCAL
from mlrig.exceptions import InputError, ScopeError
from mlrig.testing.stores import change_global_config

SCOPE_ORDER = (FLAG, ENVIRONMENT, LOCAL, GLOBAL)
PAIRS = list(itertools.combinations(SCOPE_ORDER, 2))  # (higher, lower)


def quiet(*_: str) -> None:
    return None


@pytest.fixture
def world(tmp_path: Path, config_dir: Path) -> dict[str, Path]:
    """Profiles p-flag, p-environment, p-local, p-global; in profile 'main' stacks
    s-flag ... s-global; a repository directory (not yet initialised)."""
    client = Client(on_event=quiet)
    for scope in SCOPE_ORDER:
        client.create_profile(f"p-{scope}")
    client.create_profile("main")
    main = Client(profile="main", on_event=quiet)
    for scope in SCOPE_ORDER:
        main.register_stack(f"s-{scope}", {"orchestrator": "default",
                                           "metadata_store": "default",
                                           "artifact_store": "default"})
    repo = tmp_path / "repo"
    (repo / "sub" / "dir").mkdir(parents=True)
    return {"repo": repo}


def profile_client(world: dict[str, Path], scopes: tuple[str, ...]) -> Client:
    """A client in which exactly ``scopes`` name a profile (p-<scope>)."""
    Client(on_event=quiet).set_profile("p-global" if GLOBAL in scopes else "default",
                                       global_=True)
    env: dict[str, str] = dict(os.environ)
    cwd = world["repo"].parent
    if ENVIRONMENT in scopes:
        env["MLRIG_ACTIVE_PROFILE"] = "p-environment"
    if LOCAL in scopes:
        Repository(world["repo"]).save(RepositoryConfig("p-local", "default"))
        cwd = world["repo"] / "sub" / "dir"
    return Client(profile="p-flag" if FLAG in scopes else None, env=env, cwd=cwd,
                  on_event=quiet)


@pytest.mark.parametrize(("higher", "lower"), PAIRS)
def test_profile_pair(world: dict[str, Path], higher: str, lower: str) -> None:
    client = profile_client(world, (higher, lower))
    choice = client.profile_choice()
    assert choice.name == f"p-{higher}"
    assert choice.scope == higher
    overridden = {(s.scope, s.name) for s in choice.overridden}
    assert (lower, f"p-{lower}") in overridden


@pytest.mark.parametrize("only", SCOPE_ORDER)
def test_profile_single_scope(world: dict[str, Path], only: str) -> None:
    client = profile_client(world, (only,))
    choice = client.profile_choice()
    if only == GLOBAL:
        assert (choice.name, choice.scope) == ("p-global", GLOBAL)
    else:
        assert (choice.name, choice.scope) == (f"p-{only}", only)


def stack_client(world: dict[str, Path], scopes: tuple[str, ...]) -> Client:
    """Profile 'main' everywhere; exactly ``scopes`` name a stack (s-<scope>)."""
    setup = Client(profile="main", on_event=quiet)
    setup.set_stack("s-global" if GLOBAL in scopes else "default", global_=True)
    Client(on_event=quiet).set_profile("main", global_=True)
    env: dict[str, str] = dict(os.environ)
    cwd = world["repo"].parent
    if ENVIRONMENT in scopes:
        env["MLRIG_ACTIVE_STACK"] = "s-environment"
    if LOCAL in scopes:
        Repository(world["repo"]).save(RepositoryConfig("main", "s-local"))
        cwd = world["repo"] / "sub"
    return Client(stack="s-flag" if FLAG in scopes else None, env=env, cwd=cwd,
                  on_event=quiet)


@pytest.mark.parametrize(("higher", "lower"), PAIRS)
def test_stack_pair(world: dict[str, Path], higher: str, lower: str) -> None:
    client = stack_client(world, (higher, lower))
    choice = client.stack_choice()
    assert choice is not None
    assert (choice.name, choice.scope) == (f"s-{higher}", higher)
    assert (lower, f"s-{lower}") in {(s.scope, s.name) for s in choice.overridden}
    assert client.active_stack_name == f"s-{higher}"


def test_repository_stack_applies_only_to_its_profile(world: dict[str, Path]) -> None:
    Repository(world["repo"]).save(RepositoryConfig("main", "s-local"))
    inside = world["repo"] / "sub"
    assert Client(cwd=inside, on_event=quiet).active_stack_name == "s-local"
    # Another profile chosen by the environment: the repository's stack belongs to 'main'
    # and does not apply; that profile's own active stack does.
    other = Client(cwd=inside, env={**os.environ, "MLRIG_ACTIVE_PROFILE": "p-flag"},
                   on_event=quiet)
    assert other.active_profile_name == "p-flag"
    assert other.active_stack_name == "default"


def test_nested_repositories_nearest_wins(world: dict[str, Path]) -> None:
    outer = world["repo"]
    inner = outer / "sub"
    Repository(outer).save(RepositoryConfig("p-local", "default"))
    Repository(inner).save(RepositoryConfig("p-flag", "default"))
    assert Client(cwd=inner / "dir", on_event=quiet).profile_choice().name == "p-flag"
    assert Client(cwd=outer, on_event=quiet).profile_choice().name == "p-local"
    choice = Client(cwd=inner / "dir", on_event=quiet).profile_choice()
    assert choice.source == str(inner / ".mlrig" / "config.yaml")


def test_repository_path_variable(world: dict[str, Path], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Repository(elsewhere).save(RepositoryConfig("p-environment", "default"))
    Repository(world["repo"]).save(RepositoryConfig("p-local", "default"))
    client = Client(cwd=world["repo"],
                    env={**os.environ, "MLRIG_REPOSITORY_PATH": str(elsewhere)},
                    on_event=quiet)
    assert client.profile_choice().name == "p-environment"
    assert client.repository() is not None
    not_a_repo = Client(env={**os.environ, "MLRIG_REPOSITORY_PATH": str(tmp_path / "x")},
                        on_event=quiet)
    with pytest.raises(InputError, match="MLRIG_REPOSITORY_PATH"):
        not_a_repo.profile_choice()


@pytest.mark.parametrize("scope", SCOPE_ORDER)
def test_missing_profile_in_each_scope(world: dict[str, Path], scope: str) -> None:
    env: dict[str, str] = dict(os.environ)
    cwd = world["repo"].parent
    flag = None
    if scope == FLAG:
        flag = "ghost"
    elif scope == ENVIRONMENT:
        env["MLRIG_ACTIVE_PROFILE"] = "ghost"
    elif scope == LOCAL:
        Repository(world["repo"]).save(RepositoryConfig("ghost", "default"))
        cwd = world["repo"]
    else:
        client = Client(on_event=quiet)

        def point_at_ghost(config):  # type: ignore[no-untyped-def]
            config.active_profile = "ghost"

        change_global_config(client, point_at_ghost)
    client = Client(profile=flag, env=env, cwd=cwd, on_event=quiet)
    with pytest.raises(ScopeError) as info:
        client.profile_choice()
    assert "'ghost'" in info.value.message
    assert scope in info.value.message
    assert info.value.hint
    # the lenient form (for the commands that repair it) still answers
    assert client.profile_choice(strict=False).name == "ghost"


@pytest.mark.parametrize("scope", SCOPE_ORDER)
def test_missing_stack_in_each_scope(world: dict[str, Path], scope: str) -> None:
    Client(on_event=quiet).set_profile("main", global_=True)
    env: dict[str, str] = dict(os.environ)
    cwd = world["repo"].parent
    flag = None
    if scope == FLAG:
        flag = "ghost"
    elif scope == ENVIRONMENT:
        env["MLRIG_ACTIVE_STACK"] = "ghost"
    elif scope == LOCAL:
        Repository(world["repo"]).save(RepositoryConfig("main", "ghost"))
        cwd = world["repo"]
    else:
        def point_at_ghost(config):  # type: ignore[no-untyped-def]
            config.profiles["main"].active_stack = "ghost"

        change_global_config(Client(on_event=quiet), point_at_ghost)
    client = Client(stack=flag, env=env, cwd=cwd, on_event=quiet)
    with pytest.raises(ScopeError) as info:
        client.stack_choice()
    assert "'ghost'" in info.value.message and scope in info.value.message
