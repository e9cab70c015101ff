"""The CLI reference in docs/ is generated from the code and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from mlrig.cli.docgen import render

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_up_to_date() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render(), "run: python3 scripts/gen_cli_docs.py"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = readme.index("python3 -m pip install -e '.[sql]' && mlrig profile list")
    tests = readme.index("./scripts/test.sh")
    assert install < tests < readme.index("## A tour")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test.sh" in ci
