"""Redis Streams pass the messaging conformance suite (each test under its own prefix), and
send acknowledgements with the reader's next read without leaving any behind."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from portside.messaging import Bus, message_name
from portside.messaging.redis import RedisTransport
from portside.testing.messaging import BusContract, NoteWritten, eventually, note

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


@pytest.fixture
async def transport() -> AsyncIterator[RedisTransport]:
    require_server("Redis", "127.0.0.1", 6379)
    made = RedisTransport(URL, namespace=f"t{uuid.uuid4().hex[:12]}")
    await made.start()
    yield made
    client = made.client
    keys = [key async for key in client.scan_iter(f"{made.namespace}:*")]
    if keys:
        await client.delete(*keys)
    await made.close()


async def pending(transport: RedisTransport, bus: Bus) -> int:
    stream = transport.topic_stream(bus.topic(message_name(NoteWritten)))
    return int((await transport.client.xpending(stream, "notes"))["pending"])


@pytest.mark.redis
async def test_an_acknowledgement_reaches_redis_with_no_further_traffic(
    transport: RedisTransport,
) -> None:
    bus = Bus(transport)
    handled = asyncio.Event()

    async def handle(event: NoteWritten) -> None:
        handled.set()

    await bus.subscribe(NoteWritten, handle, group="notes")
    await bus.publish(note(1))
    await handled.wait()

    async def acknowledged() -> bool:
        return await pending(transport, bus) == 0

    await eventually(acknowledged)  # within the reader's short block, not its idle one
    await bus.close()


@pytest.mark.redis
async def test_acknowledgements_not_yet_sent_are_sent_when_the_subscription_stops(
    transport: RedisTransport,
) -> None:
    bus = Bus(transport)
    seen: list[str] = []
    all_seen = asyncio.Event()

    async def handle(event: NoteWritten) -> None:
        seen.append(event.note_id)
        if len(seen) == 20:
            all_seen.set()

    handle_ = await bus.subscribe(NoteWritten, handle, group="notes")
    for n in range(20):
        await bus.publish(note(n))
    await all_seen.wait()
    await bus.unsubscribe(handle_)
    assert await pending(transport, bus) == 0
    assert sorted(seen) == sorted(f"n{n}" for n in range(20))
