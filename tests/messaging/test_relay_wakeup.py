"""A commit that writes outbox entries wakes the relay: the events go out at once, not at
the relay's next poll."""

import asyncio

from portside.messaging import Bus, OutboxRelay
from portside.messaging.memory import MemoryBroker, MemoryTransport
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
