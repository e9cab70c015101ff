"""The global configuration: ``<config dir>/config.yaml``.

It lists the profiles (name, store type, store URL, the profile's active stack), the
globally active profile, a random user id and the file's format version. Every change is a
read-modify-write under an exclusive lock with an atomic replace (see :mod:`mlrig.fsutil`).
Unknown top-level keys are kept when the file is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mlrig.exceptions import CorruptFileError, InputError, shown_text, shown_value
from mlrig.fsutil import FileLock, ensure_dir, read_yaml_mapping, write_yaml
from mlrig.models import ProfileConfig
from mlrig.names import validate_name

CONFIG_VERSION = 1
CONFIG_FILE = "config.yaml"
ENV_CONFIG_PATH = "MLRIG_CONFIG_PATH"

T = TypeVar("T")


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``MLRIG_CONFIG_PATH`` if set, else the platform's user config dir for mlrig."""
    from mlrig.environment import directory

    explicit = directory(ENV_CONFIG_PATH, env)
    if explicit is not None:
        return explicit
    from platformdirs import user_config_dir

    return Path(user_config_dir("mlrig", appauthor=False))


def _new_user_id() -> str:
    import uuid

    return str(uuid.uuid4())


@dataclass
class GlobalConfig:
    """The parsed content of ``config.yaml``.

    ``profiles`` maps each profile's name to its :class:`~mlrig.models.ProfileConfig`;
    ``active_profile`` is the globally active one; ``extra`` keeps top-level keys this
    version does not know, so that they are written back unchanged.
    """

    user_id: str = field(default_factory=_new_user_id)
    active_profile: str | None = None
    profiles: dict[str, ProfileConfig] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": CONFIG_VERSION,
            "user_id": self.user_id,
            "active_profile": self.active_profile,
            "profiles": {name: p.to_dict() for name, p in self.profiles.items()},
        }
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> GlobalConfig:
        try:
            profiles_raw = data.get("profiles") or {}
            if not isinstance(profiles_raw, dict):
                raise TypeError("'profiles' is not a mapping")
            profiles = {}
            for name, value in profiles_raw.items():
                if not isinstance(name, str):
                    raise ValueError(f"the profile name {shown_value(name)} is not a string")
                try:
                    validate_name("profile", name)
                except InputError as exc:
                    raise ValueError(exc.message) from None
                profiles[name] = ProfileConfig.from_dict(name, value)
            active = data.get("active_profile")
            if active is not None and not isinstance(active, str):
                raise ValueError("'active_profile' is not a name")
            known = {"version", "user_id", "active_profile", "profiles"}
            return cls(
                user_id=str(data.get("user_id") or _new_user_id()),
                active_profile=active,
                profiles=profiles,
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptFileError(
                f"The global configuration '{path}' is malformed ({shown_text(str(exc), 300)}); "
                "mlrig will not overwrite it.",
                hint="Fix or remove the file, or restore it from a backup.",
            ) from None


class GlobalConfigFile:
    """Reads and atomically updates ``config.yaml`` under ``config.lock``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / CONFIG_FILE
        self.lock = FileLock(directory / "config.lock", root=directory,
                             purpose=f"the global configuration '{self.path}'")

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> GlobalConfig | None:
        data = read_yaml_mapping(self.path, CONFIG_VERSION, "global configuration", cached=True,
                                 check=lambda content: GlobalConfig.from_dict(content, self.path))
        if data is None:
            return None
        return GlobalConfig.from_dict(data, self.path)

    def save(self, config: GlobalConfig) -> None:
        ensure_dir(self.directory)
        write_yaml(self.path, config.to_dict(), cached=True, root=self.directory)

    def update(self, change: Callable[[GlobalConfig | None], tuple[GlobalConfig, T]]) -> T:
        """Apply ``change`` to the current file content under the lock and save the result.

        ``change`` receives the config as it is on disk now (``None`` if there is none) and
        returns the new config and a value passed back to the caller.
        """
        ensure_dir(self.directory)
        with self.lock.exclusive():
            current = self.load()
            new, result = change(current)
            self.save(new)
            return result
