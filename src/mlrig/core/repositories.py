"""Repositories (``mlrig init``) and ``mlrig status``: which profile and stack are
active, which scope chose each, and what they override."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig import context as ctx
from mlrig.config.repository import Repository, RepositoryConfig
from mlrig.context import Choice
from mlrig.core.session import Session
from mlrig.exceptions import (
    AlreadyExistsError,
    InputError,
)

if TYPE_CHECKING:
    pass


def init_repository(
    session: Session, path: str | Path | None = None
) -> tuple[Repository, Choice, Choice | None]:
    root = Path(path).expanduser() if path is not None else session.cwd
    if not root.is_dir():
        raise InputError(f"Cannot initialise a repository at '{root}': not a directory.")
    root = root.resolve()
    repo = Repository(root)
    if repo.exists() or repo.config_dir.exists():
        raise AlreadyExistsError(f"Found existing mlrig repository at path '{root}'.")
    profile = session.profile_choice()
    stack = session.stack_choice(profile=profile.name)
    repo.save(RepositoryConfig(profile.name, stack.name if stack else None))
    session.forget_repository()
    return repo, profile, stack


def status(session: Session) -> dict[str, Any]:
    config = session.config()
    profile = session.profile_choice(strict=False)
    profile_exists = profile.name in config.profiles
    stack = session.stack_choice(strict=False, profile=profile.name)
    stack_exists: bool | None = None
    if stack is not None and profile_exists:
        with session.store(profile.name).read() as view:
            stack_exists = view.get_stack(stack.name) is not None
    repo = session.repository()
    from mlrig.core.security import permission_warnings

    return {
        "profile": ctx.choice_dict(profile, profile_exists),
        "stack": ctx.choice_dict(stack, stack_exists) if stack is not None else None,
        "repository": str(repo.root) if repo is not None else None,
        "config_path": str(session.global_file.path),
        "warnings": permission_warnings(session.config_dir, config),
    }
