"""The outbox relay: a commit that writes outbox entries wakes it, so the events go out at
once rather than at its next poll; after a batch that was not full it waits without
claiming again, and starts its next pass no sooner than ``min_interval`` after the last
began (a backlog of full batches is not held back); it publishes a claimed batch
concurrently, each key's entries in order, and leaves a failing key's entries for a later
attempt."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest

from portside.messaging import BrokerUnavailable, Bus, OutboxRelay
from portside.messaging.memory import MemoryBroker, MemoryTransport
from portside.storage import Claimed
from portside.storage.memory import MemoryOutbox, MemoryStore, MemoryUnitOfWork
from portside.testing.messaging import NoteWritten, note

NEVER = 3600.0  # the relay's poll interval: without a wake-up nothing would go out


async def test_a_commit_with_outbox_entries_wakes_the_relay() -> None:
    store = MemoryStore()
    bus = Bus(MemoryTransport(MemoryBroker()))
    encoder = bus.codec.encoder(bus.topic)
    relay = OutboxRelay(MemoryOutbox(store), bus.transport, idle_seconds=NEVER)
    encoder.listeners.append(relay.kick)
    got: asyncio.Queue[str] = asyncio.Queue()

    async def handle(event: NoteWritten) -> None:
        await got.put(event.note_id)

    await bus.subscribe(NoteWritten, handle, group="notes")
    await relay.start()
    try:
        for n in (1, 2):
            await relay.until_idle()  # it looked, found nothing, and waits an hour
            async with MemoryUnitOfWork(store, encoder) as uow:
                await bus.publish(note(n))
                await uow.commit()
            async with asyncio.timeout(5):
                assert await got.get() == f"n{n}"
    finally:
        await relay.stop()
        await bus.close()


async def test_a_commit_without_outbox_entries_does_not_wake_the_relay() -> None:
    bus = Bus(MemoryTransport(MemoryBroker()))
    encoder = bus.codec.encoder(bus.topic)
    woken: list[str] = []
    encoder.listeners.append(lambda: woken.append("relay"))
    async with MemoryUnitOfWork(MemoryStore(), encoder) as uow:
        await uow.commit()
    async with MemoryUnitOfWork(MemoryStore(), encoder) as uow:
        await bus.publish(note(1))
        await uow.rollback()
    assert woken == []
    async with MemoryUnitOfWork(MemoryStore(), encoder) as uow:
        await bus.publish(note(2))
        await uow.commit()
    assert woken == ["relay"]


class _Recording:
    """A transport that records what it is asked to publish; ``failing`` keys raise."""

    def __init__(self, failing: str | None = None, expect: int = 0) -> None:
        self.published: list[tuple[str | None, str]] = []
        self.failing = failing
        self.gate = asyncio.Event()
        self.in_flight = 0
        self.most_in_flight = 0
        self.expect, self.all_waiting = expect, asyncio.Event()

    async def publish(
        self,
        topic: str,
        body: str,
        *,
        key: str | None = None,
        message_id: str | None = None,
        dedupe: bool = False,
    ) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.in_flight == self.expect:
            self.all_waiting.set()
        try:
            await self.gate.wait()
            if key is not None and key == self.failing:
                raise BrokerUnavailable(f"refused {key}")
            self.published.append((key, str(message_id)))
        finally:
            self.in_flight -= 1


async def commit_notes(store: MemoryStore, bus: Bus, keys: list[str | None]) -> list[str]:
    """Commit one note per key; return their message ids in commit order."""
    encoder = bus.codec.encoder(bus.topic)
    async with MemoryUnitOfWork(store, encoder) as uow:
        for n, key in enumerate(keys):
            await bus.publish(note(n), key=key)
        await uow.commit()
    return [
        record.message_id
        for record in await MemoryOutbox(store).claim(owner="peek", limit=1000, lease_seconds=0)
    ]


async def test_a_batch_is_published_concurrently_with_each_key_in_order() -> None:
    store, bus = MemoryStore(), Bus(MemoryTransport(MemoryBroker()))
    keys: list[str | None] = ["a", "b", None, "a", None, "b", "a"]
    ids = await commit_notes(store, bus, keys)
    transport = _Recording(expect=4)  # one publish per key at a time, each keyless at once
    relay = OutboxRelay(MemoryOutbox(store), transport)  # type: ignore[arg-type]
    publishing = asyncio.create_task(relay.run_once())
    await transport.all_waiting.wait()
    transport.gate.set()
    assert await publishing == 7
    assert transport.most_in_flight == 4
    for key in ("a", "b"):
        expected = [i for i, k in zip(ids, keys, strict=True) if k == key]
        assert [i for k, i in transport.published if k == key] == expected
    assert (await MemoryOutbox(store).pending())[0] == 0


async def test_a_failing_key_leaves_its_entries_for_later_and_the_rest_are_sent() -> None:
    store, bus = MemoryStore(), Bus(MemoryTransport(MemoryBroker()))
    ids = await commit_notes(store, bus, ["a", "bad", "a", "bad", None])
    transport = _Recording(failing="bad")
    transport.gate.set()
    relay = OutboxRelay(MemoryOutbox(store), transport)  # type: ignore[arg-type]
    with pytest.raises(BrokerUnavailable, match="refused bad"):
        await relay.run_once()
    assert sorted(i for _, i in transport.published) == sorted([ids[0], ids[2], ids[4]])
    assert (await MemoryOutbox(store).pending())[0] == 2  # both "bad" entries, unsent


class _CountedClaims:
    """A memory outbox that records how many entries each claim returned, and when (the
    event loop's clock) each claim was asked for."""

    def __init__(self, store: MemoryStore) -> None:
        self.outbox = MemoryOutbox(store)
        self.claims: list[int] = []
        self.times: list[float] = []
        self.claimed: asyncio.Queue[int] = asyncio.Queue()

    async def claim(self, *, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        self.times.append(asyncio.get_running_loop().time())
        entries = await self.outbox.claim(owner=owner, limit=limit, lease_seconds=lease_seconds)
        self.claims.append(len(entries))
        self.claimed.put_nowait(len(entries))
        return entries

    async def mark_sent(self, entries: Sequence[Claimed]) -> None:
        await self.outbox.mark_sent(entries)

    async def release(self, entries: Sequence[Claimed], *, error: str) -> None:
        await self.outbox.release(entries, error=error)

    async def pending(self) -> tuple[int, float | None]:
        return await self.outbox.pending()


async def test_after_a_batch_that_was_not_full_the_relay_waits_without_claiming_again() -> None:
    store, bus = MemoryStore(), Bus(MemoryTransport(MemoryBroker()))
    await commit_notes(store, bus, ["a", "b", "c", "d", "e"])
    outbox, transport = _CountedClaims(store), _Recording()
    transport.gate.set()
    relay = OutboxRelay(outbox, transport, batch=3, idle_seconds=NEVER)  # type: ignore[arg-type]
    encoder = bus.codec.encoder(bus.topic)
    encoder.listeners.append(relay.kick)
    await relay.start()
    try:
        async with asyncio.timeout(5):
            await relay.until_idle()
            assert outbox.claims == [3, 2]  # the full batch, then the rest: no empty look
            async with MemoryUnitOfWork(store, encoder) as uow:
                await bus.publish(note(5))
                await bus.publish(note(6))
                await uow.commit()  # wakes the relay
            assert [await outbox.claimed.get() for _ in range(3)] == [3, 2, 2]
            await relay.until_idle()
        assert outbox.claims == [3, 2, 2]
        assert len(transport.published) == relay.published == 7
        assert (await outbox.pending())[0] == 0
    finally:
        await relay.stop()
        await bus.close()


async def test_after_a_full_batch_the_relay_claims_again_at_once() -> None:
    store, bus = MemoryStore(), Bus(MemoryTransport(MemoryBroker()))
    await commit_notes(store, bus, ["a", "b", "c", "d", "e", "f"])
    outbox, transport = _CountedClaims(store), _Recording()
    transport.gate.set()
    relay = OutboxRelay(  # a backlog is not held back by the least interval between passes
        outbox,  # type: ignore[arg-type]
        transport,  # type: ignore[arg-type]
        batch=3,
        idle_seconds=NEVER,
        min_interval=NEVER,
    )
    await relay.start()
    try:
        async with asyncio.timeout(5):  # a relay that waited after a full batch would hang
            await relay.until_idle()
        assert outbox.claims == [3, 3, 0]  # only an empty claim shows that nothing is left
        assert len(transport.published) == 6
    finally:
        await relay.stop()
        await bus.close()


def woken_by_commits(bus: Bus, relay: OutboxRelay) -> Callable[[MemoryStore, int], Awaitable[None]]:
    """``commit(store, n)``: a unit of work that publishes ``note(n)`` and commits, which
    wakes ``relay``."""
    encoder = bus.codec.encoder(bus.topic)
    encoder.listeners.append(relay.kick)

    async def commit(store: MemoryStore, n: int) -> None:
        async with MemoryUnitOfWork(store, encoder) as uow:
            await bus.publish(note(n))
            await uow.commit()

    return commit


async def test_passes_that_find_less_than_a_batch_start_at_least_min_interval_apart() -> None:
    store, bus = MemoryStore(), Bus(MemoryTransport(MemoryBroker()))
    outbox, transport = _CountedClaims(store), _Recording()
    transport.gate.set()
    relay = OutboxRelay(outbox, transport, idle_seconds=NEVER, min_interval=0.1)  # type: ignore[arg-type]
    commit_note = woken_by_commits(bus, relay)
    await relay.start()
    try:
        async with asyncio.timeout(5):
            for n in range(3):  # one commit at a time, each once the last was relayed
                await relay.until_idle()
                await commit_note(store, n)  # wakes the relay
                while await outbox.claimed.get() == 0:
                    pass
            await relay.until_idle()
    finally:
        await relay.stop()
        await bus.close()
    assert outbox.claims == [0, 1, 1, 1]  # the first look, at start, found nothing
    gaps = [later - earlier for earlier, later in zip(outbox.times, outbox.times[1:])]
    assert min(gaps) >= 0.099, gaps  # the clock reading of a pass's start comes first
    assert len(transport.published) == 3


async def test_commits_within_the_interval_go_out_in_one_pass() -> None:
    store, bus = MemoryStore(), Bus(MemoryTransport(MemoryBroker()))
    outbox, transport = _CountedClaims(store), _Recording()
    transport.gate.set()
    relay = OutboxRelay(outbox, transport, idle_seconds=NEVER, min_interval=NEVER)  # type: ignore[arg-type]
    commit_note = woken_by_commits(bus, relay)
    await relay.start()
    try:
        await relay.until_idle()  # its first pass began: the next waits an hour
        for n in range(5):
            await commit_note(store, n)  # each wakes the relay, which waits its turn
        assert outbox.claims == [0]
        assert (await outbox.pending())[0] == 5
    finally:
        await relay.stop()
        await bus.close()


async def test_a_commit_after_a_quiet_spell_goes_out_without_waiting() -> None:
    store, bus = MemoryStore(), Bus(MemoryTransport(MemoryBroker()))
    outbox, transport = _CountedClaims(store), _Recording()
    transport.gate.set()
    relay = OutboxRelay(outbox, transport, idle_seconds=NEVER, min_interval=0.3)  # type: ignore[arg-type]
    commit_note = woken_by_commits(bus, relay)
    await relay.start()
    try:
        async with asyncio.timeout(5):
            await relay.until_idle()
            await asyncio.sleep(0.3)  # the quiet spell: longer than the interval
            committed = asyncio.get_running_loop().time()
            await commit_note(store, 1)
            while await outbox.claimed.get() == 0:
                pass
    finally:
        await relay.stop()
        await bus.close()
    assert outbox.times[-1] - committed < 0.3  # not held back for another interval
    assert outbox.claims == [0, 1]


def test_a_negative_min_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="min_interval is at least 0, got -1"):
        OutboxRelay(MemoryOutbox(MemoryStore()), MemoryTransport(MemoryBroker()), min_interval=-1)
