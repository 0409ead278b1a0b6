"""Migrations with Alembic: each service keeps its revisions next to its tables.

``Service(..., migrations="users.migrations")`` names a package holding the service's
revision files; portside supplies the environment. Each service has its own version table
(``alembic_version_<service>``), so services can share a database.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from ._provider import create_tables

__all__ = ["migrate", "migrations_directory"]

ENVIRONMENT = Path(__file__).resolve().parent / "alembic"


def migrations_directory(package: str) -> Path:
    """The directory of a migrations package (created if it is a plain path)."""
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        raise LookupError(f"the migrations package {package!r} cannot be imported: {exc}") from exc
    paths = list(getattr(module, "__path__", []))
    if not paths:
        raise LookupError(f"{package!r} is a module, not a package of migrations")
    return Path(paths[0])


def _config(service: str, directory: Path, metadata: MetaData | None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(ENVIRONMENT))
    config.set_main_option("version_locations", str(directory))
    config.set_main_option("path_separator", "os")
    config.attributes["version_table"] = f"alembic_version_{service.replace('-', '_')}"
    config.attributes["target_metadata"] = metadata
    return config


async def migrate(
    engine: AsyncEngine,
    service: str,
    package: str,
    action: str,
    *,
    revision: str = "head",
    message: str | None = None,
    autogenerate: bool = False,
    metadata: MetaData | None = None,
) -> str:
    """Run ``upgrade``, ``downgrade``, ``revision`` or ``current`` for one service."""
    directory = migrations_directory(package)
    config = _config(service, directory, metadata)
    if action == "upgrade":
        await create_tables(engine)  # portside's own tables come first
    output: list[str] = []
    config.print_stdout = lambda text, *args: output.append(text % args if args else text)  # type: ignore[method-assign]
    operations: dict[str, Callable[[], Any]] = {
        "upgrade": lambda: command.upgrade(config, revision),
        "downgrade": lambda: command.downgrade(config, revision),
        "current": lambda: command.current(config),
        "revision": lambda: command.revision(
            config, message=message, autogenerate=autogenerate, version_path=str(directory)
        ),
    }
    if action not in operations:
        raise ValueError(f"unknown migration action {action!r}")

    def run(connection: Any) -> None:
        config.attributes["connection"] = connection
        operations[action]()

    async with engine.begin() as connection:
        await connection.run_sync(run)
    return "\n".join(output)
