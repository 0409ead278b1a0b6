"""The outbox end to end on every store: 1,000 events committed while the relay is
stopped, the relay started while the broker refuses them, then all delivered once."""

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from portside.messaging import Bus, OutboxRelay, RetryPolicy
from portside.messaging.memory import MemoryBroker, MemoryTransport
from portside.storage import Outbox, UnitOfWork
from portside.storage.redis._uow import RedisOutbox, RedisUnitOfWork
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._uow import SqlOutbox, SqlUnitOfWork
from portside.testing.messaging import NoteWritten, Outage, Seen, eventually, note

from ..conftest import require_server
from ..storage.test_sql import isolated_engine, prepare

NewUow = Callable[..., UnitOfWork]


@contextlib.asynccontextmanager
async def store(kind: str, tmp_path: Path) -> AsyncIterator[tuple[NewUow, Outbox]]:
    if kind == "redis":
        require_server("Redis", "127.0.0.1", 6379)
        prefix = f"t{uuid.uuid4().hex[:12]}"
        client = Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
        try:
            yield (
                (lambda encoder=None: RedisUnitOfWork(client, prefix, encoder)),
                RedisOutbox(client, prefix),
            )
        finally:
            keys = [key async for key in client.scan_iter(f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
        return
    if kind == "sqlite":
        engine = make_engine(SqlSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"))
        await prepare(engine)
        try:
            yield (lambda encoder=None: SqlUnitOfWork(engine, encoder)), SqlOutbox(engine)
        finally:
            await engine.dispose()
        return
    async with isolated_engine(kind) as engine:
        yield (lambda encoder=None: SqlUnitOfWork(engine, encoder)), SqlOutbox(engine)


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb", "redis"])
async def test_a_thousand_outbox_events_reach_their_handler_once(kind: str, tmp_path: Path) -> None:
    broker = MemoryBroker()
    bus = Bus(MemoryTransport(broker), retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    handled = Seen()

    async def handle(event: NoteWritten) -> None:
        await handled.add(event.note_id)

    await bus.subscribe(NoteWritten, handle, group="consumers")
    encoder = bus.codec.encoder(bus.topic)
    async with store(kind, tmp_path) as (new_uow, outbox):
        uow = new_uow(encoder)
        for batch in range(100):  # 100 units of work of 10 events
            async with uow:
                for n in range(batch * 10, batch * 10 + 10):
                    await bus.publish(note(n), key=f"k{n % 7}")
                await uow.commit()
        assert (await outbox.pending())[0] == 1000
        refusing: Any = Outage(MemoryTransport(broker))
        relay = OutboxRelay(outbox, refusing, batch=200, backoff=RetryPolicy(base_delay=0.01))
        await relay.start()
        try:
            await refusing.refused.wait()
            refusing.down = False
            items = await handled.wait_for(1000, timeout=180)

            async def drained() -> bool:
                return (await outbox.pending())[0] == 0

            await eventually(drained, timeout=60)
        finally:
            await relay.stop()
            await bus.close(drain_seconds=1)
    assert sorted(items) == sorted(f"n{n}" for n in range(1000))
