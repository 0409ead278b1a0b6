"""The ``http`` concern's provider, as its entry point names it. This module imports no web
framework; the module factory does, when a service requires ``http``."""

# No ``from __future__ import annotations``: the factory below is annotated with a class
# imported inside the function, and the container reads those annotations.
from portside.config import Provider
from portside.di import Module

from ._settings import HttpSettings

__all__ = ["http_module", "provider"]


def http_module(settings: HttpSettings) -> Module:
    """Serve the service's routes: the request is a context value of each request's scope."""
    from starlette.requests import Request

    from portside.host import Startup

    from ._server import HttpServer

    module = Module("http.fastapi")
    module.add_context(Request)

    def startup(server: HttpServer) -> Startup:
        return server

    module.add_singleton(HttpServer)
    module.add_singleton(Startup, factory=startup)
    return module


provider = Provider(
    "http",
    "fastapi",
    http_module,
    HttpSettings,
    extra="http",
    requires=("fastapi", "uvicorn"),
    default=True,
    description="FastAPI served by uvicorn",
)
