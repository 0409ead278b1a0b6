"""How ``build_app`` serves a service's routers: ``Inject`` parameters come from the
request's DI scope without being request parameters, and everything else FastAPI offers on
a route (dependencies, prefixes, tags, sync handlers, plain Starlette routes, nested
routers) keeps working. The app is called in-process through httpx's ASGI transport."""

import threading
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from portside.di import Key, MissingContextError, MissingServiceError, Module, ServiceCollection
from portside.http import Inject, Routes, build_app, request_scope


class Counter:
    """A scoped service: a new one per request."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()


class Greeter:
    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    def greet(self, name: str) -> str:
        return f"hello {name}"


def require_key(x_key: Annotated[str | None, Query()] = None) -> None:
    if x_key != "open":
        raise HTTPException(401, "a key is needed")


guarded = APIRouter(tags=["guarded"], dependencies=[Depends(require_key)])


@guarded.get("/secret")
async def secret(greeter: Inject[Greeter]) -> dict[str, str]:
    return {"said": greeter.greet("key holder")}


router = APIRouter()


@router.get("/greet/{name}")
async def greet(
    name: str,
    *,
    greeter: Inject[Greeter],
    counter: Inject[Counter],
    loud: Annotated[bool, Query()] = False,
) -> dict[str, object]:
    said = greeter.greet(name)
    return {"said": said.upper() if loud else said, "same": greeter.counter is counter}


@router.get("/request")
async def with_request(request: Request, counter: Inject[Counter]) -> dict[str, object]:
    return {
        "path": request.url.path,
        "scoped": await request_scope(request).aget(Counter) is counter,
    }


@router.get("/sync")
def sync_handler(counter: Inject[Counter]) -> dict[str, object]:
    return {"event_loop_thread": counter.thread == threading.get_ident()}


@router.get("/signed/{name}")
async def signed(name: str, sign: Inject[Annotated[str, Key("sign")]]) -> dict[str, str]:
    return {"said": f"{name} {sign}"}


@router.get("/untyped", response_model=None)
async def untyped() -> dict[str, int]:
    return {"n": "not a number"}  # type: ignore[dict-item] - no response model checks it


# A router with more than FastAPI routes: a plain Starlette route and a nested router.
mixed = APIRouter()


async def plain(request: Request) -> PlainTextResponse:
    return PlainTextResponse("plain")


mixed.add_route("/plain", plain)

nested = APIRouter(prefix="/nested")


@nested.get("/inner")
async def inner(greeter: Inject[Greeter]) -> dict[str, str]:
    return {"said": greeter.greet("inside")}


@nested.get("/signed")  # resolved by FastAPI, as a dependency
async def nested_signed(sign: Inject[Annotated[str, Key("sign")]]) -> dict[str, str]:
    return {"said": f"inside {sign}"}


mixed.include_router(nested)


def app() -> FastAPI:
    module = Module("greeting").add_scoped(Counter).add_scoped(Greeter)
    module.add_singleton(str, instance="(signed)", key="sign")
    provider = ServiceCollection().add_context(Request).add_module(module).build()
    return build_app(
        [Routes(router), Routes(mixed), Routes(guarded, prefix="/v1", tags=("versioned",))],
        provider=provider,
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_injected_services_come_from_the_requests_scope(client: httpx.AsyncClient) -> None:
    response = await client.get("/greet/ada", params={"loud": "true"})
    assert response.status_code == 200
    assert response.json() == {"said": "HELLO ADA", "same": True}


async def test_request_parameters_are_still_validated(client: httpx.AsyncClient) -> None:
    response = await client.get("/greet/ada", params={"loud": "maybe"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "loud"


async def test_injected_parameters_are_not_in_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/greet/{name}"]["get"]
    assert [p["name"] for p in operation.get("parameters", [])] == ["name", "loud"]
    assert operation["operationId"].startswith("greet_")
    request_operation = spec["paths"]["/request"]["get"]
    assert request_operation.get("parameters", []) == []


async def test_a_handler_can_take_the_request_and_services(client: httpx.AsyncClient) -> None:
    assert (await client.get("/request")).json() == {"path": "/request", "scoped": True}


async def test_a_sync_handler_runs_off_the_event_loop(client: httpx.AsyncClient) -> None:
    assert (await client.get("/sync")).json() == {"event_loop_thread": False}


async def test_router_dependencies_prefix_and_tags_are_kept(client: httpx.AsyncClient) -> None:
    refused = await client.get("/v1/secret")
    allowed = await client.get("/v1/secret", params={"x_key": "open"})
    assert refused.status_code == 401
    assert allowed.json() == {"said": "hello key holder"}
    spec = (await client.get("/openapi.json")).json()
    assert spec["paths"]["/v1/secret"]["get"]["tags"] == ["versioned", "guarded"]


async def test_an_explicit_absent_response_model_stays_absent(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/untyped")).json() == {"n": "not a number"}


def test_served_handlers_resolve_services_without_fastapi_dependencies() -> None:
    served = {r.path: r for r in app().routes if isinstance(r, APIRoute)}
    assert served["/greet/{name}"].dependant.dependencies == []
    assert [d.call for d in served["/v1/secret"].dependant.dependencies] == [require_key]


async def test_plain_routes_and_nested_routers_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/plain")).text == "plain"
    assert (await client.get("/nested/inner")).json() == {"said": "hello inside"}


async def test_a_keyed_service_is_injected_by_its_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/signed/ada")).json() == {"said": "ada (signed)"}
    assert (await client.get("/nested/signed")).json() == {"said": "inside (signed)"}


async def test_inject_outside_a_portside_app_names_the_problem() -> None:
    bare = FastAPI()
    bare.include_router(router)
    transport = httpx.ASGITransport(app=bare, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with pytest.raises(RuntimeError, match="no DI scope on this request"):
            await client.get("/greet/ada")


class Unregistered:
    pass


def test_a_route_that_injects_what_the_container_cannot_give_fails_the_build() -> None:
    served = APIRouter()

    @served.get("/needs")
    async def needs(thing: Inject[Unregistered]) -> None: ...

    provider = ServiceCollection().add_scoped(Counter).build()
    with pytest.raises(MissingServiceError) as failed:
        build_app([Routes(served)], provider=provider)
    assert "GET /needs injects thing: Unregistered is not registered" in str(failed.value)


def test_the_check_covers_keys_and_routes_fastapi_resolves() -> None:
    served = APIRouter()
    served.add_route("/plain", plain)  # so FastAPI resolves Inject, as a dependency

    @served.post("/signed")
    async def signed(sign: Inject[Annotated[str, Key("nope")]]) -> None: ...

    provider = ServiceCollection().add_singleton(str, instance="x", key="sign").build()
    with pytest.raises(MissingServiceError) as failed:
        build_app([Routes(served)], provider=provider)
    assert "POST /signed injects sign: str with key 'nope' is not registered" in str(failed.value)


def test_a_route_that_injects_a_context_value_no_request_carries_fails_the_build() -> None:
    served = APIRouter()

    @served.get("/tenant")
    async def tenant(tenant: Inject[Unregistered]) -> None: ...

    provider = ServiceCollection().add_context(Request).add_context(Unregistered).build()
    with pytest.raises(MissingContextError) as failed:
        build_app([Routes(served)], provider=provider)
    assert (
        "GET /tenant injects tenant: Unregistered is a context value, which its scope is not "
        "given (the context values given: Request)"
    ) in str(failed.value)
