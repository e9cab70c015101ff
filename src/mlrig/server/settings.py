"""What a server process serves: kept as JSON in ``<config dir>/server/settings.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlrig.models import ProfileConfig

#: the variable that names the settings file of a server process (its workers read it)
SETTINGS_ENV = "MLRIG_SERVER_SETTINGS"
#: the largest request body taken (an import of a big bundle fits)
DEFAULT_MAX_BODY = 16 * 1024 * 1024


@dataclass
class ServerSettings:
    """What a server process serves (kept as JSON under ``<config>/server/``)."""

    store_type: str
    store_url: str
    options: dict[str, Any] = field(default_factory=dict)
    max_body: int = DEFAULT_MAX_BODY

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_file(cls, path: Path) -> ServerSettings:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(str(data["store_type"]), str(data["store_url"]),
                   dict(data.get("options") or {}),
                   int(data.get("max_body") or DEFAULT_MAX_BODY))

    def profile(self) -> ProfileConfig:
        return ProfileConfig("served", self.store_type, self.store_url,
                             options=dict(self.options))
