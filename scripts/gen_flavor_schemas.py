"""Write src/mlrig/flavors/builtin/_schemas.py: the built-in flavors' config models compiled
for pydantic-core (see mlrig.flavors.compiled). Run after changing a built-in flavor's config.
"""

from __future__ import annotations

from pathlib import Path

from mlrig.flavors import builtin_specs
from mlrig.flavors.compiled import builtin_models, render

TARGET = Path(__file__).resolve().parent.parent / "src/mlrig/flavors/builtin/_schemas.py"

if __name__ == "__main__":
    TARGET.write_text(render(builtin_models(builtin_specs())))
    print(f"wrote {TARGET}")
