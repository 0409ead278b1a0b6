"""A consumer process for the crash test: it records each event's effect in SQLite, in
the same unit of work as the inbox record, and runs until it is killed."""

import asyncio
import os
import sys

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from portside.di import ServiceCollection
from portside.messaging import Bus, Envelope, RetryPolicy
from portside.messaging.rabbitmq import RabbitTransport
from portside.storage import UnitOfWork
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._provider import create_tables
from portside.storage.sql._uow import SqlUnitOfWork
from portside.testing.messaging import NoteWritten

tables = MetaData()
effects = Table(
    "effects",
    tables,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("note_id", String(64), nullable=False),  # no unique key: a duplicate would show
)


class Record:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def __call__(self, event: NoteWritten) -> None:
        assert isinstance(self.uow, SqlUnitOfWork)
        async with self.uow:
            await self.uow.execute(insert(effects).values(note_id=event.note_id))
            await self.uow.commit()


async def main() -> None:
    engine = make_engine(SqlSettings(url=f"sqlite+aiosqlite:///{os.environ['CRASH_DB']}"))
    await create_tables(engine)
    async with engine.begin() as connection:
        await connection.run_sync(tables.create_all)
    services = ServiceCollection()
    services.add_scoped(UnitOfWork, factory=lambda: SqlUnitOfWork(engine))
    services.add_context(Envelope)
    services.add_scoped(Record)
    transport = RabbitTransport(os.environ["CRASH_AMQP"], exchange=os.environ["CRASH_EXCHANGE"])
    await transport.start()
    bus = Bus(transport, provider=services.build(), prefetch=32, retry=RetryPolicy(base_delay=0.05))
    await bus.subscribe(NoteWritten, Record, group="recorder")
    sys.stdout.write("consuming\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


asyncio.run(main())
