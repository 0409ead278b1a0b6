"""The FastAPI application a service serves: its routes, the health routes, problem+json
errors and the per-request middleware."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.telemetry import TelemetryConfig
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from portside.di import ServiceProvider
from portside.errors import Invalid
from portside.host import Host, ShuttingDown
from portside.storage import StorageError

from ._inject import check_injections
from ._middleware import PortsideMiddleware
from ._openapi import install as install_openapi
from ._problems import PayloadTooLarge, handle_exception
from ._routes import Routes, add_routes
from ._settings import HttpSettings

__all__ = ["HEALTH_LIVE", "HEALTH_READY", "build_app"]

HEALTH_LIVE = "/health/live"
HEALTH_READY = "/health/ready"

#: Exceptions answered by :func:`handle_exception` inside the app; anything else reaches
#: the middleware, which answers 500 with an opaque id.
_HANDLED: tuple[type[Exception], ...] = (
    RequestValidationError,
    HTTPException,
    ValidationError,
    Invalid,
    StorageError,
    ShuttingDown,
    PayloadTooLarge,
)

#: FastAPI's telemetry configuration when ``[http] telemetry`` is off: it then checks
#: nothing per request.
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def build_app(
    routes: Iterable[Routes],
    *,
    provider: ServiceProvider,
    host: Host | None = None,
    settings: HttpSettings | None = None,
    title: str = "portside service",
    version: str = "0.1.0",
) -> FastAPI:
    """A FastAPI app serving ``routes``, each request in its own scope of ``provider``.

    With a ``host``, ``/health/live`` and ``/health/ready`` report its health model
    (ready is 503 while starting, failing a check or shutting down), and requests are
    tracked as in-flight work so shutdown drains them.
    """
    settings = settings or HttpSettings()
    app = FastAPI(
        title=title,
        version=version,
        docs_url="/docs" if settings.docs else None,
        redoc_url=None,
        # None: FastAPI's defaults, which follow the global OpenTelemetry providers.
        telemetry=None if settings.telemetry else _NO_TELEMETRY,
    )
    for exc_type in _HANDLED:
        app.add_exception_handler(exc_type, handle_exception)
    for declared in routes:
        add_routes(app, declared)
    check_injections(app.router.routes, provider)
    bypass: list[str] = []
    if host is not None:  # after the service's routes, which are matched first
        _add_health(app, host)
        bypass = [HEALTH_LIVE, HEALTH_READY]
    install_openapi(app)
    _documentation_last(app)
    app.add_middleware(
        PortsideMiddleware, provider=provider, host=host, settings=settings, bypass=bypass
    )
    return app


def _documentation_last(app: FastAPI) -> None:
    """Move FastAPI's own routes (the OpenAPI document and the docs pages, added when the
    app is made) behind the service's: routes are tried in order, so every request to the
    service would first be matched against them."""
    paths = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    routes = app.router.routes
    documentation = [r for r in routes if getattr(r, "path", None) in paths]
    routes[:] = [*(r for r in routes if r not in documentation), *documentation]


def _add_health(app: FastAPI, host: Host) -> None:
    async def live(request: Request) -> JSONResponse:
        report = host.liveness()
        return JSONResponse(report.as_dict(), status_code=200 if report.ok else 503)

    async def ready(request: Request) -> JSONResponse:
        report = await host.readiness()
        return JSONResponse(report.as_dict(), status_code=200 if report.ok else 503)

    report = {"description": "the health report", "content": {"application/json": {}}}
    for path, endpoint, summary in (
        (HEALTH_LIVE, live, "Liveness: the process is alive (never checks dependencies)"),
        (HEALTH_READY, ready, "Readiness: running, and every health check passes"),
    ):
        app.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            tags=["health"],
            summary=summary,
            responses={200: report, 503: report},
        )
