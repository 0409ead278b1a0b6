"""The composition root of the users service: the only module that names concrete types.

``portside run`` loads it from configuration::

    [services.users]
    app = "users.composition:service"
    seed_courses = ["Go", "Python", "Rust"]
    page_size = 20

The storage provider configured (``[storage] provider``) decides which repositories the
service uses; only the chosen adapter module is imported, when the container first needs
it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from portside.cache import Cache
from portside.di import Module
from portside.host import Host, Lifecycle, Service, ServiceInfo, Startup
from portside.storage import UnitOfWork
from users.application import (
    MAX_PAGE,
    Clock,
    CourseRepository,
    GetUser,
    ListCourses,
    ListUsers,
    ModifyAndUnregister,
    ModifyUser,
    RegisterUser,
    SeedCourses,
    UnregisterUser,
    UserCache,
    UserRepository,
)

__all__ = ["Repositories", "UsersSettings", "service", "users_module"]


class UsersSettings(BaseModel):
    """``[services.users]`` keys."""

    model_config = ConfigDict(extra="forbid")

    seed_courses: list[str] = Field(default_factory=lambda: ["Go", "Python", "Rust"])
    """Courses created at start when missing (existing ones are kept)."""
    page_size: int = Field(default=20, ge=1, le=MAX_PAGE)
    """Users per page when a caller names no limit."""
    cache_ttl: float | None = Field(default=None, gt=0)
    """Seconds a user stays cached; the ``[cache]`` ttl when unset. With the memory cache
    each instance caches on its own, so another instance's change shows here after at
    most this long (a shared Redis cache is invalidated by every instance)."""


@dataclass(frozen=True)
class Repositories:
    """The repository classes that run on the configured store."""

    users: Callable[[UnitOfWork], UserRepository]
    courses: Callable[[UnitOfWork], CourseRepository]


def _sql() -> Repositories:
    from users.adapters.sql import SqlCourses, SqlUsers

    return Repositories(SqlUsers, SqlCourses)


def _documents() -> Repositories:
    from users.adapters.documents import DocumentCourses, DocumentUsers

    return Repositories(DocumentUsers, DocumentCourses)


# Storage provider -> its repositories. A store not named here stores documents (every
# portside store does), so it gets the document repositories.
REPOSITORIES: dict[str, Callable[[], Repositories]] = {
    "sql": _sql,
    "memory": _documents,
    "redis": _documents,
}


def repositories(info: ServiceInfo) -> Repositories:
    return REPOSITORIES.get(info.providers.get("storage", ""), _documents)()


def user_repository(uow: UnitOfWork, chosen: Repositories) -> UserRepository:
    return chosen.users(uow)


def course_repository(uow: UnitOfWork, chosen: Repositories) -> CourseRepository:
    return chosen.courses(uow)


def user_cache(cache: Cache, settings: UsersSettings) -> UserCache:
    from users.adapters.cache import CachedUsers

    return CachedUsers(cache, ttl=settings.cache_ttl)


def system_clock() -> Clock:
    from users.adapters.clock import SystemClock

    return SystemClock()


def list_users(uow: UnitOfWork, users: UserRepository, settings: UsersSettings) -> ListUsers:
    return ListUsers(uow, users, page_size=settings.page_size)


class CourseSeeder(Startup):
    """Creates the configured courses when the service starts (after the storage
    provider's own start hooks, such as migrations); existing courses are kept."""

    def __init__(
        self, lifecycle: Lifecycle, host: Host, info: ServiceInfo, settings: UsersSettings
    ) -> None:
        self.host, self.info, self.settings = host, info, settings
        lifecycle.on_start(self.seed, name="users: seed courses")

    async def seed(self) -> None:
        provider = self.host.providers[self.info.name]
        async with provider.create_scope() as scope:
            seed = await scope.aget(SeedCourses)
            await seed(self.settings.seed_courses)


def users_module() -> Module:
    """The core: ports bound to adapters, the use cases, seeding at start."""
    module = Module("users")
    module.add_singleton(Clock, factory=system_clock)
    module.add_singleton(Repositories, factory=repositories)
    module.add_scoped(UserRepository, factory=user_repository)
    module.add_scoped(CourseRepository, factory=course_repository)
    module.add_singleton(UserCache, factory=user_cache)
    for use_case in (
        RegisterUser,
        GetUser,
        ModifyUser,
        UnregisterUser,
        ModifyAndUnregister,
        ListCourses,
        SeedCourses,
    ):
        module.add_scoped(use_case)
    module.add_scoped(ListUsers, factory=list_users)
    module.add_singleton(Startup, CourseSeeder)
    return module


def http_module() -> Module:
    """REST on ``[http]`` (FastAPI, uvicorn)."""
    from portside.http import Routes
    from users.adapters.http import FirstRequestHint, http_routes

    module = Module("users.http").add_singleton(Routes, instance=http_routes())
    module.add_singleton(Startup, FirstRequestHint)
    return module


def grpc_module() -> Module:
    """``users.v1.UserService`` on ``[grpc]``; the servicer is built once, and each call
    resolves the use case its method injects."""
    from portside.grpc import GrpcService
    from users.adapters.grpc import UserServicer, grpc_service

    module = Module("users.grpc")
    module.add_singleton(UserServicer)
    module.add_singleton(GrpcService, instance=grpc_service())
    return module


def entry_modules() -> list[Module]:
    """The entry adapters: how callers reach the use cases. Each imports its framework
    inside its own module function, so importing this module imports neither."""
    return [http_module(), grpc_module()]


def _tables() -> Any:
    """The SQLAlchemy metadata of the service's tables, for ``portside db revision
    --autogenerate``; ``None`` where SQLAlchemy is not installed (no SQL store can be
    chosen there either)."""
    try:
        from users.adapters.tables import metadata
    except ModuleNotFoundError as exc:
        if exc.name != "sqlalchemy":
            raise
        return None
    return metadata


def service() -> Service:
    """The users service, as ``[services.users] app = "users.composition:service"``
    names it."""
    return Service(
        "users",
        modules=[users_module(), *entry_modules()],
        settings=UsersSettings,
        requires=["storage", "messaging", "cache", "http", "grpc"],
        migrations="users.migrations",
        tables=_tables(),
    )
