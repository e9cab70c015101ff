"""Built-in metadata store flavors."""

from __future__ import annotations

from pydantic import Field, field_validator

from mlrig.flavors.base import Flavor
from mlrig.flavors.builtin._base import SECRET, Config, non_empty
from mlrig.models import ComponentType


class SQLiteMetadataStoreConfig(Config):
    uri: str = Field(description="Path of the SQLite database file.")

    _check = field_validator("uri")(non_empty)


class SQLiteMetadataStore(Flavor):
    TYPE = ComponentType.METADATA_STORE
    FLAVOR = "sqlite"
    CONFIG = SQLiteMetadataStoreConfig
    DESCRIPTION = "Keeps metadata in a local SQLite file."


class MySQLMetadataStoreConfig(Config):
    host: str
    port: int = Field(default=3306, ge=1, le=65535)
    database: str
    username: str
    password: str | None = Field(default=None, json_schema_extra=SECRET)

    _check = field_validator("host", "database", "username")(non_empty)


class MySQLMetadataStore(Flavor):
    TYPE = ComponentType.METADATA_STORE
    FLAVOR = "mysql"
    CONFIG = MySQLMetadataStoreConfig
    DESCRIPTION = "Keeps metadata in a MySQL database."


class PostgreSQLMetadataStoreConfig(MySQLMetadataStoreConfig):
    """MySQL's attributes; only the default port differs."""

    port: int = Field(default=5432, ge=1, le=65535)


class PostgreSQLMetadataStore(Flavor):
    TYPE = ComponentType.METADATA_STORE
    FLAVOR = "postgresql"
    CONFIG = PostgreSQLMetadataStoreConfig
    DESCRIPTION = "Keeps metadata in a PostgreSQL database."
