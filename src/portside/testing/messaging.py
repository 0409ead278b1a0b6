"""The messaging conformance suite: one test suite, run against every broker.

Subclass :class:`BusContract` and provide ``new_transport``: a callable returning a new,
started transport connected to the broker (each call a new connection, as a second
process would have). Every test uses its own topic prefix, so runs never collide.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import pytest

from portside.di import ServiceCollection
from portside.messaging import (
    BrokerUnavailable,
    Bus,
    Envelope,
    OutboxRelay,
    RequestTimeout,
    RetryPolicy,
    Transport,
    message,
)
from portside.observability import bind_correlation_id
from portside.storage import UnitOfWork
from portside.storage.memory import MemoryOutbox, MemoryStore, MemoryUnitOfWork

__all__ = [
    "BasketFilled",
    "BusContract",
    "NoteWritten",
    "Outage",
    "Ping",
    "Pong",
    "Seen",
    "eventually",
    "note",
]

NewTransport = Callable[[], Awaitable[Transport]]
WAIT = 20.0  # seconds any expected delivery may take on a slow machine


@message("contract.NoteWritten", version=2)
@dataclass(frozen=True)
class NoteWritten:
    note_id: str
    text: str
    author: str


@message("contract.Ping")
@dataclass(frozen=True)
class Ping:
    n: int


@message("contract.Pong")
@dataclass(frozen=True)
class Pong:
    n: int


@message("contract.BasketFilled")
@dataclass
class BasketFilled:
    items: list[str]
    labels: dict[str, str]


class Seen:
    """What handlers saw, with a way to wait until enough arrived (no sleeping)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Condition()

    async def add(self, item: Any) -> None:
        async with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[Any]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.items) >= count)
        return list(self.items)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = WAIT) -> None:  # noqa: ASYNC109
    """Wait until ``check`` holds: for state only the broker holds (dead letters)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


def note(n: int, author: str = "ada") -> NoteWritten:
    return NoteWritten(f"n{n}", f"text {n}", author)


class BusContract:
    """The conformance suite (see the module docstring)."""

    @pytest.fixture
    def new_transport(self) -> NewTransport:
        raise NotImplementedError("provide a new_transport fixture")

    @pytest.fixture
    async def make_bus(
        self, new_transport: NewTransport
    ) -> AsyncIterator[Callable[..., Awaitable[Bus]]]:
        prefix = f"t{uuid.uuid4().hex[:10]}."
        made: list[tuple[Bus, Transport]] = []

        async def make(**options: Any) -> Bus:
            transport = await new_transport()
            options.setdefault("retry", RetryPolicy(max_attempts=3, base_delay=0.05, jitter=0))
            bus = Bus(transport, topic_prefix=prefix, **options)
            made.append((bus, transport))
            return bus

        yield make
        for bus, transport in made:
            await bus.close(drain_seconds=1)
            await transport.close()

    # -- round trip -------------------------------------------------------------------------
    async def test_a_published_event_arrives_with_its_envelope_intact(self, make_bus: Any) -> None:
        bus = await make_bus()
        seen = Seen()

        async def handle(event: NoteWritten, envelope: Envelope) -> None:
            await seen.add((event, envelope))

        await bus.subscribe(NoteWritten, handle, group="readers")
        with bind_correlation_id("corr-1"):
            await bus.publish(note(1), key="n1", headers={"tenant": "acme"})
        ((event, envelope),) = await seen.wait_for(1)
        assert event == note(1)
        assert (envelope.type, envelope.version) == ("contract.NoteWritten", 2)
        assert (envelope.key, dict(envelope.headers)) == ("n1", {"tenant": "acme"})
        assert envelope.correlation_id == "corr-1"
        assert envelope.causation_id is None
        assert envelope.message_id
        assert envelope.occurred_at.tzinfo is not None
        assert envelope.occurred_at.utcoffset() == UTC.utcoffset(None)

    async def test_what_a_handler_publishes_carries_causation_and_correlation(
        self, make_bus: Any
    ) -> None:
        bus = await make_bus()
        seen = Seen()

        async def on_ping(event: Ping, envelope: Envelope) -> None:
            await seen.add(envelope)
            await bus.publish(Pong(event.n))

        async def on_pong(event: Pong, envelope: Envelope) -> None:
            await seen.add(envelope)

        await bus.subscribe(Ping, on_ping, group="a")
        await bus.subscribe(Pong, on_pong, group="b")
        with bind_correlation_id("corr-2"):
            await bus.publish(Ping(1))
        ping, pong = await seen.wait_for(2)
        assert pong.causation_id == ping.message_id
        assert pong.correlation_id == ping.correlation_id == "corr-2"

    # -- groups and ordering ----------------------------------------------------------------
    async def test_subscribers_in_one_group_share_the_work(self, make_bus: Any) -> None:
        first, second = await make_bus(), await make_bus()
        seen = Seen()

        async def one(event: NoteWritten) -> None:
            await seen.add(("one", event.note_id))

        async def two(event: NoteWritten) -> None:
            await seen.add(("two", event.note_id))

        await first.subscribe(NoteWritten, one, group="workers")
        await second.subscribe(NoteWritten, two, group="workers")
        for n in range(20):
            await first.publish(note(n))
        items = await seen.wait_for(20)
        assert sorted(note_id for _, note_id in items) == sorted(f"n{n}" for n in range(20))

    async def test_each_group_gets_every_event(self, make_bus: Any) -> None:
        bus = await make_bus()
        shipping, billing = Seen(), Seen()

        async def ship(event: NoteWritten) -> None:
            await shipping.add(event.note_id)

        async def bill(event: NoteWritten) -> None:
            await billing.add(event.note_id)

        await bus.subscribe(NoteWritten, ship, group="shipping")
        await bus.subscribe(NoteWritten, bill, group="billing")
        for n in range(10):
            await bus.publish(note(n))
        assert sorted(await shipping.wait_for(10)) == sorted(await billing.wait_for(10))

    async def test_every_handler_gets_its_own_message_object(self, make_bus: Any) -> None:
        """As from a broker: what one group's handler does to its message, no other
        handler and not the publisher sees."""
        bus = await make_bus()
        published = BasketFilled(["apple"], {"size": "s"})
        changed, untouched = Seen(), Seen()

        async def change(event: BasketFilled) -> None:
            event.items.append("pear")
            event.labels["size"] = "xl"
            await changed.add(event)

        async def look(event: BasketFilled) -> None:
            await changed.wait_for(1)
            await untouched.add(event)

        await bus.subscribe(BasketFilled, change, group="changers")
        await bus.subscribe(BasketFilled, look, group="lookers")
        await bus.publish(published)
        (seen,) = await untouched.wait_for(1)
        (mine,) = await changed.wait_for(1)
        assert mine.items == ["apple", "pear"]
        assert seen == BasketFilled(["apple"], {"size": "s"}) == published
        assert seen is not published

    async def test_events_with_one_key_are_handled_in_order(self, make_bus: Any) -> None:
        bus = await make_bus(prefetch=8)
        seen = Seen()

        async def handle(event: NoteWritten, envelope: Envelope) -> None:
            for _ in range(int(event.note_id[1:]) % 3):
                await asyncio.sleep(0)  # let other deliveries interleave
            await seen.add((envelope.key, int(event.note_id[1:])))

        await bus.subscribe(NoteWritten, handle, group="ordered")
        for n in range(30):
            await bus.publish(note(n), key=f"k{n % 3}")
        items = await seen.wait_for(30)
        for key in ("k0", "k1", "k2"):
            numbers = [n for k, n in items if k == key]
            assert numbers == sorted(numbers), f"{key} out of order: {numbers}"

    # -- failures ---------------------------------------------------------------------------
    async def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(
        self, make_bus: Any
    ) -> None:
        bus = await make_bus(retry=RetryPolicy(max_attempts=3, base_delay=0.1, jitter=0))
        calls: list[float] = []

        async def broken(event: NoteWritten) -> None:
            calls.append(time.monotonic())
            raise RuntimeError("disk full")

        await bus.subscribe(NoteWritten, broken, group="broken")
        await bus.publish(note(1), headers={"tenant": "acme"})

        async def dead() -> bool:
            return bool(await bus.transport.dead_letters("broken"))

        await eventually(dead)
        (letter,) = await bus.transport.dead_letters("broken")
        assert letter.attempts == 3
        assert "handler failed 3 time(s): RuntimeError: disk full" in letter.reason
        assert letter.headers == {"tenant": "acme"}
        assert Envelope.from_json(letter.body).payload["note_id"] == "n1"
        assert len(calls) == 3
        gaps = [b - a for a, b in itertools.pairwise(calls)]
        assert gaps[0] >= 0.09  # redelivered after the backoff, not in a hot loop
        assert gaps[1] >= 0.19

    async def test_a_dead_letter_can_be_redriven(self, make_bus: Any) -> None:
        bus = await make_bus(retry=RetryPolicy(max_attempts=1, base_delay=0.01))
        healthy = False
        seen = Seen()

        async def flaky(event: NoteWritten) -> None:
            if not healthy:
                raise RuntimeError("not yet")
            await seen.add(event.note_id)

        await bus.subscribe(NoteWritten, flaky, group="flaky")
        await bus.publish(note(7))

        async def dead() -> bool:
            return bool(await bus.transport.dead_letters("flaky"))

        await eventually(dead)
        healthy = True
        letters = await bus.transport.dead_letters("flaky")
        assert await bus.transport.redrive([d.id for d in letters]) == 1
        assert await seen.wait_for(1) == ["n7"]
        assert await bus.transport.dead_letters("flaky") == []

    async def test_unknown_versions_and_invalid_payloads_go_straight_to_dead_letters(
        self, make_bus: Any
    ) -> None:
        bus = await make_bus()
        called = Seen()

        async def handle(event: NoteWritten) -> None:
            await called.add(event)

        handle_ = await bus.subscribe(NoteWritten, handle, group="strict")
        newer = Envelope("contract.NoteWritten", 9, {"note_id": "x"})
        invalid = Envelope("contract.NoteWritten", 2, {"note_id": "x", "text": 5})
        garbage = "{not json"
        bad_headers = json.loads(Envelope("contract.NoteWritten", 2, {}).to_json())
        bad_headers["headers"] = ["not", "a", "mapping"]
        for body in (newer.to_json(), invalid.to_json(), garbage, json.dumps(bad_headers)):
            await bus.transport.publish(handle_.topic, body)

        async def four() -> bool:
            return len(await bus.transport.dead_letters("strict")) == 4

        await eventually(four)
        reasons = sorted(d.reason for d in await bus.transport.dead_letters("strict"))
        assert all(d.attempts == 1 for d in await bus.transport.dead_letters("strict"))
        assert any("version 9 is newer" in r for r in reasons)
        assert any("invalid contract.NoteWritten payload: text" in r for r in reasons)
        assert any("not JSON" in r for r in reasons)
        assert any("headers is not a JSON object" in r for r in reasons)
        assert called.items == []

    async def test_an_upcaster_turns_old_payloads_into_the_current_version(
        self, make_bus: Any
    ) -> None:
        bus = await make_bus()
        bus.codec.upcaster("contract.NoteWritten", 1, lambda p: {**p, "author": "legacy"})
        seen = Seen()

        async def handle(event: NoteWritten) -> None:
            await seen.add(event)

        handle_ = await bus.subscribe(NoteWritten, handle, group="upcast")
        old = Envelope("contract.NoteWritten", 1, {"note_id": "n1", "text": "old"})
        await bus.transport.publish(handle_.topic, old.to_json())
        assert await seen.wait_for(1) == [NoteWritten("n1", "old", "legacy")]

    # -- request / reply --------------------------------------------------------------------
    async def test_request_reply(self, make_bus: Any) -> None:
        responder, requester = await make_bus(), await make_bus()

        async def answer(event: Ping) -> Pong:
            return Pong(event.n + 1)

        await responder.subscribe(Ping, answer, group="pingers")
        assert await requester.request(Ping(41), timeout=WAIT) == Pong(42)

    async def test_a_request_without_a_reply_times_out(self, make_bus: Any) -> None:
        bus = await make_bus()
        with pytest.raises(RequestTimeout, match=r"no reply to contract\.Ping"):
            await bus.request(Ping(1), timeout=0.3)

    async def test_the_responder_may_come_online_after_the_request(self, make_bus: Any) -> None:
        responder, requester = await make_bus(), await make_bus()

        async def answer(event: Ping) -> Pong:
            return Pong(event.n * 2)

        witness = Seen()

        async def watch(event: Ping) -> None:
            await witness.add(event)

        handle = await responder.subscribe(Ping, answer, group="late")
        await responder.unsubscribe(handle)  # the group's queue exists; nobody consumes
        await requester.subscribe(Ping, watch, group="witness")
        pending = asyncio.create_task(requester.request(Ping(21), timeout=WAIT))
        await witness.wait_for(1)  # the request is on the broker, waiting for "late"
        await responder.subscribe(Ping, answer, group="late")
        assert await pending == Pong(42)

    # -- subscriptions ----------------------------------------------------------------------
    async def test_an_unsubscribed_handler_receives_nothing_more(self, make_bus: Any) -> None:
        bus = await make_bus()
        gone, witness = Seen(), Seen()

        async def leaving(event: NoteWritten) -> None:
            await gone.add(event.note_id)

        async def staying(event: NoteWritten) -> None:
            await witness.add(event.note_id)

        handle = await bus.subscribe(NoteWritten, leaving, group="leaving")
        await bus.subscribe(NoteWritten, staying, group="witness")
        await bus.publish(note(1))
        await gone.wait_for(1)
        await witness.wait_for(1)
        await bus.unsubscribe(handle)
        await bus.publish(note(2))
        await witness.wait_for(2)
        assert gone.items == ["n1"]

    async def test_unsubscribing_drains_in_flight_work_and_leaves_the_rest_queued(
        self, make_bus: Any
    ) -> None:
        bus = await make_bus(prefetch=1)
        started, release = asyncio.Event(), asyncio.Event()
        first_run: list[str] = []

        async def slow(event: NoteWritten) -> None:
            first_run.append(event.note_id)
            started.set()
            await release.wait()

        handle = await bus.subscribe(NoteWritten, slow, group="drain")
        await bus.publish(note(1))
        await started.wait()
        await bus.publish(note(2))
        stopping = asyncio.create_task(bus.unsubscribe(handle, drain_seconds=WAIT))
        release.set()  # the in-flight delivery finishes and is acknowledged
        await stopping
        assert first_run == ["n1"]
        later = Seen()

        async def resume(event: NoteWritten) -> None:
            await later.add(event.note_id)

        await bus.subscribe(NoteWritten, resume, group="drain")
        assert await later.wait_for(1) == ["n2"]  # n1 was acknowledged: not redelivered
        assert later.items == ["n2"]

    # -- idempotent handling ----------------------------------------------------------------
    async def test_a_redelivered_message_is_acknowledged_without_running_again(
        self, make_bus: Any
    ) -> None:
        store = MemoryStore()
        services = ServiceCollection()
        services.add_singleton(MemoryStore, instance=store)
        services.add_scoped(UnitOfWork, MemoryUnitOfWork)
        services.add_context(Envelope)
        runs: list[str] = []

        class CommitThenLoseTheAck:
            """Its effect commits, then the acknowledgement is lost: the broker redelivers."""

            def __init__(self, uow: UnitOfWork) -> None:
                self.uow = uow

            async def __call__(self, event: NoteWritten) -> None:
                runs.append(event.note_id)
                async with self.uow:
                    await self.uow.commit()  # the effect, with the inbox record
                raise ConnectionError("the connection dropped before the ack")

        services.add_scoped(CommitThenLoseTheAck)
        bus = await make_bus(provider=services.build())
        handle = await bus.subscribe(NoteWritten, CommitThenLoseTheAck, group="counter")
        await bus.publish(note(1))

        async def skipped() -> bool:
            return bool(bus.stats["duplicate"] >= 1)

        await eventually(skipped)
        assert runs == ["n1"]
        assert bus.stats["retried"] == 1
        assert len([k for k in store.inbox if k[0] == "counter"]) == 1
        assert await bus.transport.dead_letters(handle.group) == []

    # -- the outbox, end to end -------------------------------------------------------------
    async def test_outbox_events_survive_a_broker_outage_and_are_handled_once(
        self, make_bus: Any, new_transport: NewTransport
    ) -> None:
        store = MemoryStore()
        bus = await make_bus()
        handled = Seen()

        async def handle(event: NoteWritten) -> None:
            await handled.add(event.note_id)

        await bus.subscribe(NoteWritten, handle, group="consumers")
        encoder = bus.codec.encoder(bus.topic)
        for n in range(1000):  # committed while no relay runs
            uow = MemoryUnitOfWork(store, encoder)
            async with uow:
                await bus.publish(note(n), key=f"k{n % 7}")
                await uow.commit()
        outbox = MemoryOutbox(store)
        assert (await outbox.pending())[0] == 1000
        broker = Outage(await new_transport())
        relay = OutboxRelay(outbox, broker, batch=100, backoff=RetryPolicy(base_delay=0.01))
        await relay.start()  # the broker is unreachable: the relay backs off and retries
        try:
            await broker.refused.wait()
            broker.down = False
            items = await handled.wait_for(1000, timeout=120)

            async def drained() -> bool:
                return (await outbox.pending())[0] == 0

            await eventually(drained)
        finally:
            await relay.stop()
            await broker.transport.close()
        assert sorted(items) == sorted(f"n{n}" for n in range(1000))


class Outage:
    """A transport that refuses to publish while ``down``."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.down = True
        self.refused = asyncio.Event()

    async def publish(
        self,
        topic: str,
        body: str,
        *,
        key: str | None = None,
        message_id: str | None = None,
        dedupe: bool = False,
    ) -> None:
        if self.down:
            self.refused.set()
            raise BrokerUnavailable("the broker is down (simulated outage)")
        await self.transport.publish(topic, body, key=key, message_id=message_id, dedupe=dedupe)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)
