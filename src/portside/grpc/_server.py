"""A service's gRPC server, as a lifecycle component of the service.

The start hook builds one ``grpc.aio`` server for the service with every declared
:class:`GrpcService`, health and (optionally) reflection, binds its port (a taken port
fails start-up with the address in the message) and adds ``grpc://host:port`` to the
service's start-up line. Health follows the host's readiness, refreshed about once a
second, and turns NOT_SERVING as soon as the host begins shutting down: the host then
refuses new calls with UNAVAILABLE and drains the calls in flight, before the stop hook
stops the server within ``grace``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from portside.di import (
    MissingServiceError,
    ServiceProvider,
    describe_service,
    injections,
    require_injections,
)
from portside.host import Host, Lifecycle, ServiceInfo, Startup

from ._calls import ScopedCalls
from ._health import NOT_SERVING, SERVING, HealthService
from ._service import GrpcService
from ._settings import GrpcSettings

__all__ = ["GrpcServer"]

log = logging.getLogger("portside.grpc")

#: Seconds between two readiness checks feeding the health service.
HEALTH_REFRESH_SECONDS = 1.0

# Unannotated in grpcio-health-checking and grpcio-reflection; these names give them the
# types their documentation states.
_add_health: Callable[[HealthService, grpc.aio.Server], None] = (
    health_pb2_grpc.add_HealthServicer_to_server
)
_enable_reflection: Callable[[Sequence[str], grpc.aio.Server], None] = (
    reflection.enable_server_reflection
)


class _Unbound:
    """What the generated ``add_*_to_server`` function binds each RPC to. The interceptor
    replaces every behaviour with a call on a servicer resolved per call, so these are
    never called; if one is, the interceptor was bypassed, and the call fails loudly."""

    def __init__(self, servicer: type) -> None:
        self._servicer = servicer

    def __getattr__(self, rpc: str) -> Callable[..., NoReturn]:
        name = f"{self._servicer.__qualname__}.{rpc}"

        def unbound(*args: object) -> NoReturn:
            raise RuntimeError(f"{name} was called outside a portside call scope")

        return unbound


class _Registrar:
    """Stands in for the server while a generated ``add_*_to_server`` function runs, to
    learn which service names and RPCs it registers."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server
        self.methods: dict[str, set[str]] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        for handler in handlers:
            name = getattr(handler, "service_name", None)
            if callable(name):
                self.methods.setdefault(str(name()), set())
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        self.methods.setdefault(service, set()).update(handlers)
        self._server.add_registered_method_handlers(service, handlers)


def _register(declared: GrpcService, server: grpc.aio.Server) -> dict[str, set[str]]:
    """Register one declared service; its service names and their RPCs."""
    registrar = _Registrar(server)
    declared.register(_Unbound(declared.servicer), registrar)
    methods = registrar.methods
    what = f"GrpcService({getattr(declared.register, '__name__', declared.register)!r})"
    if declared.name is not None:
        if methods and declared.name not in methods:
            raise ValueError(
                f"{what} is named {declared.name!r} but registers {', '.join(sorted(methods))}"
            )
        methods.setdefault(declared.name, set())
    if not methods:
        raise ValueError(f"{what} registered no service; give its name with name=...")
    for name, rpcs in methods.items():
        missing = sorted(r for r in rpcs if not callable(getattr(declared.servicer, r, None)))
        if missing:
            raise TypeError(
                f"{declared.servicer.__qualname__} serves {name} but has no method "
                + ", ".join(missing)
            )
    return methods


def _check_wiring(provider: ServiceProvider, name: str, servicer: type, rpcs: set[str]) -> None:
    """Fail start-up, not a call, when the container cannot give ``servicer`` or a service
    one of its methods injects."""
    label = describe_service(servicer)
    if not provider.has(servicer):
        raise MissingServiceError(
            f"{label} serves {name} but is not registered; register it, e.g. "
            f"module.add_singleton({label}), or add_scoped when it takes per-call services "
            "in __init__",
            service=servicer,
        )
    for rpc in sorted(rpcs):
        where = f"{label}.{rpc}"
        require_injections(provider, where, injections(getattr(servicer, rpc), where))


def _bind(server: grpc.aio.Server, host: str, port: int) -> int:
    """Listen on ``host:port``; the bound port. ``OSError`` names the address."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        return int(server.add_insecure_port(address))
    except RuntimeError as exc:  # grpc's core says only "Failed to bind to address"
        raise OSError(
            f"cannot listen for gRPC on {address}: the address is in use or not available here"
        ) from exc


class GrpcServer(Startup):
    """Serves the service's declared gRPC services; see the module docstring.

    ``port`` is the bound port once started (useful with ``port = 0``), ``services`` the
    fully-qualified names served and ``health`` the health service.
    """

    def __init__(
        self, *, lifecycle: Lifecycle, host: Host, info: ServiceInfo, settings: GrpcSettings
    ) -> None:
        self.host, self.info, self.settings = host, info, settings
        self.port: int | None = None
        self.services: tuple[str, ...] = ()
        self.health = HealthService()
        self._server: grpc.aio.Server | None = None
        self._refresh: asyncio.Task[None] | None = None
        lifecycle.append(on_start=self.start, on_stop=self.stop, name="grpc")

    @property
    def address(self) -> str:
        """``host:port`` as a client dials it (IPv6 hosts in brackets)."""
        if self.port is None:
            raise RuntimeError("the gRPC server is not started")
        host = self.settings.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    async def start(self) -> None:
        settings = self.settings
        provider = self.host.providers[self.info.name]
        servicers: dict[str, type] = {}
        calls = ScopedCalls(
            servicers,
            provider=provider,
            host=self.host,
            service=self.info.name,
            call_timeout=settings.call_timeout,
        )
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # Two servers must never share a port without noticing (grpc allows it on Linux).
            ("grpc.so_reuseport", 0),
        ]
        server = grpc.aio.server(interceptors=[calls], options=options)
        try:
            for declared in await provider.aget_all(GrpcService):
                for name, rpcs in _register(declared, server).items():
                    if name in servicers:
                        raise ValueError(f"two GrpcService declarations serve {name}")
                    _check_wiring(provider, name, declared.servicer, rpcs)
                    servicers[name] = declared.servicer
            self.services = tuple(servicers)
            self.health = HealthService(self.services, probe=self._ready)
            _add_health(self.health, server)
            if settings.reflection:
                names = (*self.services, health.SERVICE_NAME, reflection.SERVICE_NAME)
                _enable_reflection(names, server)
            self.port = _bind(server, settings.host, settings.port)
            await server.start()
        except BaseException:
            await server.stop(None)  # releases what grpc's core allocated for it
            raise
        self._server = server
        self._refresh = asyncio.create_task(
            self._follow_readiness(), name=f"grpc health of {self.info.name}"
        )
        self.info.addresses.append(f"grpc://{self.address}")

    async def _ready(self) -> bool:
        try:
            return (await self.host.readiness()).ok
        except Exception:  # a readiness that cannot be read counts as "not ready"
            log.exception("readiness of %s could not be read", self.info.name)
            return False

    async def _follow_readiness(self) -> None:
        """Feed the host's readiness to the health service, from the moment every service
        has started until a shutdown begins."""
        await self.host.running()
        while True:
            self.health.set(SERVING if await self._ready() else NOT_SERVING)
            try:
                async with asyncio.timeout(HEALTH_REFRESH_SECONDS):
                    await self.host.shutdown_started()
            except TimeoutError:
                continue
            self.health.shut_down()
            return

    async def stop(self) -> None:
        # Also here: with no call in flight the host may run this hook before the refresh
        # task has seen the shutdown begin.
        self.health.shut_down()
        if self._refresh is not None:
            self._refresh.cancel()
            await asyncio.wait({self._refresh})
            self._refresh = None
        if self._server is not None:
            await self._server.stop(self.settings.grace)
            self._server = None
