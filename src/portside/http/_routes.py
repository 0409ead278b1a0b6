"""How a service declares the routes it serves, and how the app takes them in."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.convertors import FloatConvertor, IntegerConvertor, StringConvertor, UUIDConvertor
from starlette.routing import Match
from starlette.types import Scope

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
    of an included router and FastAPI's solving of ``Inject`` parameters, and each route
    turns away at once a request it cannot match (see :func:`_quick_reject`). Any other router
    (one with plain Starlette routes, mounts or routers of its own) is included as FastAPI
    includes it, where ``Inject`` is an ordinary dependency.
    """
    routes = declared.router.routes
    if not all(isinstance(route, APIRoute) for route in routes):
        app.include_router(declared.router, prefix=declared.prefix, tags=list(declared.tags))
        return
    classes: dict[type[APIRoute], type[APIRoute]] = {}
    for route in routes:
        assert isinstance(route, APIRoute)
        options: dict[str, Any] = {
            name: getattr(route, name) for name in _OPTIONS if hasattr(route, name)
        }
        route_class = classes.get(type(route))
        if route_class is None:
            route_class = classes[type(route)] = _quick_reject(type(route), app.router)
        app.router.add_api_route(
            declared.prefix + route.path,
            direct_injection(route.endpoint),
            tags=[*declared.tags, *route.tags],
            route_class_override=route_class,
            **options,
        )


#: Path parameter convertors whose values never hold a "/".
_SLASH_FREE = frozenset({StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor})


def _quick_reject(route_class: type[APIRoute], router: APIRouter) -> type[APIRoute]:
    """``route_class`` with a ``matches`` that turns a request away at once when its path
    has a different number of ``/`` than the route's: FastAPI's matching, which the router
    runs on every route before the one that matches, costs several times as much.

    Only where the count decides: the route's parameters hold no ``/`` (``path``
    parameters may), the request is routed by ``router`` itself (not through a router
    that includes it, which adds a prefix), and no ``root_path`` is to be taken off the
    path first. Anything else is matched by ``route_class`` as before.
    """

    matches_in_full = route_class.matches  # a plain call: cheaper than super() per request

    class QuickReject(route_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            slash_free = all(type(c) in _SLASH_FREE for c in self.param_convertors.values())
            self.slashes = self.path_format.count("/") if slash_free else -1

        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            if (
                scope["path"].count("/") != self.slashes
                and self.slashes >= 0
                and scope.get("router") is router
                and scope["type"] == "http"
                and not scope.get("root_path")
            ):
                return Match.NONE, {}
            return matches_in_full(self, scope)

    QuickReject.__name__ = route_class.__name__
    QuickReject.__qualname__ = route_class.__qualname__
    return QuickReject
