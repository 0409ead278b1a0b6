"""How a service declares the routes it serves, and how the app takes them in."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from ._inject import direct_injection

__all__ = ["Routes", "add_routes"]


@dataclass(frozen=True)
class Routes:
    """A FastAPI router the service serves, declared in one of its modules::

    module.add_singleton(Routes, instance=Routes(router))
    """

    router: APIRouter
    prefix: str = ""
    tags: tuple[str, ...] = field(default=())


# What a declared route carries over to the app: every option of ``add_api_route`` that a
# route keeps as an attribute of the same name (read once, from FastAPI's own signature).
_SET_HERE = frozenset({"self", "path", "endpoint", "tags", "route_class_override"})
_OPTIONS = tuple(
    name for name in inspect.signature(APIRouter.add_api_route).parameters if name not in _SET_HERE
)


def add_routes(app: FastAPI, declared: Routes) -> None:
    """Serve ``declared`` on ``app``.

    A router that holds only FastAPI routes is added route by route, each handler through
    :func:`~portside.http._inject.direct_injection`: requests then skip the indirection
    of an included router and FastAPI's solving of ``Inject`` parameters. Any other router
    (one with plain Starlette routes, mounts or routers of its own) is included as FastAPI
    includes it, where ``Inject`` is an ordinary dependency.
    """
    routes = declared.router.routes
    if not all(isinstance(route, APIRoute) for route in routes):
        app.include_router(declared.router, prefix=declared.prefix, tags=list(declared.tags))
        return
    for route in routes:
        assert isinstance(route, APIRoute)
        options: dict[str, Any] = {
            name: getattr(route, name) for name in _OPTIONS if hasattr(route, name)
        }
        app.router.add_api_route(
            declared.prefix + route.path,
            direct_injection(route.endpoint),
            tags=[*declared.tags, *route.tags],
            route_class_override=type(route),
            **options,
        )
