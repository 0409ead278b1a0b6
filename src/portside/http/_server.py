"""Serving a service's app with uvicorn, as a lifecycle component of the service.

The server binds its socket in the start hook, so a taken port fails start-up with the
address in the message; the bound address is added to the service's start-up line. The
host owns the signals (uvicorn's own handlers are not installed). On stop, uvicorn stops
accepting connections, closes idle keep-alive connections and lets responses in progress
finish within ``grace`` seconds. The host refuses new requests with 503 and turns
readiness false before this stop hook runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from portside.host import Host, Lifecycle, ServiceInfo, Startup

from ._app import build_app
from ._routes import Routes
from ._settings import HttpSettings

__all__ = ["HttpServer"]

log = logging.getLogger("portside.http")


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers (the host handles SIGTERM and SIGINT)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket; ``OSError`` names the address when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Name the protocol: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on the
    # connections of a socket whose proto is IPPROTO_TCP; with proto 0 the body uvicorn
    # writes after the headers waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno, f"cannot listen for HTTP on {host}:{port}: {exc.strerror}"
        ) from exc
    sock.setblocking(False)  # noqa: FBT003 - the standard library's signature
    return sock


class HttpServer(Startup):
    """Serves the service's :class:`Routes` on ``[http] host:port``."""

    def __init__(
        self, settings: HttpSettings, *, lifecycle: Lifecycle, host: Host, info: ServiceInfo
    ) -> None:
        self.settings, self.host, self.info = settings, host, info
        self.app: FastAPI | None = None
        self.port: int | None = None
        self._server: _Server | None = None
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None
        lifecycle.append(on_start=self.start, on_stop=self.stop, name="http")

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the HTTP server is not started")
        host = self.settings.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    async def start(self) -> None:
        provider = self.host.providers[self.info.name]
        routes = await provider.aget_all(Routes)
        self.app = build_app(
            routes, provider=provider, host=self.host, settings=self.settings, title=self.info.name
        )
        settings = self.settings
        self._socket = bind(settings.host, settings.port, settings.backlog)
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            lifespan="off",  # the host runs start and stop hooks
            log_config=None,  # portside configured logging
            access_log=settings.access_log,
            timeout_graceful_shutdown=int(max(1, round(settings.grace))),
            server_header=False,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        ready = asyncio.create_task(self._server.ready.wait())
        done, _ = await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            await self._task  # raises what start-up raised
            raise RuntimeError("the HTTP server stopped while starting")
        self.info.addresses.append(self.url)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None
