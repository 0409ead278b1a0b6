"""A service: one bounded context with its own container."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from pydantic import BaseModel

from portside.di import Module

__all__ = ["Service", "ServiceInfo", "Startup"]

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class Service:
    """One bounded context: a name, its DI modules, its settings model and what it needs.

    ``requires`` names the concerns (``"storage"``, ``"messaging"`` ...) the service needs;
    a concern that is not configured falls back to its default provider. ``start`` lists
    services resolved at start-up, so that they register their lifecycle hooks (a server,
    a consumer, a relay). The service's settings are validated from
    ``[services.<name>]`` and registered in its container as an instance of ``settings``.
    ``migrations`` names the package of its Alembic revisions and ``tables`` the
    SQLAlchemy ``MetaData`` they describe (for ``portside db revision --autogenerate``).
    """

    def __init__(
        self,
        name: str,
        *,
        modules: Iterable[Module] = (),
        settings: type[BaseModel] | None = None,
        requires: Iterable[str] = (),
        start: Iterable[Any] = (),
        migrations: str | None = None,
        tables: Any = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"a service name is lower-case letters, digits, '-' or '_', starting with a "
                f"letter; got {name!r}"
            )
        self.name = name
        self.modules: list[Module] = list(modules)
        self.settings = settings
        self.requires: tuple[str, ...] = tuple(requires)
        self.start: tuple[Any, ...] = tuple(start)
        self.migrations = migrations
        self.tables = tables

    def add_module(self, module: Module) -> Self:
        self.modules.append(module)
        return self

    def __repr__(self) -> str:
        return f"Service({self.name!r}, {len(self.modules)} modules)"


@dataclass
class ServiceInfo:
    """Facts about a running service, available in its container.

    Components that listen append their addresses (``http://127.0.0.1:8000``), which the
    host prints in the service's start-up line.
    """

    name: str
    providers: dict[str, str] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)
    migrations: str | None = None


class Startup:
    """Register a component as ``Startup`` (``module.add_singleton(Startup, Migrator)``) and
    the host builds it when the service starts, so it can register lifecycle hooks; adapters
    use this where the service's own ``start`` list cannot name them."""
