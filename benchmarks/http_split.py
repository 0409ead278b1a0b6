"""The ``split`` part of ``http_bench.py``: where a cached ``GET /users/{id}`` of the users
service spends the time the hand-written endpoint does not, measured in process.

Four contenders answer the same request, each called as an ASGI app without a socket:

- the hand-written app (``http_handwritten.py``);
- portside's app of the users service, serving the *hand-written* endpoint (mounted, for
  its own rounds only, at the place it has in the hand-written app's routes): the
  difference to the first
  is portside's HTTP integration (middleware, DI scope, error handlers);
- the same portside app serving the users service's own endpoint: the difference to the
  second is the service's layers (``Inject`` of the use case with its unit of work and
  repository, the cache port's JSON entry, the domain object, the DTO);
- the hand-written app with FastAPI's default telemetry (its own OpenTelemetry
  instrumentation, which looks the global providers up on every request): the difference
  to the first is what that default costs, which the other three leave off.

The users service runs in this process on PostgreSQL (its own schema), as ``portside run``
would start it; both caches hold the user before the rounds. Interleaved rounds.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine

import http_handwritten
import http_servers
from http_asgi import Run, Times, asgi_call, asgi_caller, best, cost_cell, timed_rounds
from portside.config import load_config
from portside.host import Host
from portside.http import HttpServer

HAND = "hand-written app, hand-written endpoint"
MOUNTED = "portside app, hand-written endpoint"
SERVICE = "portside app, users service endpoint"
DEFAULTS = "hand-written app with FastAPI's default telemetry"
CONTENDERS = (HAND, MOUNTED, SERVICE, DEFAULTS)


def _hand_written_get(hand_app: Any, path: str) -> tuple[int, APIRoute]:
    """The hand-written ``GET /users/{user_id}`` as a route at ``path``, and the index it
    has in ``hand_app``'s routes."""
    routes = hand_app.app.routes  # the FastAPI app inside the correlation-id middleware
    index, route = next(
        (i, r)
        for i, r in enumerate(routes)
        if isinstance(r, APIRoute) and r.path == "/users/{user_id}" and "GET" in (r.methods or ())
    )
    return index, APIRoute(
        path, route.endpoint, response_model=route.response_model, methods=["GET"]
    )


def _mounted_caller(portside_app: Any, hand_app: Any, user_id: str) -> Run:
    """Calls of the hand-written ``GET /users/{user_id}`` served by ``portside_app``: for
    each run the route is put at the index it has in ``hand_app``'s routes (so that as many
    routes are tried before it), and taken out again after (so that the service's own
    routes keep their places for the other contender)."""
    index, mounted = _hand_written_get(hand_app, "/hand/users/{user_id}")
    run_mounted = asgi_caller(portside_app, f"/hand/users/{user_id}")

    async def run(n: int) -> None:
        portside_app.router.routes.insert(index, mounted)
        try:
            await run_mounted(n)
        finally:
            portside_app.router.routes.remove(mounted)

    return run


async def _check_alike(portside_app: Any, hand_app: Any, hand_id: str, service_id: str) -> None:
    """The three contenders answer the same user the same way (the same fields; the two
    hand-written ones byte for byte), so their times compare."""
    hand = (await asgi_call(hand_app, "GET", f"/users/{hand_id}"))[1]
    _, mounted = _hand_written_get(hand_app, "/check/users/{user_id}")
    portside_app.router.routes.append(mounted)
    try:
        through_portside = (await asgi_call(portside_app, "GET", f"/check/users/{hand_id}"))[1]
    finally:
        portside_app.router.routes.remove(mounted)
    service = json.loads((await asgi_call(portside_app, "GET", f"/users/{service_id}"))[1])
    if through_portside != hand or sorted(service) != sorted(json.loads(hand)):
        raise RuntimeError(f"the contenders answer differently: {hand!r}, {service!r}")


async def _register(app: Any, name: str) -> str:
    body = json.dumps({"name": name, "department": "R&D"}).encode()
    status, answer = await asgi_call(app, "POST", "/users", body)
    if status != 201:
        raise RuntimeError(f"registering {name} answered {status}: {answer!r}")
    return str(json.loads(answer)["id"])


Measure = Callable[[dict[str, Run]], Awaitable[Any]]


async def split_part(rounds: int, requests: int, *, measure: Measure | None = None) -> Any:
    """Microseconds per request per contender in each round (:data:`http_asgi.Times`), or
    why it was skipped; ``measure`` replaces the timing and gives the result (the callers
    are ready and checked when it runs)."""
    problem = http_servers.reachable(http_servers.PG_HOST, http_servers.PG_PORT)
    if problem is not None:
        return f"PostgreSQL is unreachable ({problem})"
    tag = secrets.token_hex(4)
    schemas = {"portside": f"bench_{tag}_split_p", "hand": f"bench_{tag}_split_h"}
    await http_servers._execute(*(f'CREATE SCHEMA "{s}"' for s in schemas.values()))
    engine: AsyncEngine | None = None
    host: Host | None = None
    try:
        await http_servers._migrate(schemas["hand"])
        with tempfile.TemporaryDirectory() as directory:
            config = http_servers.portside_config(Path(directory), schemas["portside"])
            host = Host.from_config(load_config(config))
            await host.start()
        portside_app = (await host.providers["users"].aget(HttpServer)).app
        engine = http_handwritten.make_engine(http_servers.PG_URL)
        hand_app = http_handwritten.create_app(engine, schemas["hand"])
        defaults_app = http_handwritten.create_app(engine, schemas["hand"], telemetry=True)
        hand_id = await _register(hand_app, f"split-{tag}-hand")
        service_id = await _register(portside_app, f"split-{tag}-portside")
        callers = {
            HAND: asgi_caller(hand_app, f"/users/{hand_id}"),
            # The hand-written endpoint reads the hand-written app's cache and table.
            MOUNTED: _mounted_caller(portside_app, hand_app, hand_id),
            SERVICE: asgi_caller(portside_app, f"/users/{service_id}"),
            # What FastAPI's default costs: its per-request look-up of the global
            # OpenTelemetry providers, which both apps above leave off.
            DEFAULTS: asgi_caller(defaults_app, f"/users/{hand_id}"),
        }
        for caller in callers.values():
            await caller(200)  # warm up: caches filled, the DI graph compiled
        await _check_alike(portside_app, hand_app, hand_id, service_id)
        if measure is not None:
            return await measure(callers)
        return await timed_rounds(callers, rounds, requests)
    finally:
        if host is not None:
            await host.stop()
        if engine is not None:
            await engine.dispose()
        await http_servers._execute(
            *(f'DROP SCHEMA IF EXISTS "{s}" CASCADE' for s in schemas.values())
        )


def split_report(times: Times | str, rounds: int, requests: int) -> list[str]:
    lines = [
        "## Where a cached `GET /users/{id}` spends its time, in process",
        "",
    ]
    if isinstance(times, str):
        return [*lines, f"Skipped: {times}.", ""]
    fastest = best(times)
    integration = cost_cell(times, MOUNTED, HAND)
    layers = cost_cell(times, SERVICE, MOUNTED)
    default = cost_cell(times, DEFAULTS, HAND)
    return [
        *lines,
        (
            f"{rounds} interleaved rounds of {requests} in-process ASGI requests per contender; "
            "the users service on PostgreSQL in this process, every user cached. The "
            "hand-written endpoint is mounted in portside's app, for its own rounds only, at "
            "the place it has in the hand-written app's routes. Each contender's best round; "
            "the two costs are medians over the rounds of the difference of two contenders "
            "in the same round, with the lowest and highest round's difference."
        ),
        "",
        "| contender | µs per request | vs hand-written app |",
        "|---|---:|---:|",
        *(
            f"| {name} | {value:.1f} | {fastest[HAND] / value:.2f}x |"
            for name, value in fastest.items()
        ),
        (
            "| **portside's HTTP integration** (middleware, DI scope, error handlers) "
            f"| {integration} | |"
        ),
        (
            "| **the users service's layers** (use case via `Inject`, cache port, domain "
            f"object, DTO) | {layers} | |"
        ),
        (
            "| **FastAPI's default telemetry** (its per-request look-up of the global "
            f"OpenTelemetry providers; off in the contenders above) | {default} | |"
        ),
        "",
    ]
