"""Two FastAPI apps with the same dependency graph, for ``http_bench.py``'s per-request
cost of portside's DI scope integration against FastAPI's own ``Depends``.

The graph, per request: a ``Session`` (made by a generator, closed after the response)
used by a ``UserRepository``, which with the singletons ``Settings`` and ``Clock`` builds
a ``GetUser`` use case. Each app also has a route without dependencies, so that the
dependency cost is the difference between the two routes of one app.
"""

from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Depends, FastAPI

from http_asgi import Run, asgi_caller
from http_handwritten import TELEMETRY_OFF
from portside.di import ServiceCollection
from portside.http import Inject, Routes, build_app


class Settings:
    def __init__(self) -> None:
        self.page_size = 20


class Clock:
    def now(self) -> float:
        return 0.0


class Session:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class UserRepository:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings


class GetUser:
    def __init__(self, users: UserRepository, clock: Clock) -> None:
        self.users = users
        self.clock = clock

    def __call__(self, user_id: str) -> dict[str, object]:
        return {"id": user_id, "page": self.users.settings.page_size, "at": self.clock.now()}


def open_session() -> Iterator[Session]:
    session = Session()
    try:
        yield session
    finally:
        session.close()


# -- portside -------------------------------------------------------------------------------


def portside_app() -> FastAPI:
    router = APIRouter()

    @router.get("/users/{user_id}")
    async def get_user(user_id: str, get: Inject[GetUser]) -> dict[str, object]:
        return get(user_id)

    @router.get("/plain/{user_id}")
    async def plain(user_id: str) -> dict[str, object]:
        return {"id": user_id, "page": 20, "at": 0.0}

    services = ServiceCollection()
    services.add_singleton(Settings)
    services.add_singleton(Clock)
    services.add_scoped(Session, factory=open_session)
    services.add_scoped(UserRepository)
    services.add_scoped(GetUser)
    return build_app([Routes(router)], provider=services.build())


# -- FastAPI Depends ------------------------------------------------------------------------
# Async dependencies: FastAPI runs sync ones in a thread pool, which would be unfair to it.

_SETTINGS = Settings()
_CLOCK = Clock()


async def settings() -> Settings:
    return _SETTINGS


async def clock() -> Clock:
    return _CLOCK


async def session() -> AsyncIterator[Session]:
    made = Session()
    try:
        yield made
    finally:
        made.close()


async def repository(
    session: Session = Depends(session),
    settings: Settings = Depends(settings),
) -> UserRepository:
    return UserRepository(session, settings)


async def use_case(
    users: UserRepository = Depends(repository),
    clock: Clock = Depends(clock),
) -> GetUser:
    return GetUser(users, clock)


def depends_app() -> FastAPI:
    # FastAPI configured as portside's app is: its own OpenTelemetry instrumentation off.
    app = FastAPI(telemetry=TELEMETRY_OFF)

    @app.get("/users/{user_id}")
    async def get_user(user_id: str, get: GetUser = Depends(use_case)) -> dict[str, object]:
        return get(user_id)

    @app.get("/plain/{user_id}")
    async def plain(user_id: str) -> dict[str, object]:
        return {"id": user_id, "page": 20, "at": 0.0}

    # FastAPI's own routes (OpenAPI document, docs pages) last, where portside's app has
    # them: each route tried before the matching one costs a request some time, and the
    # two apps' plain routes are compared for the cost of portside's middleware alone.
    own = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    routes = app.router.routes
    routes.sort(key=lambda route: getattr(route, "path", None) in own)  # stable
    return app


def callers() -> dict[str, Run]:
    """``"portside users"``, ``"portside plain"``, ``"Depends users"``, ``"Depends plain"``:
    each route of each app as a caller of ``run(n)`` requests."""
    apps = {"portside": portside_app(), "Depends": depends_app()}
    return {
        f"{name} {route}": asgi_caller(app, f"/{route}/u-1")
        for name, app in apps.items()
        for route in ("users", "plain")
    }
