"""The in-memory broker passes the messaging conformance suite."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from portside.messaging import Bus, Delivery, Envelope
from portside.messaging._codec import current_causation
from portside.messaging.memory import MemoryBroker, MemoryTransport
from portside.observability import bind_correlation_id, get_correlation_id
from portside.storage import current_delivery
from portside.testing.messaging import WAIT, BusContract, Ping, Pong, Seen


class TestMemoryBroker(BusContract):
    @pytest.fixture
    def new_transport(self):  # type: ignore[no-untyped-def]
        broker = MemoryBroker()

        async def new() -> MemoryTransport:
            transport = MemoryTransport(broker)
            await transport.start()
            return transport

        return new


# -- the broker's queues ----------------------------------------------------------------------


async def test_a_publish_reaches_every_group_of_its_topic_and_no_other_topic() -> None:
    transport = MemoryTransport(MemoryBroker())
    seen: dict[str, list[str]] = {"t1/a": [], "t1/b": [], "t2/a": [], "t2/c": []}
    last = {name: asyncio.Event() for name in seen}

    def consumer(name: str) -> Callable[[Delivery], Awaitable[None]]:
        async def consume(delivery: Delivery) -> None:
            seen[name].append(delivery.body)
            await delivery.ack()
            if delivery.body == "end":
                last[name].set()

        return consume

    for name in seen:
        topic, group = name.split("/")
        await transport.subscribe(topic, group, consumer(name), prefetch=1)
    await transport.publish("t1", "to t1")
    await transport.publish("t3", "to nobody")
    for topic in ("t1", "t2"):
        await transport.publish(topic, "end")
    for event in last.values():
        await event.wait()
    await transport.close()
    assert seen == {
        "t1/a": ["to t1", "end"],
        "t1/b": ["to t1", "end"],
        "t2/a": ["end"],
        "t2/c": ["end"],
    }


async def test_a_ready_message_is_taken_without_waiting() -> None:
    broker = MemoryBroker()
    queue = broker.queue("t", "g")
    await MemoryTransport(broker).publish("t", "ready")
    take = queue.take()
    with pytest.raises(StopIteration) as taken:
        take.send(None)  # no suspension: it returns at once
    assert taken.value.value.body == "ready"


async def test_each_message_wakes_one_idle_worker() -> None:
    broker = MemoryBroker()
    queue, transport = broker.queue("t", "g"), MemoryTransport(broker)
    takers = [queue.take() for _ in range(3)]
    waiters = [taker.send(None) for taker in takers]  # three idle workers
    await transport.publish("t", "one")
    assert [waiter.done() for waiter in waiters] == [True, False, False]
    await transport.publish("t", "two")
    assert [waiter.done() for waiter in waiters] == [True, True, False]
    with pytest.raises(StopIteration) as first:
        takers[0].send(None)
    assert first.value.value.body == "one"
    takers[1].close()
    takers[2].close()


async def test_a_worker_woken_then_cancelled_hands_the_message_on() -> None:
    broker = MemoryBroker()
    queue, transport = broker.queue("t", "g"), MemoryTransport(broker)
    takers = [queue.take() for _ in range(3)]
    waiters = [taker.send(None) for taker in takers]
    await transport.publish("t", "one")
    with pytest.raises(asyncio.CancelledError):
        takers[0].throw(asyncio.CancelledError())
    assert [waiter.done() for waiter in waiters] == [True, True, False]
    with pytest.raises(StopIteration) as second:
        takers[1].send(None)
    assert second.value.value.body == "one"
    takers[2].close()


async def test_a_message_whose_key_is_being_handled_lets_the_next_ones_go_first() -> None:
    broker = MemoryBroker()
    queue, transport = broker.queue("t", "g"), MemoryTransport(broker)
    for body, key in [("a", "k1"), ("b", "k1"), ("c", "k2"), ("d", None)]:
        await transport.publish("t", body, key=key)
    a, c, d = queue.take_nowait(), queue.take_nowait(), queue.take_nowait()
    assert [x.body if x else None for x in (a, c, d)] == ["a", "c", "d"]
    assert queue.take_nowait() is None  # b waits for a, its key's predecessor
    assert a is not None
    await a.ack()
    b = queue.take_nowait()
    assert b is not None
    assert b.body == "b"


async def test_a_burst_of_publishes_lets_the_consumers_run_past_the_high_water_mark() -> None:
    """A loop of publishes that never waits on anything else still yields to the consumers
    once a queue holds more than ``high_water`` deliveries, so it never holds the whole
    burst at once."""
    broker = MemoryBroker(high_water=8)
    transport = MemoryTransport(broker)
    handled: list[str] = []

    async def consume(delivery: Delivery) -> None:
        handled.append(delivery.body)
        await delivery.ack()

    await transport.subscribe("t", "g", consume, prefetch=1)
    queue, deepest = broker.queue("t", "g"), 0
    for n in range(100):
        await transport.publish("t", str(n))
        deepest = max(deepest, len(queue.ready))
    assert handled  # the consumer ran while the loop was publishing
    assert deepest <= 9  # high_water + the publish that went over it
    await transport.close()


async def test_a_queue_without_consumers_does_not_hold_up_a_publisher() -> None:
    broker = MemoryBroker(high_water=8)
    queue, transport = broker.queue("t", "g"), MemoryTransport(broker)

    async def burst() -> None:
        for n in range(50):
            await transport.publish("t", str(n))

    await asyncio.wait_for(burst(), timeout=WAIT)
    assert [d.body for d in queue.ready] == [str(n) for n in range(50)]  # all kept, in order


def test_the_high_water_mark_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="high_water is at least 1, got 0"):
        MemoryBroker(high_water=0)


async def test_cancelling_puts_an_unacknowledged_delivery_back_first() -> None:
    broker = MemoryBroker()
    transport = MemoryTransport(broker)
    started = asyncio.Event()

    async def stuck(delivery: Delivery) -> None:
        started.set()
        await asyncio.Event().wait()

    subscription = await transport.subscribe("t", "g", stuck, prefetch=1)
    await transport.publish("t", "first")
    await transport.publish("t", "second")
    await started.wait()
    await subscription.cancel(drain_seconds=0)
    got: list[tuple[str, int]] = []
    both = asyncio.Event()

    async def record(delivery: Delivery) -> None:
        got.append((delivery.body, delivery.attempt))
        await delivery.ack()
        if len(got) == 2:
            both.set()

    await transport.subscribe("t", "g", record, prefetch=1)
    await both.wait()
    await transport.close()
    assert got == [("first", 2), ("second", 1)]


# -- the bus on the memory broker -------------------------------------------------------------


async def test_a_plain_function_handler_answers_a_request() -> None:
    transport = MemoryTransport(MemoryBroker())
    responder, requester = Bus(transport), Bus(transport)

    def answer(event: Ping) -> Pong:  # not async: its result is used as it is
        return Pong(event.n + 1)

    await responder.subscribe(Ping, answer, group="pingers")
    assert await requester.request(Ping(1), timeout=WAIT) == Pong(2)
    await requester.close()
    await responder.close()
    assert responder.stats["handled"] == 1


async def test_a_handler_runs_with_its_message_bound_in_the_context() -> None:
    bus = Bus(MemoryTransport(MemoryBroker()))
    seen = Seen()

    async def handle(event: Ping, envelope: Envelope) -> None:
        await seen.add(
            (envelope, get_correlation_id(), current_delivery.get(), current_causation.get())
        )

    await bus.subscribe(Ping, handle, group="g")
    with bind_correlation_id("corr-9"):
        await bus.publish(Ping(1))
    await bus.publish(Ping(2))
    (first, *_), (second, *_) = items = await seen.wait_for(2)
    await bus.close()
    assert [item[1:] for item in items] == [
        ("corr-9", ("g", first.message_id), first),
        (second.message_id, ("g", second.message_id), second),
    ]
