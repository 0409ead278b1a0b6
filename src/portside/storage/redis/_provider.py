"""The DI module of the ``redis`` provider: one client per service, a unit of work per
scope, a health check."""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from portside.di import Module
from portside.host import HealthCheck
from portside.storage._outbox import EventEncoder, Outbox
from portside.storage._uow import UnitOfWork

from . import RedisSettings
from ._uow import RedisOutbox, RedisUnitOfWork, translate

__all__ = ["RedisHealth", "client", "redis_module"]


async def client(settings: RedisSettings) -> AsyncIterator[Redis]:
    """The service's client (a connection pool); closed when the container closes."""
    made = Redis.from_url(
        settings.url,
        password=settings.password.get_secret_value() if settings.password else None,
        socket_connect_timeout=settings.connect_timeout,
        socket_timeout=settings.socket_timeout,
        decode_responses=True,
    )
    try:
        yield made
    finally:
        await made.aclose()


class RedisHealth:
    """A cheap round trip: ``PING``."""

    name = "storage.redis"

    def __init__(self, client: Redis) -> None:
        self.client = client

    async def check(self) -> None:
        try:
            await self.client.ping()
        except RedisError as exc:
            raise translate(exc) from exc


def redis_module(settings: RedisSettings) -> Module:
    def unit_of_work(
        client: Redis, settings: RedisSettings, encoder: EventEncoder | None = None
    ) -> UnitOfWork:
        return RedisUnitOfWork(client, settings.key_prefix, encoder)

    def outbox(client: Redis, settings: RedisSettings) -> Outbox:
        return RedisOutbox(client, settings.key_prefix)

    module = Module("storage.redis")
    module.add_singleton(Redis, factory=client)
    module.add_scoped(UnitOfWork, factory=unit_of_work)
    module.add_singleton(Outbox, factory=outbox)
    module.add_singleton(HealthCheck, RedisHealth)
    return module
