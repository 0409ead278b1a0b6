"""Redis Streams pass the messaging conformance suite (each test under its own prefix)."""

import uuid

import pytest
from redis.asyncio import Redis

from portside.messaging.redis import RedisTransport
from portside.testing.messaging import BusContract

from ..conftest import require_server

URL = "redis://127.0.0.1:6379/0"


@pytest.mark.redis
class TestRedisStreams(BusContract):
    @pytest.fixture
    async def new_transport(self):  # type: ignore[no-untyped-def]
        require_server("Redis", "127.0.0.1", 6379)
        namespace = f"t{uuid.uuid4().hex[:12]}"
        made: list[RedisTransport] = []

        async def new() -> RedisTransport:
            transport = RedisTransport(URL, namespace=namespace, claim_idle=5)
            await transport.start()
            made.append(transport)
            return transport

        yield new
        for transport in made:
            await transport.close()
        client = Redis.from_url(URL)
        keys = [key async for key in client.scan_iter(f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
