"""What a flavor is: a class that declares its component type, its name and its config schema.

A custom or plugin flavor is a subclass of :class:`Flavor`::

    from pydantic import BaseModel, Field
    from mlrig.flavors.base import Flavor
    from mlrig.models import ComponentType

    class AirflowConfig(BaseModel):
        dag_dir: str
        token: str | None = Field(default=None, json_schema_extra={"secret": True})

    class AirflowOrchestrator(Flavor):
        TYPE = ComponentType.ORCHESTRATOR
        FLAVOR = "airflow"
        CONFIG = AirflowConfig

Fields marked ``{"secret": True}`` (or typed ``SecretStr``) are masked in every output and
left out of exports unless asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from mlrig.models import ComponentType

if TYPE_CHECKING:
    from pydantic import BaseModel


class Flavor:
    """Base class of every flavor (built-in, plugin or registered in a profile)."""

    TYPE: ClassVar[ComponentType]
    FLAVOR: ClassVar[str]
    CONFIG: ClassVar[type[BaseModel]]
    DESCRIPTION: ClassVar[str] = ""

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        from typing import get_args

        from pydantic import SecretBytes, SecretStr

        secret: set[str] = set()
        for name, info in cls.CONFIG.model_fields.items():
            extra = info.json_schema_extra
            # SecretStr itself, or inside Optional/Union (``SecretStr | None``)
            types = {info.annotation, *get_args(info.annotation)}
            if (isinstance(extra, dict) and extra.get("secret")) or types & {SecretStr,
                                                                            SecretBytes}:
                secret.add(name)
        return frozenset(secret)
