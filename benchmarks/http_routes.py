"""The ``routes`` part of ``http_bench.py``: what each route tried before the one that
matches costs a request, in a FastAPI app and in portside's app, in process.

A router tries its routes in order. Both apps serve the same routes: ``GET /users/{id}``
either first or behind 40 others (20 with one ``/`` in their path and 20 with three,
where the request has two); the FastAPI app holds the routes itself, not through an
included router, which costs more per route. The cost per route passed over is the median, over the
rounds, of the request's time behind them less its time at the front, divided by 40.
FastAPI runs its matching on each of them. Portside's app turns away at once a route whose
path has a different number of ``/`` than the request's (``portside.http._routes``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from http_asgi import Run, Times, asgi_caller, median_difference, timed_rounds
from portside.di import ServiceCollection
from portside.http import Routes, build_app

AHEAD = 40
PATH = "/users/u-1"
FASTAPI_FRONT, FASTAPI_BEHIND = "FastAPI app, route first", f"FastAPI app, route behind {AHEAD}"
PORTSIDE_FRONT = "portside app, route first"
PORTSIDE_BEHIND = f"portside app, route behind {AHEAD}"


async def _get_user(user_id: str) -> dict[str, str]:
    return {"id": user_id}


async def _other(item_id: str = "") -> dict[str, str]:
    return {"item": item_id}


def router(*, behind: bool) -> APIRouter:
    """``GET /users/{user_id}`` first, or after :data:`AHEAD` other routes."""
    routes = APIRouter()
    if not behind:
        routes.add_api_route("/users/{user_id}", _get_user, methods=["GET"])
    for i in range(AHEAD // 2):
        routes.add_api_route(f"/things{i}", _other, methods=["GET"])
        routes.add_api_route(f"/things{i}/{{item_id}}/parts", _other, methods=["GET"])
    if behind:
        routes.add_api_route("/users/{user_id}", _get_user, methods=["GET"])
    return routes


def _fastapi_app(routes: APIRouter) -> Any:
    """The routes added to the app itself: FastAPI's quickest way to serve them (an
    included router costs more per route tried)."""
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
    for route in routes.routes:
        app.router.routes.append(route)
    return app


def _portside_app(routes: APIRouter) -> Any:
    return build_app([Routes(routes)], provider=ServiceCollection().build())


def callers() -> dict[str, Run]:
    return {
        FASTAPI_FRONT: asgi_caller(_fastapi_app(router(behind=False)), PATH),
        FASTAPI_BEHIND: asgi_caller(_fastapi_app(router(behind=True)), PATH),
        PORTSIDE_FRONT: asgi_caller(_portside_app(router(behind=False)), PATH),
        PORTSIDE_BEHIND: asgi_caller(_portside_app(router(behind=True)), PATH),
    }


async def routes_part(rounds: int, requests: int) -> Times:
    """Microseconds per request of each app and place, in interleaved rounds."""
    runs = callers()
    for run in runs.values():
        await run(200)  # warm up
    return await timed_rounds(runs, rounds, requests)


def per_route(times: Times) -> dict[str, float]:
    """Microseconds per route passed over, per app (the median of the rounds' own)."""
    return {
        "FastAPI": median_difference(times, FASTAPI_BEHIND, FASTAPI_FRONT) / AHEAD,
        "portside": median_difference(times, PORTSIDE_BEHIND, PORTSIDE_FRONT) / AHEAD,
    }


def routes_report(times: Times, rounds: int, requests: int) -> list[str]:
    cost = per_route(times)
    ratio = cost["portside"] / cost["FastAPI"] if cost["FastAPI"] > 0 else float("nan")
    return [
        "## Routes tried before the match",
        "",
        (
            f"`GET {PATH}` served first and behind {AHEAD} other routes ({AHEAD // 2} with "
            f"one `/`, {AHEAD // 2} with three), in a FastAPI app and in portside's app; "
            f"{rounds} interleaved rounds of {requests} in-process ASGI requests. The cost "
            "per route passed over is the median over the rounds of the time behind less "
            f"the time first, divided by {AHEAD}."
        ),
        "",
        "| app | µs per route passed over |",
        "|---|---:|",
        f"| FastAPI | {cost['FastAPI']:.3f} |",
        f"| portside | {cost['portside']:.3f} ({ratio:.2f}x of FastAPI's) |",
        "",
    ]
