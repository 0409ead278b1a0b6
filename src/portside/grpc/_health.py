"""The standard ``grpc.health.v1.Health`` service, fed by the host's readiness.

grpc's own asyncio servicer keeps ``Watch`` streams open for ever, so a server with a
watcher connected always waits its whole grace period on stop; this one ends them once
the final NOT_SERVING is sent. Setting a status is synchronous and wakes every watcher
through an event that is replaced on each change, so no update is missed between a
watcher reading a status and waiting for the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["NOT_SERVING", "SERVING", "HealthService"]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN

Status = health_pb2.HealthCheckResponse.ServingStatus


class HealthService(health_pb2_grpc.HealthServicer):
    """Answers ``Check`` and ``Watch`` for the server as a whole (``""``) and for each
    service it serves; every one is NOT_SERVING until the first readiness result.

    With ``probe`` (a fresh readiness answer), ``Check`` asks it on every call, so a check
    made right after start-up, or right after a dependency failed, is never stale;
    ``Watch`` follows the statuses :meth:`set` publishes.
    """

    def __init__(
        self,
        services: Iterable[str] = (),
        *,
        probe: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._status: dict[str, Status] = dict.fromkeys(("", *services), NOT_SERVING)
        self._probe = probe
        self._changed = asyncio.Event()
        self._final = False

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self._status)

    def status(self, service: str = "") -> Status:
        return self._status.get(service, _UNKNOWN)

    def set(self, status: Status) -> None:
        """Set every service's status; ignored once :meth:`shut_down` was called."""
        if self._final or all(s == status for s in self._status.values()):
            return
        self._status = dict.fromkeys(self._status, status)
        self._notify()

    def shut_down(self) -> None:
        """NOT_SERVING for good: later :meth:`set` calls are ignored, watchers are told
        and their streams end."""
        if self._final:
            return
        self._final = True
        self._status = dict.fromkeys(self._status, NOT_SERVING)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def Check(  # noqa: N802 - the generated base class names the RPCs
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthCheckResponse:
        if request.service not in self._status:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        if self._probe is not None and not self._final:
            self.set(SERVING if await self._probe() else NOT_SERVING)
        return health_pb2.HealthCheckResponse(status=self._status[request.service])

    async def Watch(  # noqa: N802 - the generated base class names the RPCs
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        last: Status | None = None
        while True:
            changed = self._changed  # taken before reading, so a change in between wakes us
            status = self.status(request.service)
            if status != last:
                await context.write(health_pb2.HealthCheckResponse(status=status))
                last = status
            if self._final:
                return
            await changed.wait()
