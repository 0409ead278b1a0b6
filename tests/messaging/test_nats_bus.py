"""NATS JetStream passes the messaging conformance suite (each test in its own stream)."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from portside.messaging import Delivery
from portside.messaging.nats import NatsTransport
from portside.testing.messaging import BusContract

from ..conftest import require_server

URL = "nats://127.0.0.1:4222"


@pytest.mark.nats
class TestNats(BusContract):
    @pytest.fixture
    async def new_transport(self):  # type: ignore[no-untyped-def]
        require_server("NATS", "127.0.0.1", 4222)
        namespace = f"t{uuid.uuid4().hex[:12]}"
        made: list[NatsTransport] = []

        async def new() -> NatsTransport:
            transport = NatsTransport(URL, namespace=namespace)
            await transport.start()
            made.append(transport)
            return transport

        yield new
        for transport in made:
            await transport.close()
        cleaner = NatsTransport(URL, namespace=namespace)
        await cleaner.start()
        await cleaner.delete_namespace()
        await cleaner.close()


@pytest.fixture
async def transport() -> AsyncIterator[NatsTransport]:
    require_server("NATS", "127.0.0.1", 4222)
    made = NatsTransport(URL, namespace=f"t{uuid.uuid4().hex[:12]}")
    await made.start()
    yield made
    await made.delete_namespace()
    await made.close()


@pytest.mark.nats
@pytest.mark.parametrize(("dedupe", "copies"), [(True, 1), (False, 2)])
async def test_jetstream_drops_a_repeat_only_when_asked_to_dedupe(
    transport: NatsTransport, *, dedupe: bool, copies: int
) -> None:
    """The outbox relay publishes an entry again under the same id when it cannot tell
    whether an attempt arrived: JetStream drops the repeat. Any other publish is a new
    message, so its id is not tracked."""
    bodies: list[str] = []
    last = asyncio.Event()

    async def consume(delivery: Delivery) -> None:
        bodies.append(delivery.body)
        await delivery.ack()
        if delivery.body == "last":
            last.set()

    subscription = await transport.subscribe("notes.Written", "notes", consume, prefetch=1)
    try:
        for _ in range(2):
            await transport.publish("notes.Written", "once", message_id="m1", dedupe=dedupe)
        await transport.publish("notes.Written", "last", message_id="m2", dedupe=dedupe)
        async with asyncio.timeout(10):
            await last.wait()  # in stream order: any copy of "once" arrived before it
    finally:
        await subscription.cancel(drain_seconds=1)
    assert bodies == ["once"] * copies + ["last"]
