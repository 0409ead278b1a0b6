"""The ``sql`` storage provider: SQLAlchemy 2 (async) over SQLite, PostgreSQL or MariaDB/MySQL.

```toml
[storage]
provider = "sql"
url = "postgresql+asyncpg://app@db/shop"     # or sqlite+aiosqlite:///var/app.db,
                                              #    mysql+aiomysql://app@db/shop
pool_size = 5
```

This module imports no driver: selecting the provider checks that the URL's driver is
installed and names the extra otherwise; the engine is created when the service starts.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from portside.config import Provider
from portside.di import Module

if TYPE_CHECKING:
    from ._uow import SqlRepository, SqlUnitOfWork

__all__ = ["DRIVERS", "SqlRepository", "SqlSettings", "SqlUnitOfWork", "provider"]

_NEED_SQLALCHEMY = frozenset({"SqlRepository", "SqlUnitOfWork"})


def __getattr__(name: str) -> Any:
    """The base classes for SQL repositories, imported (with SQLAlchemy) on first use."""
    if name in _NEED_SQLALCHEMY:
        from . import _uow

        return getattr(_uow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# URL driver name -> (importable module, portside extra)
DRIVERS: dict[str, tuple[str, str]] = {
    "aiosqlite": ("aiosqlite", "sqlite"),
    "asyncpg": ("asyncpg", "postgres"),
    "psycopg": ("psycopg", "postgres"),
    "aiomysql": ("aiomysql", "mysql"),
    "asyncmy": ("asyncmy", "mysql"),
}
DEFAULT_URL = "sqlite+aiosqlite:///var/portside.db"


class SqlSettings(BaseModel):
    """``[storage]`` keys of the ``sql`` provider."""

    model_config = ConfigDict(extra="forbid")

    url: str = DEFAULT_URL
    """SQLAlchemy URL with an async driver."""
    password: SecretStr | None = None
    """Set into the URL when it has none (use ``password_file`` for a secret file)."""
    schema_name: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Tables live in this schema (PostgreSQL) or database (MariaDB/MySQL)."""
    pool_size: int = Field(default=5, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    pool_timeout: float = Field(default=10.0, gt=0)
    """Seconds to wait for a pooled connection."""
    connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to wait for the server when connecting."""
    echo: bool = False
    pre_ping: bool = True
    """Test each pooled connection before use, so a database restart costs no failed
    request (one extra round trip when a unit of work takes a connection from the pool)."""
    create_tables: bool = False
    """Create portside's own tables (documents, outbox) at start; migrations do it otherwise."""
    migrate_on_start: bool = False
    """Upgrade the service's database to the latest revision when it starts."""

    @field_validator("url")
    @classmethod
    def _async_driver_installed(cls, url: str) -> str:
        scheme = url.split("://", 1)[0]
        if "://" not in url or not scheme:
            raise ValueError("not a database URL (dialect+driver://user@host/database)")
        dialect, _, driver = scheme.partition("+")
        if dialect not in ("sqlite", "postgresql", "mysql", "mariadb"):
            raise ValueError(
                f"unsupported database {dialect!r}; use sqlite, postgresql, mysql or mariadb"
            )
        if not driver:
            raise ValueError(
                f"name an async driver in the URL, e.g. {dialect}+"
                + {"sqlite": "aiosqlite", "postgresql": "asyncpg"}.get(dialect, "aiomysql")
                + "://..."
            )
        known = DRIVERS.get(driver)
        if known is None:
            raise ValueError(f"unknown async driver {driver!r}; known: {', '.join(DRIVERS)}")
        module, extra = known
        if importlib.util.find_spec(module) is None:
            raise ValueError(
                f"the driver {module!r} is not installed: pip install 'portside[{extra}]'"
            )
        return url


def _module(settings: Any) -> Module:
    from ._provider import sql_module

    return sql_module(settings)


provider = Provider(
    "storage",
    "sql",
    _module,
    SqlSettings,
    extra="sql",
    requires=("sqlalchemy",),
    default=True,
    description="SQLAlchemy: SQLite (embedded default), PostgreSQL, MariaDB/MySQL",
)
