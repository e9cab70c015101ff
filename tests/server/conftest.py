"""Fixtures of the server tests: a real ``mlrig server`` (uvicorn) on 127.0.0.1, tokens
made by the real ``mlrig server token create``, and team members in their own config dirs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlrig.testing.runs import Run, run_mlrig
from mlrig.testing.server import Served, make_token, served


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path) as running:
        yield running


@pytest.fixture
def token(server: Served) -> Callable[..., str]:
    def make(name: str, role: str, *extra: str, user: str | None = None) -> str:
        return make_token(server, name, role, *extra, user=user)

    return make


class Member:
    """A team member: their own config dir (another HOME), the real executable."""

    def __init__(self, root: Path) -> None:
        self.config_dir = root
        self.env = {"MLRIG_CONFIG_PATH": str(root), "COLUMNS": "100"}

    def __call__(self, *args: str, env: dict[str, str] | None = None,
                 input: str | None = None) -> Run:
        return run_mlrig(*args, env={**self.env, **(env or {})}, input=input,
                         cwd=self.config_dir.parent)


@pytest.fixture
def member(tmp_path: Path) -> Callable[[str], Member]:
    def make(name: str) -> Member:
        root = tmp_path / "homes" / name / "config"
        root.parent.mkdir(parents=True, exist_ok=True)
        return Member(root)

    return make
