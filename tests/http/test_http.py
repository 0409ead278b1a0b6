"""The HTTP entry adapter, served for real by uvicorn on a free port and called with httpx."""

import asyncio
import gc
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry import trace
from pydantic import BaseModel, Field
from starlette.requests import Request

from portside.config import ConfigError, load_config
from portside.di import Module, ServiceCollection, ServiceProvider
from portside.di._provider import COMPILE_AFTER
from portside.errors import Invalid
from portside.host import Host, Service, ServiceInfo, StartError
from portside.http import PROBLEM_JSON, HttpServer, HttpSettings, Inject, Routes, build_app
from portside.observability import get_correlation_id
from portside.storage import ConcurrencyError, Conflict, NotFound, StorageUnavailable

# -- a small service ----------------------------------------------------------------------


class Closed:
    """Records the scoped resources that were cleaned up, in order."""

    def __init__(self) -> None:
        self.ids: list[int] = []


class Session:
    """A scoped resource with clean-up, made by a generator factory."""

    def __init__(self, caller: str) -> None:
        self.caller = caller


def open_session(closed: Closed, request: Request) -> Iterator[Session]:
    session = Session(request.headers.get("x-caller", "anonymous"))
    try:
        yield session
    finally:
        closed.ids.append(id(session))


class Gate:
    """A handler waits on it, so a test controls when a request finishes."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    qty: int = Field(ge=1)


class ItemOut(BaseModel):
    id: int
    name: str
    qty: int


router = APIRouter()


@router.post("/items", status_code=201)
async def create_item(item: ItemIn) -> ItemOut:
    return ItemOut(id=1, name=item.name, qty=item.qty)


@router.get("/session")
async def session_info(session: Inject[Session]) -> dict[str, object]:
    return {"session": id(session), "caller": session.caller}


@router.get("/correlation")
async def correlation() -> dict[str, object]:
    return {"correlation_id": get_correlation_id()}


@router.get("/fail/{kind}")
async def fail(kind: str, session: Inject[Session]) -> dict[str, object]:
    errors: dict[str, Exception] = {
        "not-found": NotFound("no item 7"),
        "conflict": Conflict("duplicate item for pen"),
        "concurrency": ConcurrencyError("item 7 changed"),
        "unavailable": StorageUnavailable("db down: postgresql://u:secret@db/x"),
        "invalid": Invalid.field("name", "is reserved"),
        "boom": RuntimeError("the secret detail"),
    }
    raise errors[kind]


@router.get("/wait")
async def wait(gate: Inject[Gate]) -> dict[str, object]:
    gate.entered.set()
    await gate.release.wait()
    return {"waited": True}


def items_module() -> Module:
    """What the routes inject."""
    module = Module("items")
    module.add_singleton(Closed)
    module.add_singleton(Gate)
    module.add_scoped(Session, factory=open_session)
    return module


def items_provider() -> ServiceProvider:
    """A provider for ``build_app`` called directly."""
    return ServiceCollection().add_context(Request).add_module(items_module()).build()


def service() -> Service:
    module = items_module().add_singleton(Routes, instance=Routes(router))
    return Service("items", modules=[module], requires=["http"])


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "portside.toml"
    path.write_text(f"[http]\nport = 0\n{extra}")
    return path


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    host = Host(load_config(write_config(tmp_path), environ={}), [service()])
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


@pytest.fixture
async def client(host: Host) -> AsyncIterator[httpx.AsyncClient]:
    server = await host.providers["items"].aget(HttpServer)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


def problem_of(response: httpx.Response) -> dict[str, object]:
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = response.json()
    assert body["status"] == response.status_code
    return body


# -- requests and scopes ------------------------------------------------------------------


async def test_the_bound_address_is_in_the_start_up_line(host: Host) -> None:
    server = await host.providers["items"].aget(HttpServer)
    assert server.port not in (None, 0)
    assert (await host.providers["items"].aget(ServiceInfo)).addresses == [
        f"http://127.0.0.1:{server.port}"
    ]


async def test_a_valid_body_reaches_the_handler(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "pen", "qty": 2})
    assert response.status_code == 201
    assert response.json() == {"id": 1, "name": "pen", "qty": 2}


async def test_each_request_has_its_own_scope_closed_after_the_response(
    host: Host, client: httpx.AsyncClient
) -> None:
    first = (await client.get("/session", headers={"x-caller": "ada"})).json()
    second = (await client.get("/session")).json()
    assert first["caller"] == "ada"  # the request is a context value of the scope
    assert second["caller"] == "anonymous"
    closed = await host.providers["items"].aget(Closed)
    assert closed.ids == [first["session"], second["session"]]


async def test_clean_up_runs_when_the_handler_fails(host: Host, client: httpx.AsyncClient) -> None:
    response = await client.get("/fail/not-found")
    assert response.status_code == 404
    closed = await host.providers["items"].aget(Closed)
    assert len(closed.ids) == 1


# -- correlation ids ----------------------------------------------------------------------


async def test_the_callers_correlation_id_is_used_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/correlation", headers={"X-Correlation-ID": "req-42"})
    assert response.json() == {"correlation_id": "req-42"}
    assert response.headers["x-correlation-id"] == "req-42"


async def test_the_trace_id_of_traceparent_is_the_correlation_id(
    client: httpx.AsyncClient,
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = await client.get(
        "/correlation", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    )
    assert response.json() == {"correlation_id": trace_id}
    assert response.headers["x-correlation-id"] == trace_id


async def test_a_correlation_id_is_generated_when_absent_or_unsafe(
    client: httpx.AsyncClient,
) -> None:
    plain = await client.get("/correlation")
    forged = await client.get("/correlation", headers={"X-Correlation-ID": "a b\tc"})
    for response in (plain, forged):
        generated = response.json()["correlation_id"]
        assert generated
        assert generated == response.headers["x-correlation-id"]
        assert " " not in generated
    assert plain.json() != forged.json()


# -- errors -------------------------------------------------------------------------------


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/items", content=b'{"name": "pen", ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "malformed JSON" in str(problem_of(response)["detail"])


async def test_invalid_fields_are_422_naming_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "", "qty": 0})
    assert response.status_code == 422
    body = problem_of(response)
    errors = body["errors"]
    assert isinstance(errors, list)
    assert {(e["field"], e["in"]) for e in errors} == {("name", "body"), ("qty", "body")}
    assert all(e["problem"] for e in errors)
    assert body["instance"] == "/items"


@pytest.mark.parametrize(
    ("kind", "status", "detail"),
    [
        ("not-found", 404, "no item 7"),
        ("conflict", 409, "duplicate item for pen"),
        ("concurrency", 409, "item 7 changed"),
        ("invalid", 422, "name: is reserved"),
    ],
)
async def test_portside_errors_map_to_statuses(
    client: httpx.AsyncClient, kind: str, status: int, detail: str
) -> None:
    response = await client.get(f"/fail/{kind}", headers={"X-Correlation-ID": "c-1"})
    assert response.status_code == status
    body = problem_of(response)
    assert body["detail"] == detail
    assert body["correlation_id"] == "c-1"


async def test_an_invalid_use_case_input_lists_its_fields(client: httpx.AsyncClient) -> None:
    body = problem_of(await client.get("/fail/invalid"))
    assert body["errors"] == [{"field": "name", "problem": "is reserved"}]


async def test_storage_unavailable_is_503_with_retry_after_and_no_detail(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/fail/unavailable")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert "secret" not in response.text


async def test_an_unexpected_error_is_500_with_an_id_logged_next_to_the_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="portside.errors")
    response = await client.get("/fail/boom")
    assert response.status_code == 500
    body = problem_of(response)
    error_id = body["error_id"]
    assert isinstance(error_id, str)
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    [record] = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "the secret detail"


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    problem_of(response)


# -- limits -------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "max_body_bytes = 64\n"), environ={})
    host = Host(config, [service()])
    await host.start()
    try:
        url = (await host.providers["items"].aget(HttpServer)).url
        async with httpx.AsyncClient(base_url=url) as client:
            big = {"name": "pen", "qty": 1, "pad": "x" * 100}
            declared = await client.post("/items", json=big)

            async def chunks() -> AsyncIterator[bytes]:
                yield json.dumps(big).encode()

            streamed = await client.post(
                "/items", content=chunks(), headers={"content-type": "application/json"}
            )
            small = await client.post("/items", json={"name": "pen", "qty": 1})
    finally:
        await host.stop()
    assert "content-length" not in streamed.request.headers
    for response in (declared, streamed):
        assert response.status_code == 413
        assert "64 bytes" in str(problem_of(response)["detail"])
    assert small.status_code == 201


@pytest.mark.parametrize(
    ("http_version", "length"),
    [("2", None), ("1.1", b"a lot")],
    ids=["http/2 without a length", "a length that is no number"],
)
async def test_a_body_of_undeclared_length_is_counted_as_it_arrives(
    http_version: str, length: bytes | None
) -> None:
    """HTTP/1.x brings a body only with Content-Length or Transfer-Encoding, but a server
    speaking HTTP/2 may stream one with neither, and a server may pass on a length that is
    no number: either body is counted against the limit as it arrives."""
    provider = items_provider()
    app = build_app([Routes(router)], provider=provider, settings=HttpSettings(max_body_bytes=64))
    body = json.dumps({"name": "pen", "qty": 1, "pad": "x" * 100}).encode()
    answers: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        answers.append(message)

    headers = [(b"host", b"test"), (b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", length))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": http_version,
        "method": "POST",
        "scheme": "https",
        "path": "/items",
        "raw_path": b"/items",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 443),
    }
    await app(scope, receive, send)
    assert answers[0]["status"] == 413
    assert b"64 bytes" in b"".join(m.get("body", b"") for m in answers[1:])


async def test_a_request_over_the_time_limit_is_504(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "request_timeout = 0.2\n"), environ={})
    host = Host(config, [service()])
    await host.start()
    try:
        url = (await host.providers["items"].aget(HttpServer)).url
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/wait")
        closed = await host.providers["items"].aget(Closed)
    finally:
        await host.stop()
    assert response.status_code == 504
    assert "0.2 s" in str(problem_of(response)["detail"])
    assert closed.ids == []  # /wait uses no Session; the scope closed without one


# -- health, docs, shutdown ---------------------------------------------------------------


async def test_health_routes_follow_the_host(host: Host, client: httpx.AsyncClient) -> None:
    live = await client.get("/health/live")
    ready = await client.get("/health/ready")
    assert (live.status_code, live.json()["status"]) == (200, "up")
    assert (ready.status_code, ready.json()["status"]) == (200, "up")
    host.begin_shutdown()
    ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["reason"] == "host is stopping"
    assert (await client.get("/health/live")).status_code == 200


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "items"
    assert {"/items", "/health/live", "/health/ready"} <= set(spec["paths"])
    responses = spec["paths"]["/items"]["post"]["responses"]
    assert {"201", "400", "413", "422", "500", "503", "504"} <= set(responses)
    problem = {"$ref": "#/components/schemas/Problem"}
    assert responses["422"]["content"] == {PROBLEM_JSON: {"schema": problem}}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert (await client.get("/docs")).status_code == 200


def test_the_service_routes_are_tried_before_the_documentation_routes() -> None:
    """Routes are matched in order: a request to the service does not first try the
    OpenAPI document and the docs pages, which FastAPI adds when the app is made."""
    provider = items_provider()
    app = build_app([Routes(router)], provider=provider)
    paths = [getattr(route, "path", None) for route in app.routes]
    documentation = ["/openapi.json", "/docs", "/docs/oauth2-redirect"]
    assert paths[-3:] == documentation
    assert paths.index("/items") < min(paths.index(path) for path in documentation)


class RecordingTracerProvider(trace.TracerProvider):
    """A configured global tracer provider, as an OpenTelemetry SDK would install one: it
    records the name of every span started through it."""

    def __init__(self) -> None:
        self.spans: list[str] = []

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        spans = self.spans

        class Tracer(trace.NoOpTracer):
            def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
                spans.append(name)
                return trace.INVALID_SPAN

        return Tracer()


@pytest.mark.parametrize(
    ("settings", "first_span"),
    [
        (HttpSettings(), []),
        (HttpSettings(telemetry=False), []),
        (HttpSettings(telemetry=True), ["GET"]),
    ],
)
async def test_fastapis_own_telemetry_runs_only_when_configured(
    monkeypatch: pytest.MonkeyPatch, settings: HttpSettings, first_span: list[str]
) -> None:
    """With a global tracer provider configured, FastAPI's native instrumentation would
    trace every request; portside's app leaves it off unless ``[http] telemetry`` says."""
    recording = RecordingTracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: recording)
    items = APIRouter()

    @items.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    provider = items_provider()
    app = build_app([Routes(items)], provider=provider, settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/items/7")).json() == {"id": 7}
    # On: the server span (named for the method, renamed for the route when it ends)
    # and FastAPI's spans around dependencies and serialization.
    assert recording.spans[:1] == first_span


async def test_shutdown_drains_requests_in_flight_and_refuses_new_ones(host: Host) -> None:
    url = (await host.providers["items"].aget(HttpServer)).url
    gate = await host.providers["items"].aget(Gate)
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        in_flight = asyncio.create_task(client.get("/wait"))
        await gate.entered.wait()
        stopping = asyncio.create_task(host.stop())
        await host.shutdown_started()
        refused = await client.get("/items")
        assert not in_flight.done()
        gate.release.set()
        finished = await in_flight
        assert await stopping
    assert (finished.status_code, finished.json()) == (200, {"waited": True})
    assert refused.status_code == 503
    assert refused.headers["connection"] == "close"
    assert "the host is stopping" in str(problem_of(refused)["detail"])
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as late:
            await late.get(f"{url}/health/live")


# -- start-up -----------------------------------------------------------------------------


async def test_requests_are_parsed_by_httptools(host: Host) -> None:
    """The http extra brings uvicorn's C parser; without it uvicorn would fall back to
    h11, written in Python, and spend far more of each request parsing it."""
    server = (await host.providers["items"].aget(HttpServer))._server
    assert server is not None
    assert server.config.http_protocol_class.__name__ == "HttpToolsProtocol"


async def test_a_taken_port_fails_start_up_naming_the_address(host: Host, tmp_path: Path) -> None:
    port = (await host.providers["items"].aget(HttpServer)).port
    path = tmp_path / "taken.toml"
    path.write_text(f"[http]\nport = {port}\n")
    second = Host(load_config(path, environ={}), [service()])
    with pytest.raises(StartError) as info:
        await second.start()
    cause = info.value.__cause__
    assert f"127.0.0.1:{port}" in str(cause)
    assert second.state == "failed"


def test_an_unknown_http_key_fails_at_start_up_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, "prot = 1\n"), environ={})
    assert "[http] prot = 1: unknown key" in str(info.value)
    assert "portside.toml" in str(info.value)


# -- resources ----------------------------------------------------------------------------


async def test_a_request_leaves_no_reference_cycle_behind() -> None:
    """The DI scope holds the Request, whose scope dict held the DI scope: a cycle per
    request for the garbage collector, unless the middleware breaks it. The app is called
    directly, so that no client's own garbage is counted."""
    provider = items_provider()
    app = build_app([Routes(router)], provider=provider)
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def get_session() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/session",
            "raw_path": b"/session",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"test"), (b"x-caller", b"ada")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        await app(scope, receive, send)

    async def garbage_after(requests: int) -> int:
        """Objects only the cycle collector can free, left by ``requests`` requests."""
        gc.collect()
        gc.disable()
        try:
            for _ in range(requests):
                await get_session()
            return gc.collect()
        finally:
            gc.enable()

    for _ in range(COMPILE_AFTER + 5):  # past the container's switch to compiled code
        await get_session()
    assert await garbage_after(50) == 0
    assert statuses == [200] * (COMPILE_AFTER + 55)
    assert len((await provider.aget(Closed)).ids) == COMPILE_AFTER + 55


async def test_responses_are_not_held_back_by_nagles_algorithm(host: Host) -> None:
    """uvicorn writes headers and body separately; without TCP_NODELAY on the connection
    the body would wait for the client's delayed ACK (~40 ms per response)."""
    server = await host.providers["items"].aget(HttpServer)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/correlation")
        assert response.status_code == 200
        assert server._server is not None
        connections = list(server._server.server_state.connections)
        assert connections
        for connection in connections:
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
