"""Rewrite the generated reference of docs/python-api.md: python3 scripts/gen_api_docs.py

The hand-written part above the BEGIN marker is kept as it is."""

from pathlib import Path

from mlrig.apidoc import update_page

target = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"
target.write_text(update_page(target.read_text(encoding="utf-8")), encoding="utf-8")
print(f"wrote {target}")
