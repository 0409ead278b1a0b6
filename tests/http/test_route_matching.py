"""``build_app`` serves a service's routes as FastAPI would, only cheaper to pass over: a
route whose path cannot match a request (it has a different number of ``/``) turns it away
without running FastAPI's matching. Every answer must be the one a plain FastAPI app with
the same routes gives: matches, 404, 405, trailing-slash redirects, every convertor, and
a ``root_path``."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from portside.di import ServiceCollection
from portside.http import Routes, build_app


class CountingRoute(APIRoute):
    """A service's own route class; counts the requests its matching was asked about."""

    asked: list[str] = []  # shared on purpose: what the routes of one test were asked

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        type(self).asked.append(self.path)
        return super().matches(scope)


def routes(route_class: type[APIRoute] = APIRoute) -> APIRouter:
    router = APIRouter(route_class=route_class)

    @router.post("/users")
    async def register() -> dict[str, str]:
        return {"route": "register"}

    @router.get("/users")
    async def list_users() -> dict[str, str]:
        return {"route": "list"}

    @router.get("/users/{user_id}")
    async def get_user(user_id: str) -> dict[str, str]:
        return {"route": "get", "id": user_id}

    @router.put("/users/{user_id}")
    async def put_user(user_id: str) -> dict[str, str]:
        return {"route": "put", "id": user_id}

    @router.get("/orders/{number:int}/lines/{line:int}")
    async def order_line(number: int, line: int) -> dict[str, Any]:
        return {"route": "line", "at": [number, line]}

    @router.get("/prices/{value:float}")
    async def price(value: float) -> dict[str, Any]:
        return {"route": "price", "value": value}

    @router.get("/things/{thing:uuid}")
    async def thing(thing: uuid.UUID) -> dict[str, str]:
        return {"route": "thing", "id": str(thing)}

    @router.get("/files/{name:path}")
    async def file(name: str) -> dict[str, str]:
        return {"route": "file", "name": name}

    @router.get("/slash/")
    async def slash() -> dict[str, str]:
        return {"route": "slash"}

    @router.get("/{anything}")
    async def anything(anything: str) -> dict[str, str]:
        return {"route": "anything", "value": anything}

    return router


def plain_app() -> FastAPI:
    app = FastAPI()
    app.include_router(routes())
    return app


def portside_app(route_class: type[APIRoute] = APIRoute) -> FastAPI:
    return build_app([Routes(routes(route_class))], provider=ServiceCollection().build())


REQUESTS = [
    ("GET", "/users"),
    ("POST", "/users"),
    ("DELETE", "/users"),  # 405
    ("GET", "/users/u-1"),
    ("PUT", "/users/u-1"),
    ("DELETE", "/users/u-1"),  # 405
    ("GET", "/users/u-1/"),  # redirected to /users/u-1
    ("GET", "/users/"),  # redirected to /users
    ("GET", "/users/u-1/more"),  # 404
    ("GET", "/orders/7/lines/2"),
    ("GET", "/orders/seven/lines/2"),  # no int: 404
    ("GET", "/prices/2.5"),
    ("GET", "/things/6f1f2c3a-5b4d-4e6f-8a9b-0c1d2e3f4a5b"),
    ("GET", "/things/not-a-uuid"),  # 404
    ("GET", "/files/a/b/c.txt"),
    ("GET", "/files/"),
    ("GET", "/slash"),  # redirected to /slash/
    ("GET", "/slash/"),
    ("GET", "/courses"),  # the catch-all
    ("GET", "/"),
    ("GET", "/a/b/c/d"),  # 404
]


async def answers(
    app: FastAPI, root_path: str = "", prefix: str = ""
) -> list[tuple[int, Any, str | None]]:
    """Per request (each path after ``root_path`` and ``prefix``): the status, the body of a
    success (portside words errors as problem details, FastAPI does not) and where a
    redirect points."""
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        seen = []
        for method, path in REQUESTS:
            response = await client.request(method, root_path + prefix + path)
            body = response.json() if response.is_success else None
            seen.append((response.status_code, body, response.headers.get("location")))
        return seen


async def test_every_request_gets_the_answer_plain_fastapi_gives() -> None:
    expected = await answers(plain_app())
    assert await answers(portside_app()) == expected
    # The table covers each outcome, so the comparison above means something.
    statuses = {status for status, _, _ in expected}
    assert {200, 404, 405, 307} <= statuses


async def test_behind_a_root_path_too() -> None:
    expected = await answers(plain_app(), root_path="/api")
    assert await answers(portside_app(), root_path="/api") == expected
    assert expected[0] == (200, {"route": "list"}, None)


@pytest.fixture
def asked() -> Iterator[list[str]]:
    CountingRoute.asked = []
    yield CountingRoute.asked
    CountingRoute.asked = []


async def get(app: FastAPI, path: str) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return (await client.get(path)).json()


async def test_routes_that_cannot_match_turn_a_request_away_without_matching_it(
    asked: list[str],
) -> None:
    assert await get(portside_app(CountingRoute), "/users/u-1") == {"route": "get", "id": "u-1"}
    # POST /users and GET /users come first but have one "/"; the service's route class
    # still does the matching of the route that can match.
    assert asked == ["/users/{user_id}"]


async def test_a_route_with_a_path_convertor_is_always_matched_in_full(
    asked: list[str],
) -> None:
    assert await get(portside_app(CountingRoute), "/files/a/b") == {"route": "file", "name": "a/b"}
    assert asked == ["/files/{name:path}"]  # the only route whose "/"s are not counted


async def test_routes_included_in_another_router_are_matched_in_full() -> None:
    """Included under a prefix, a route sees paths with more "/"s than its own."""
    plain, served = FastAPI(), FastAPI()
    plain.include_router(plain_app().router, prefix="/v1")
    served.include_router(portside_app().router, prefix="/v1")

    assert await get(served, "/v1/users/u-1") == {"route": "get", "id": "u-1"}
    expected = await answers(plain, prefix="/v1")
    assert await answers(served, prefix="/v1") == expected
    assert expected[0] == (200, {"route": "list"}, None)
