"""Each broker's transport comes back after the connection to the broker is cut (a broker
restart, as seen by the client), without losing or repeating acknowledged work."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from portside.messaging import BrokerUnavailable, Bus, Transport
from portside.messaging.nats import NatsTransport
from portside.messaging.rabbitmq import RabbitTransport
from portside.messaging.redis import RedisTransport
from portside.testing.messaging import NoteWritten, Seen, eventually, note

from ..conftest import require_server
from ..support.proxy import Proxy

BROKERS: dict[str, tuple[str, int, Callable[[int, str], Transport]]] = {
    "rabbitmq": (
        "RabbitMQ",
        5672,
        lambda port, ns: RabbitTransport(f"amqp://guest:guest@127.0.0.1:{port}/", exchange=ns),
    ),
    "nats": (
        "NATS",
        4222,
        lambda port, ns: NatsTransport(f"nats://127.0.0.1:{port}", namespace=ns),
    ),
    "redis": (
        "Redis",
        6379,
        lambda port, ns: RedisTransport(f"redis://127.0.0.1:{port}/0", namespace=ns),
    ),
}


@pytest.mark.parametrize("broker", list(BROKERS))
async def test_a_transport_recovers_after_its_connection_is_cut(broker: str) -> None:
    name, port, make = BROKERS[broker]
    require_server(name, "127.0.0.1", port)
    namespace = f"t{uuid.uuid4().hex[:12]}"
    proxy = await Proxy("127.0.0.1", port).start()
    transport = make(proxy.port, namespace)
    await transport.start()
    bus = Bus(transport)
    handled = Seen()

    async def handle(event: NoteWritten) -> None:
        await handled.add(event.note_id)

    try:
        await bus.subscribe(NoteWritten, handle, group="survivors")
        await bus.publish(note(1))
        assert await handled.wait_for(1) == ["n1"]

        async def acknowledged() -> bool:
            return bus.stats["handled"] == 1  # counted once the transport's ack returned

        await eventually(acknowledged)  # cut only after the ack: n1 must not come again
        await proxy.cut()
        await proxy.restore()

        async def published() -> bool:
            try:
                await bus.publish(note(2))
            except BrokerUnavailable:
                return False  # still reconnecting
            return True

        await eventually(published, timeout=60)
        assert await handled.wait_for(2, timeout=60) == ["n1", "n2"]
    finally:
        await bus.close(drain_seconds=1)
        declared = sorted(getattr(transport, "declared", ()))
        await transport.close()
        await proxy.close()
        await _clean(broker, namespace, declared)


async def _clean(broker: str, namespace: str, declared: list[str]) -> None:
    if broker == "rabbitmq":
        cleaner = RabbitTransport("amqp://guest:guest@127.0.0.1:5672/", exchange=namespace)
        await cleaner.start()
        await cleaner.delete_namespace(declared)
        await cleaner.close()
    elif broker == "nats":
        cleaner = NatsTransport("nats://127.0.0.1:4222", namespace=namespace)
        await cleaner.start()
        await cleaner.delete_namespace()
        await cleaner.close()
    elif broker == "redis":
        client: Any = Redis.from_url("redis://127.0.0.1:6379/0")
        keys = [key async for key in client.scan_iter(f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
