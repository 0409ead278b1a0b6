"""RabbitMQ acknowledgements are coalesced per pass of the event loop: deliveries settled
together go out as one ``basic.ack`` with ``multiple``, a slow delivery never holds back
the acks of those after it, and nothing is left unacknowledged."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiormq
import pytest

from portside.messaging import Delivery
from portside.messaging.rabbitmq import RabbitTransport

from ..conftest import require_server

URL = "amqp://guest:guest@127.0.0.1:5672/"
TOPIC, GROUP = "notes.Written", "notes"

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
async def transport() -> AsyncIterator[RabbitTransport]:
    require_server("RabbitMQ", "127.0.0.1", 5672)
    made = RabbitTransport(URL, exchange=f"t{uuid.uuid4().hex[:12]}")
    await made.start()
    yield made
    await made.delete_namespace()
    await made.close()


@pytest.fixture
def ack_frames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """``(delivery tag, multiple)`` of every ``basic.ack`` sent, in order."""
    sent: list[tuple[int, bool]] = []
    original = aiormq.Channel.basic_ack

    async def basic_ack(self: Any, delivery_tag: int, *, multiple: bool = False, **kw: Any) -> None:
        sent.append((delivery_tag, multiple))
        await original(self, delivery_tag, multiple=multiple, **kw)

    monkeypatch.setattr(aiormq.Channel, "basic_ack", basic_ack)
    return sent


async def left_in_queue(transport: RabbitTransport) -> int:
    """Messages in the group's queue: after its consumer stopped, the unacknowledged ones
    are back in it."""
    channel = await transport.connection().channel()
    try:
        queue = await channel.declare_queue(transport.queue_name(TOPIC, GROUP), passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await channel.close()


class Gate:
    """Handlers that ack once the gate opens; ``arrived`` fires when ``expect`` of them
    wait at the gate, ``all_acked`` when ``expect`` of them have acknowledged."""

    def __init__(self, expect: int) -> None:
        self.open = asyncio.Event()
        self.arrived = asyncio.Event()
        self.all_acked = asyncio.Event()
        self.waiting = 0
        self.expect = expect
        self.acked: list[str] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.waiting += 1
        if self.waiting == self.expect:
            self.arrived.set()
        await self.open.wait()
        await delivery.ack()
        self.acked.append(delivery.body)
        if len(self.acked) == self.expect:
            self.all_acked.set()


async def publish(transport: RabbitTransport, count: int) -> None:
    for n in range(count):
        await transport.publish(TOPIC, f'{{"n": {n}}}', message_id=f"m{n}")


async def test_deliveries_settled_together_are_acknowledged_with_one_frame(
    transport: RabbitTransport, ack_frames: list[tuple[int, bool]]
) -> None:
    gate = Gate(expect=20)
    subscription = await transport.subscribe(TOPIC, GROUP, gate, prefetch=20)
    await publish(transport, 20)
    async with asyncio.timeout(10):
        await gate.arrived.wait()  # all 20 are being handled, none acknowledged yet
        gate.open.set()
        await gate.all_acked.wait()
    assert ack_frames == [(max(tag for tag, _ in ack_frames), True)]
    await subscription.cancel(drain_seconds=5)
    assert await left_in_queue(transport) == 0


async def test_a_slow_delivery_does_not_hold_back_the_acks_after_it(
    transport: RabbitTransport, ack_frames: list[tuple[int, bool]]
) -> None:
    release_first = asyncio.Event()
    others_done, all_done = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def handle(delivery: Delivery) -> None:
        if delivery.body == '{"n": 0}':
            await release_first.wait()
        await delivery.ack()
        handled.append(delivery.body)
        if len(handled) == 9:
            others_done.set()
        if len(handled) == 10:
            all_done.set()

    subscription = await transport.subscribe(TOPIC, GROUP, handle, prefetch=10)
    await publish(transport, 10)
    async with asyncio.timeout(10):
        await others_done.wait()
    # Nine acks went out while the first delivery is still being handled, none of them
    # a "multiple" one (it would cover the first delivery's tag).
    assert len(ack_frames) == 9
    assert not any(multiple for _, multiple in ack_frames)
    first_tag = min(tag for tag, _ in ack_frames) - 1
    release_first.set()
    async with asyncio.timeout(10):
        await all_done.wait()
    assert ack_frames[-1][0] == first_tag
    await subscription.cancel(drain_seconds=5)
    assert await left_in_queue(transport) == 0


async def test_a_requeued_delivery_is_not_covered_by_a_multiple_ack(
    transport: RabbitTransport, ack_frames: list[tuple[int, bool]]
) -> None:
    seen: dict[str, int] = {}
    done = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        seen[delivery.body] = seen.get(delivery.body, 0) + 1
        if delivery.body == '{"n": 2}' and seen[delivery.body] == 1:
            raise RuntimeError("crash before settling: the transport requeues it")
        await delivery.ack()
        if len(seen) == 5 and seen['{"n": 2}'] == 2:
            done.set()

    subscription = await transport.subscribe(TOPIC, GROUP, handle, prefetch=5)
    await publish(transport, 5)
    async with asyncio.timeout(10):
        await done.wait()
    await subscription.cancel(drain_seconds=5)
    assert seen == {f'{{"n": {n}}}': 2 if n == 2 else 1 for n in range(5)}
    assert await left_in_queue(transport) == 0
