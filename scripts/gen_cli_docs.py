"""Write docs/cli.md from the code: python3 scripts/gen_cli_docs.py"""

from pathlib import Path

from mlrig.cli.docgen import render

target = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
target.write_text(render(), encoding="utf-8")
print(f"wrote {target}")
