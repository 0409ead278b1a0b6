"""Side-by-side benchmark of portside's messaging against bare asyncio, the raw broker clients
and FastStream.

Scenarios (one process, one event loop; contenders interleaved round by round):

  memory    publish-to-handled events/s: portside's Bus over MemoryTransport (one
            subscriber, prefetch 64; the envelope is handed over as an object, its payload
            still serialized and validated) against a bare asyncio.Queue dispatch loop
  rabbitmq  portside against the raw client (aio-pika, nats-py, redis-py) and FastStream
  nats      doing the same acknowledged publish + consume of the same JSON body size:
  redis     (a) throughput: N events published with 1 and with 32 publishes in flight, each
            awaiting its broker acknowledgement, timed until every event is handled;
            (b) publish-to-handle latency at a fixed rate (timestamp in the payload)
  outbox    PostgreSQL + RabbitMQ: N events committed in units of work of 10 and published by
            OutboxRelay, against the same events published directly, timed until handled

Every contender passes a delivery check before it is timed. Every run works in its own
RabbitMQ exchange, NATS streams, Redis key prefix and PostgreSQL schema (random suffix) and
removes them at the end, also after an error. A server that does not answer is reported as
skipped. Run::

    .venv/bin/python benchmarks/messaging_bench.py              # writes results/messaging.md
    .venv/bin/python benchmarks/messaging_bench.py --quick      # writes results/messaging-quick.md
    .venv/bin/python benchmarks/messaging_bench.py --scenarios memory,nats

The script reports and never asserts: it exits 0 whatever the numbers say.
"""

import argparse
import asyncio
import contextlib
import datetime
import gc
import importlib.metadata
import json
import math
import os
import platform
import signal
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import BaseModel
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from portside.messaging import Bus, Codec, OutboxRelay, message, message_name
from portside.messaging.memory import MemoryBroker, MemoryTransport
from portside.messaging.nats import NatsTransport
from portside.messaging.rabbitmq import RabbitTransport
from portside.messaging.redis import RedisTransport
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._provider import create_tables
from portside.storage.sql._uow import SqlOutbox, SqlUnitOfWork
from run_info import portside_commit, probe_line, speed_probe

RESULTS_DIR = Path(__file__).resolve().parent / "results"
HOST = "127.0.0.1"
RABBIT_URL = f"amqp://guest:guest@{HOST}:5672/"
NATS_URL = f"nats://{HOST}:4222"
REDIS_URL = f"redis://{HOST}:6379/0"
PG_URL = f"postgresql+asyncpg://postgres@{HOST}:5432/test"
PREFETCH = 64  # deliveries a consumer may hold at once, on every contender
GROUP = "bench"
UNIT = 10  # events per unit of work in the outbox scenario
MAXLEN = 100_000  # Redis stream trimming (approximate), as portside's transport does
CHECK_EVENTS = 20
CHECK_SECONDS = 15.0
TARGET_MEMORY_EPS = 100_000  # portside in-memory publish-to-handled events/s
TARGET_RAW_RATIO = 0.8  # portside throughput over the raw client's, on every broker
LIBRARIES = (
    "portside",
    "pydantic",
    "aio-pika",
    "aiormq",
    "nats-py",
    "redis",
    "faststream",
    "fast-depends",
    "sqlalchemy",
    "asyncpg",
)

# roles of the contenders
OURS = "ours"
BASELINE = "baseline"
PEER = "peer"


# -- the message ------------------------------------------------------------------------------


@message("bench.Tick", version=1)
@dataclass(frozen=True)
class Tick:
    n: int  # sequence number within the run
    sent: int  # time.perf_counter_ns() when the publish call began


class FsTick(BaseModel):
    """The same event as FastStream's handler receives it (validated by FastDepends)."""

    n: int
    sent: int
    pad: str


def _portside_sample() -> str:
    return Codec().envelope(Tick(1_000_000, time.perf_counter_ns())).to_json()


PORTSIDE_BODY = len(_portside_sample().encode())


def _pad(separators: tuple[str, str]) -> str:
    """Padding that makes ``{"n", "sent", "pad"}`` as long as portside's envelope."""
    bare = json.dumps(
        {"n": 1_000_000, "sent": time.perf_counter_ns(), "pad": ""}, separators=separators
    )
    return "x" * max(0, PORTSIDE_BODY - len(bare))


RAW_PAD = _pad((",", ":"))  # the raw clients send compact JSON
FS_PAD = _pad((", ", ": "))  # FastStream serializes a dict with json's default separators


def raw_body(n: int, sent: int) -> bytes:
    return json.dumps({"n": n, "sent": sent, "pad": RAW_PAD}, separators=(",", ":")).encode()


def fs_body(n: int, sent: int) -> dict[str, Any]:
    return {"n": n, "sent": sent, "pad": FS_PAD}


# -- what every contender's handler reports to ------------------------------------------------


class Sink:
    """Counts the events of the current run as handlers see them; keeps latencies on demand."""

    def __init__(self) -> None:
        self.first = 0
        self.count = 0
        self.flags = bytearray()
        self.seen = 0
        self.duplicates = 0
        self.strays = 0
        self.latencies: list[int] | None = None
        self.done: asyncio.Future[int] | None = None

    def arm(self, first: int, count: int, *, latency: bool = False) -> asyncio.Future[int]:
        """Expect events ``first`` .. ``first + count - 1``; the future gets the time the last
        of them was handled."""
        self.first, self.count = first, count
        self.flags = bytearray(count)
        self.seen = 0
        self.latencies = [] if latency else None
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    def hit(self, n: int, sent: int) -> None:
        now = time.perf_counter_ns()
        index = n - self.first
        if not 0 <= index < self.count:
            self.strays += 1  # from an earlier, abandoned run
            return
        if self.flags[index]:
            self.duplicates += 1
            return
        self.flags[index] = 1
        self.seen += 1
        if self.latencies is not None:
            self.latencies.append(now - sent)
        if self.seen == self.count and self.done is not None and not self.done.done():
            self.done.set_result(now)


Send = Callable[[int, int], Awaitable[None]]  # (first event number, how many) -> published


@dataclass
class Live:
    """A contender, set up and subscribed."""

    send: Send
    sink: Sink
    body: str  # what travels as the message body, for the report
    leftover: Callable[[], Awaitable[int]] | None = None  # unacknowledged or undelivered
    next_n: int = 1

    def numbers(self, count: int) -> int:
        first = self.next_n
        self.next_n += count
        return first


class CheckFailed(Exception):
    """A contender does not do the work the benchmark says it does."""


def _require(condition: object, reason: str) -> None:
    if not condition:
        raise CheckFailed(reason)


clock = time.perf_counter_ns


async def stop_loop(task: asyncio.Task[None], stopping: asyncio.Event) -> None:
    """Stop a consumer loop: let its current blocking read return (<= 0.5 s), cancel it only
    if it does not."""
    stopping.set()
    _, pending = await asyncio.wait({task}, timeout=5)
    if pending:
        task.cancel()
        await asyncio.wait({task}, timeout=5)


def portside_sender(bus: Bus) -> Send:
    async def send(first: int, count: int) -> None:
        for n in range(first, first + count):
            await bus.publish(Tick(n, clock()))

    return send


def portside_handler(sink: Sink) -> Callable[[Tick], Awaitable[None]]:
    async def handle(event: Tick) -> None:
        sink.hit(event.n, event.sent)

    return handle


def portside_body() -> str:
    return f"portside envelope, {PORTSIDE_BODY} B"


def raw_description() -> str:
    return f"compact JSON {{n, sent, pad}}, {len(raw_body(1_000_000, clock()))} B"


def fs_description() -> str:
    size = len(json.dumps(fs_body(1_000_000, clock())).encode())
    return f"dict {{n, sent, pad}} serialized by FastStream, {size} B"


# -- in-memory ---------------------------------------------------------------------------------


@dataclass
class MemoryEnv:
    server: str


@contextlib.asynccontextmanager
async def memory_env() -> AsyncIterator[MemoryEnv]:
    loop = type(asyncio.get_running_loop()).__name__
    yield MemoryEnv(f"in process ({loop})")


def memory_portside(prefetch: int) -> Callable[[Any], contextlib.AbstractAsyncContextManager[Live]]:
    @contextlib.asynccontextmanager
    async def setup(env: MemoryEnv) -> AsyncIterator[Live]:
        sink = Sink()
        transport = MemoryTransport(MemoryBroker())
        await transport.start()
        bus = Bus(transport, prefetch=prefetch)
        try:
            await bus.subscribe(Tick, portside_handler(sink), group=GROUP)
            yield Live(
                portside_sender(bus),
                sink,
                "the envelope object (payload serialized to JSON types on publish, validated "
                "into a new Tick on delivery)",
            )
        finally:
            try:
                await bus.close(drain_seconds=1)
            finally:
                await transport.close()

    return setup


@contextlib.asynccontextmanager
async def memory_queue(env: MemoryEnv) -> AsyncIterator[Live]:
    sink = Sink()
    queue: asyncio.Queue[Tick] = asyncio.Queue()

    async def handle(event: Tick) -> None:
        sink.hit(event.n, event.sent)

    async def consume() -> None:
        while True:
            event = await queue.get()
            await handle(event)

    async def send(first: int, count: int) -> None:
        for n in range(first, first + count):
            await queue.put(Tick(n, clock()))

    consumer = asyncio.create_task(consume())
    try:
        yield Live(send, sink, "the Tick object itself (nothing serialized)")
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer


# -- RabbitMQ ----------------------------------------------------------------------------------


@dataclass
class RabbitEnv:
    server: str
    exchange: str
    admin: RabbitTransport
    queues: list[str] = field(default_factory=list)

    async def ready(self, queue: str) -> int:
        """Messages waiting in ``queue`` (unacknowledged ones are back once their channel
        closed)."""
        channel = await self.admin.connection().channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()


def rabbit_version(connection: Any) -> str:
    with contextlib.suppress(AttributeError):
        version = connection.transport.connection.server_properties.get("version")
        if version:
            return version.decode() if isinstance(version, bytes) else str(version)
    return "?"


@contextlib.asynccontextmanager
async def rabbit_env() -> AsyncIterator[RabbitEnv]:
    exchange = f"bench_{uuid.uuid4().hex[:12]}"
    admin = RabbitTransport(RABBIT_URL, exchange=exchange)
    await admin.start()
    env = RabbitEnv("", exchange, admin)
    try:
        version = rabbit_version(admin.connection())
        env.server = f"RabbitMQ {version} (exchange {exchange})"
        yield env
    finally:
        try:
            await admin.delete_namespace(env.queues)
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def rabbit_portside(env: RabbitEnv) -> AsyncIterator[Live]:
    sink = Sink()
    transport = RabbitTransport(RABBIT_URL, exchange=env.exchange)
    bus = Bus(transport, prefetch=PREFETCH)
    queue = transport.queue_name(bus.topic(message_name(Tick)), GROUP)
    env.queues.append(queue)
    await transport.start()
    try:
        await bus.subscribe(Tick, portside_handler(sink), group=GROUP)
        yield Live(portside_sender(bus), sink, portside_body(), lambda: env.ready(queue))
    finally:
        try:
            await bus.close(drain_seconds=1)
        finally:
            await transport.close()


@contextlib.asynccontextmanager
async def rabbit_raw(env: RabbitEnv) -> AsyncIterator[Live]:
    sink = Sink()
    routing_key = "raw.Tick"
    queue_name = f"{env.exchange}.raw"
    env.queues.append(queue_name)
    connection = await aio_pika.connect_robust(RABBIT_URL)
    try:
        publishing = await connection.channel(publisher_confirms=True)
        exchange = await publishing.declare_exchange(
            env.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        consuming = await connection.channel()
        await consuming.set_qos(prefetch_count=PREFETCH)
        queue = await consuming.declare_queue(queue_name, durable=True)
        await queue.bind(env.exchange, routing_key=routing_key)

        async def on_message(incoming: aio_pika.abc.AbstractIncomingMessage) -> None:
            data = json.loads(incoming.body)
            sink.hit(data["n"], data["sent"])
            await incoming.ack()

        await queue.consume(on_message)

        async def send(first: int, count: int) -> None:
            for n in range(first, first + count):
                outgoing = aio_pika.Message(
                    raw_body(n, clock()),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    content_type="application/json",
                )
                await exchange.publish(outgoing, routing_key=routing_key)

        yield Live(send, sink, raw_description(), lambda: env.ready(queue_name))
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def rabbit_faststream(env: RabbitEnv) -> AsyncIterator[Live]:
    from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue

    sink = Sink()
    routing_key = "faststream.Tick"
    queue_name = f"{env.exchange}.faststream"
    env.queues.append(queue_name)
    broker = RabbitBroker(RABBIT_URL, logger=None)
    exchange = RabbitExchange(env.exchange, type=ExchangeType.TOPIC, durable=True)

    @broker.subscriber(
        RabbitQueue(queue_name, durable=True, routing_key=routing_key),
        exchange,
        channel=Channel(prefetch_count=PREFETCH),
    )
    async def handle(body: FsTick) -> None:
        sink.hit(body.n, body.sent)

    publisher = broker.publisher(exchange=exchange, routing_key=routing_key, persist=True)
    try:
        await broker.start()

        async def send(first: int, count: int) -> None:
            for n in range(first, first + count):
                await publisher.publish(fs_body(n, clock()))

        yield Live(send, sink, fs_description(), lambda: env.ready(queue_name))
    finally:
        await broker.stop()


# -- NATS JetStream ----------------------------------------------------------------------------


@dataclass
class NatsEnv:
    server: str
    namespace: str
    admin: NatsTransport  # holds portside's stream; its connection checks and cleans up
    streams: list[str] = field(default_factory=list)  # streams of the other contenders

    async def unfinished(self, stream: str) -> int:
        """Messages of ``stream`` its consumers have not acknowledged or not received."""
        infos = await self.admin.js().consumers_info(stream)
        return sum(int(i.num_pending or 0) + int(i.num_ack_pending or 0) for i in infos)


@contextlib.asynccontextmanager
async def nats_env() -> AsyncIterator[NatsEnv]:
    namespace = f"bench_{uuid.uuid4().hex[:12]}"
    admin = NatsTransport(NATS_URL, namespace=namespace)
    await admin.start()
    env = NatsEnv("", namespace, admin)
    try:
        probe = await nats.connect(NATS_URL)
        v = probe.connected_server_version
        await probe.close()
        env.server = f"NATS {v.major}.{v.minor}.{v.patch} with JetStream (namespace {namespace})"
        yield env
    finally:
        try:
            await admin.delete_namespace()
            for stream in env.streams:
                with contextlib.suppress(NotFoundError):
                    await admin.js().delete_stream(stream)
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def nats_portside(env: NatsEnv) -> AsyncIterator[Live]:
    sink = Sink()
    transport = NatsTransport(NATS_URL, namespace=env.namespace)
    await transport.start()
    bus = Bus(transport, prefetch=PREFETCH)
    try:
        await bus.subscribe(Tick, portside_handler(sink), group=GROUP)
        yield Live(
            portside_sender(bus), sink, portside_body(), lambda: env.unfinished(env.admin.stream)
        )
    finally:
        try:
            await bus.close(drain_seconds=1)
        finally:
            await transport.close()


@contextlib.asynccontextmanager
async def nats_raw(env: NatsEnv) -> AsyncIterator[Live]:
    sink = Sink()
    stream = f"{env.namespace}_raw"
    subject = f"{stream}.Tick"
    env.streams.append(stream)
    client = await nats.connect(NATS_URL)
    consumer: asyncio.Task[None] | None = None
    stopping = asyncio.Event()
    try:
        js = client.jetstream()
        await js.add_stream(name=stream, subjects=[subject])
        config = ConsumerConfig(  # as portside configures its pull consumers
            durable_name=GROUP,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW,
            filter_subject=subject,
            ack_wait=30,
            max_ack_pending=max(PREFETCH * 4, 64),
        )
        pull = await js.pull_subscribe(subject, durable=GROUP, stream=stream, config=config)

        async def consume() -> None:
            while not stopping.is_set():
                try:
                    batch = await pull.fetch(batch=PREFETCH, timeout=0.5)
                except (NatsTimeout, TimeoutError):
                    continue
                for msg in batch:
                    data = json.loads(msg.data)
                    sink.hit(data["n"], data["sent"])
                    await msg.ack()

        consumer = asyncio.create_task(consume())

        async def send(first: int, count: int) -> None:
            for n in range(first, first + count):
                await js.publish(subject, raw_body(n, clock()))

        yield Live(send, sink, raw_description(), lambda: env.unfinished(stream))
    finally:
        if consumer is not None:
            await stop_loop(consumer, stopping)
        await client.close()


@contextlib.asynccontextmanager
async def nats_faststream(env: NatsEnv) -> AsyncIterator[Live]:
    from faststream.nats import JStream, NatsBroker, PullSub

    sink = Sink()
    name = f"{env.namespace}_faststream"
    subject = f"{name}.Tick"
    env.streams.append(name)
    broker = NatsBroker(NATS_URL, logger=None)
    stream = JStream(name, subjects=[subject])

    @broker.subscriber(
        subject, stream=stream, durable=GROUP, pull_sub=PullSub(batch_size=PREFETCH, timeout=0.5)
    )
    async def handle(body: FsTick) -> None:
        sink.hit(body.n, body.sent)

    publisher = broker.publisher(subject, stream=stream)
    try:
        await broker.start()

        async def send(first: int, count: int) -> None:
            for n in range(first, first + count):
                await publisher.publish(fs_body(n, clock()))

        yield Live(send, sink, fs_description(), lambda: env.unfinished(name))
    finally:
        await broker.stop()


# -- Redis Streams -----------------------------------------------------------------------------


@dataclass
class RedisEnv:
    server: str
    prefix: str
    client: Any

    async def unfinished(self, stream: str) -> int:
        """Entries of ``stream`` the group has not acknowledged or not read."""
        groups = await self.client.xinfo_groups(stream)
        return sum(int(g.get("pending") or 0) + int(g.get("lag") or 0) for g in groups)


@contextlib.asynccontextmanager
async def redis_env() -> AsyncIterator[RedisEnv]:
    prefix = f"bench{uuid.uuid4().hex[:12]}"
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        info = await client.info("server")
        yield RedisEnv(f"Redis {info['redis_version']} (prefix {prefix}:)", prefix, client)
    finally:
        try:
            keys = [key async for key in client.scan_iter(f"{prefix}:*", count=1000)]
            for start in range(0, len(keys), 1000):
                await client.delete(*keys[start : start + 1000])
        finally:
            await client.aclose()


@contextlib.asynccontextmanager
async def redis_portside(env: RedisEnv) -> AsyncIterator[Live]:
    sink = Sink()
    transport = RedisTransport(REDIS_URL, namespace=env.prefix)
    await transport.start()
    bus = Bus(transport, prefetch=PREFETCH)
    stream = transport.topic_stream(bus.topic(message_name(Tick)))
    try:
        await bus.subscribe(Tick, portside_handler(sink), group=GROUP)
        yield Live(portside_sender(bus), sink, portside_body(), lambda: env.unfinished(stream))
    finally:
        try:
            await bus.close(drain_seconds=1)
        finally:
            await transport.close()


@contextlib.asynccontextmanager
async def redis_raw(env: RedisEnv) -> AsyncIterator[Live]:
    sink = Sink()
    stream = f"{env.prefix}:raw:Tick"
    name = f"c{uuid.uuid4().hex[:8]}"
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    consumer: asyncio.Task[None] | None = None
    stopping = asyncio.Event()
    try:
        await client.xgroup_create(stream, GROUP, id="$", mkstream=True)

        async def consume() -> None:
            while not stopping.is_set():
                replies = await client.xreadgroup(
                    GROUP, name, {stream: ">"}, count=PREFETCH, block=300
                )
                for _stream, entries in replies or ():
                    for entry_id, fields in entries:
                        data = json.loads(fields["body"])
                        sink.hit(data["n"], data["sent"])
                        await client.xack(stream, GROUP, entry_id)

        consumer = asyncio.create_task(consume())

        async def send(first: int, count: int) -> None:
            for n in range(first, first + count):
                body = raw_body(n, clock()).decode()
                await client.xadd(stream, {"body": body}, maxlen=MAXLEN, approximate=True)

        yield Live(send, sink, raw_description(), lambda: env.unfinished(stream))
    finally:
        if consumer is not None:
            await stop_loop(consumer, stopping)
        await client.aclose()


@contextlib.asynccontextmanager
async def redis_faststream(env: RedisEnv) -> AsyncIterator[Live]:
    from faststream.redis import RedisBroker, StreamSub

    sink = Sink()
    stream = f"{env.prefix}:faststream:Tick"
    broker = RedisBroker(REDIS_URL, logger=None)

    @broker.subscriber(stream=StreamSub(stream, group=GROUP, consumer="c1", max_records=PREFETCH))
    async def handle(body: FsTick) -> None:
        sink.hit(body.n, body.sent)

    publisher = broker.publisher(stream=stream)
    try:
        await broker.start()

        async def send(first: int, count: int) -> None:
            for n in range(first, first + count):
                await publisher.publish(fs_body(n, clock()))

        yield Live(send, sink, fs_description(), lambda: env.unfinished(stream))
    finally:
        await broker.stop()


# -- outbox: PostgreSQL + RabbitMQ -------------------------------------------------------------


@dataclass
class OutboxEnv:
    server: str
    engine: AsyncEngine
    bus: Bus
    sink: Sink
    outbox: SqlOutbox
    relay: OutboxRelay


@contextlib.asynccontextmanager
async def outbox_env() -> AsyncIterator[OutboxEnv]:
    suffix = uuid.uuid4().hex[:12]
    schema = f"bench_{suffix}"
    exchange = f"bench_{suffix}"
    admin = create_async_engine(PG_URL)
    engine: AsyncEngine | None = None
    transport: RabbitTransport | None = None
    bus: Bus | None = None
    relay: OutboxRelay | None = None
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            pg_version = (await connection.execute(text("SHOW server_version"))).scalar_one()
        engine = make_engine(SqlSettings(url=PG_URL, schema_name=schema))
        await create_tables(engine)
        transport = RabbitTransport(RABBIT_URL, exchange=exchange)
        await transport.start()
        sink = Sink()
        bus = Bus(transport, prefetch=PREFETCH)
        await bus.subscribe(Tick, portside_handler(sink), group=GROUP)
        outbox = SqlOutbox(engine)
        relay = OutboxRelay(outbox, transport)  # batch 100, polls every 0.2 s when idle
        await relay.start()
        server = (
            f"PostgreSQL {pg_version} (schema {schema}) + "
            f"RabbitMQ {rabbit_version(transport.connection())} (exchange {exchange})"
        )
        yield OutboxEnv(server, engine, bus, sink, outbox, relay)
    finally:
        try:
            if relay is not None:
                await relay.stop()
            if bus is not None:
                await bus.close(drain_seconds=1)
            if transport is not None:
                try:
                    if bus is not None:
                        topic = bus.topic(message_name(Tick))
                        await transport.delete_namespace([transport.queue_name(topic, GROUP)])
                finally:
                    await transport.close()
            if engine is not None:
                await engine.dispose()
        finally:
            try:
                async with admin.begin() as connection:
                    await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            finally:
                await admin.dispose()


async def outbox_pending(env: OutboxEnv) -> int:
    return (await env.outbox.pending())[0]


@contextlib.asynccontextmanager
async def outbox_committed(env: OutboxEnv) -> AsyncIterator[Live]:
    encoder = env.bus.codec.encoder(env.bus.topic)
    if env.relay is not None:
        encoder.listeners.append(env.relay.kick)  # as the Messaging component wires it

    async def send(first: int, count: int) -> None:
        async with SqlUnitOfWork(env.engine, encoder) as uow:  # one per request, as a service
            for n in range(first, first + count):
                await env.bus.publish(Tick(n, clock()))
            await uow.commit()

    yield Live(send, env.sink, portside_body(), lambda: outbox_pending(env))


@contextlib.asynccontextmanager
async def outbox_direct(env: OutboxEnv) -> AsyncIterator[Live]:
    yield Live(portside_sender(env.bus), env.sink, portside_body())


# -- the scenarios -----------------------------------------------------------------------------

Setup = Callable[[Any], contextlib.AbstractAsyncContextManager[Live]]


@dataclass(frozen=True)
class Spec:
    name: str
    role: str  # OURS, BASELINE, PEER or "" (shown, not judged)
    dist: str | None  # distribution whose version is shown
    setup: Setup
    how: str


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    ports: tuple[int, ...]
    environment: Callable[[], contextlib.AbstractAsyncContextManager[Any]]
    specs: tuple[Spec, ...]
    windows: tuple[int, ...] | None = None  # publishes in flight; None: the plan's
    unit: int = 1  # events per send (per unit of work in the outbox scenario)
    latency: bool = True


FS_HOW = (
    "FastStream {broker} broker with `logger=None` (no per-message log lines); a "
    "`@broker.subscriber` whose handler takes a pydantic model of the body, acknowledging "
    "after the handler returns (the default ack policy); `broker.publisher(...).publish(dict)`"
)

SCENARIOS: dict[str, Scenario] = {
    "memory": Scenario(
        "memory",
        "in-memory publish to handled: portside Bus + MemoryTransport vs a bare asyncio.Queue",
        (),
        memory_env,
        (
            Spec(
                "portside",
                OURS,
                "portside",
                memory_portside(PREFETCH),
                f"Bus(MemoryTransport(MemoryBroker()), prefetch={PREFETCH}), one subscriber "
                "(a plain async function); `await bus.publish(Tick(n, sent))` in a loop",
            ),
            Spec(
                "portside, prefetch 1",
                "",
                "portside",
                memory_portside(1),
                "the same with prefetch=1: one worker task takes from the broker's queue",
            ),
            Spec(
                "asyncio.Queue",
                BASELINE,
                None,
                memory_queue,
                "an unbounded asyncio.Queue; the producer `await queue.put(Tick(n, sent))` in a "
                "loop, one consumer task `await handler(await queue.get())`",
            ),
        ),
        windows=(1,),
        latency=False,
    ),
    "rabbitmq": Scenario(
        "rabbitmq",
        "RabbitMQ: durable topic exchange + durable queue, persistent messages, publisher "
        "confirms, manual acks",
        (5672,),
        rabbit_env,
        (
            Spec(
                "portside",
                OURS,
                "portside",
                rabbit_portside,
                f"RabbitTransport(url, exchange=...) + Bus(prefetch={PREFETCH}); "
                "`await bus.publish(Tick(...))` (confirmed), `bus.subscribe(Tick, handler, "
                "group=...)`",
            ),
            Spec(
                "raw aio-pika",
                BASELINE,
                "aio-pika",
                rabbit_raw,
                "connect_robust; a channel with publisher_confirms=True publishing persistent "
                "JSON to the durable topic exchange; a second channel with "
                f"set_qos({PREFETCH}) consuming a durable bound queue, `json.loads` then "
                "`await message.ack()`",
            ),
            Spec(
                "FastStream",
                PEER,
                "faststream",
                rabbit_faststream,
                FS_HOW.format(broker="Rabbit")
                + f"; the same exchange kind, a durable queue on Channel(prefetch_count="
                f"{PREFETCH}), persist=True, publisher confirms (FastStream's default)",
            ),
        ),
    ),
    "nats": Scenario(
        "nats",
        "NATS JetStream: publish awaiting the PubAck, durable pull consumer, explicit acks",
        (4222,),
        nats_env,
        (
            Spec(
                "portside",
                OURS,
                "portside",
                nats_portside,
                f"NatsTransport(url, namespace=...) + Bus(prefetch={PREFETCH}); its pull "
                "consumer fetches up to the free room of 64 and hands each message to a pool "
                "of worker tasks",
            ),
            Spec(
                "raw nats-py",
                BASELINE,
                "nats-py",
                nats_raw,
                "`await js.publish(subject, body)`; a durable pull consumer configured as "
                f"portside's (explicit ack, max_ack_pending {max(PREFETCH * 4, 64)}), a loop "
                f"`fetch(batch={PREFETCH}, timeout=0.5)`, then per message `json.loads` and "
                "`await msg.ack()` in order",
            ),
            Spec(
                "FastStream",
                PEER,
                "faststream",
                nats_faststream,
                FS_HOW.format(broker="NATS")
                + f"; JStream + durable + PullSub(batch_size={PREFETCH}, timeout=0.5) (the "
                "messages of a batch handled concurrently), publisher with the stream "
                "(awaits the PubAck)",
            ),
        ),
    ),
    "redis": Scenario(
        "redis",
        "Redis Streams: XADD, XREADGROUP in a consumer group, XACK",
        (6379,),
        redis_env,
        (
            Spec(
                "portside",
                OURS,
                "portside",
                redis_portside,
                f"RedisTransport(url, namespace=...) + Bus(prefetch={PREFETCH}); XADD with "
                "MAXLEN ~ 100000; XREADGROUP (topic + retry stream, block 300 ms), each entry "
                "handled on a pool of worker tasks and XACKed",
            ),
            Spec(
                "raw redis-py",
                BASELINE,
                "redis",
                redis_raw,
                f"`XADD ... MAXLEN ~ {MAXLEN}`; a loop `XREADGROUP COUNT {PREFETCH} BLOCK 300` "
                "then per entry `json.loads` and `XACK`, in order",
            ),
            Spec(
                "FastStream",
                PEER,
                "faststream",
                redis_faststream,
                FS_HOW.format(broker="Redis")
                + f"; StreamSub(group, consumer, max_records={PREFETCH}) (entries handled one "
                "at a time: no max_workers), publisher(stream=...) (XADD without MAXLEN)",
            ),
        ),
    ),
    "outbox": Scenario(
        "outbox",
        f"outbox on PostgreSQL + RabbitMQ: commit to handled, units of work of {UNIT} events",
        (5432, 5672),
        outbox_env,
        (
            Spec(
                "outbox",
                OURS,
                "portside",
                outbox_committed,
                f"a SqlUnitOfWork(engine, bus.codec.encoder(bus.topic)) per {UNIT} events: "
                f"`async with uow:` {UNIT} x `bus.publish(...)`, `uow.commit()`; "
                "OutboxRelay(SqlOutbox(engine), transport) with its defaults (batch 100, "
                "0.2 s idle poll), woken by each commit, publishes; one subscriber, prefetch 64",
            ),
            Spec(
                "direct",
                BASELINE,
                "portside",
                outbox_direct,
                f"the same bus, no unit of work: {UNIT} x `await bus.publish(...)` (each "
                "confirmed)",
            ),
        ),
        windows=(1,),
        unit=UNIT,
    ),
}
ALIASES = {"rabbit": "rabbitmq", "amqp": "rabbitmq", "jetstream": "nats", "pg": "outbox"}


# -- timing -----------------------------------------------------------------------------------


@dataclass
class Round:
    events: int
    publish_ns: int  # until the last publish (commit) returned
    total_ns: int  # until the last event was handled

    @property
    def rate(self) -> float:
        return self.events * 1e9 / self.total_ns

    @property
    def publish_rate(self) -> float:
        return self.events * 1e9 / self.publish_ns


@dataclass
class Latency:
    rate: int
    seconds: float
    latencies_ns: list[int]
    behind_ms: float  # how far the publisher fell behind its schedule at worst

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ns)
        return ordered[round(fraction * (len(ordered) - 1))] / 1e6


@dataclass
class Outcome:
    spec: Spec
    version: str
    status: str = "ok"
    body: str = ""
    sizes: dict[int, int] = field(default_factory=dict)  # window -> events per round
    rounds: dict[int, list[Round]] = field(default_factory=dict)
    latency: list[Latency] = field(default_factory=list)  # one per interleaved segment
    notes: list[str] = field(default_factory=list)

    @property
    def timed(self) -> bool:
        return self.status == "ok" and bool(self.rounds)

    def best(self, window: int) -> float:
        return max(r.rate for r in self.rounds[window])

    def median(self, window: int) -> float:
        return statistics.median(r.rate for r in self.rounds[window])

    def round_ratio(self, other: "Outcome", window: int) -> float:
        """The median of each round's ratio of this contender's rate to ``other``'s.

        In a round every contender runs once, back to back: a slow spell of the machine
        disturbs the ratio of one round less than it disturbs either contender's best.
        """
        pairs = zip(self.rounds[window], other.rounds[window], strict=True)
        return statistics.median(ours.rate / theirs.rate for ours, theirs in pairs)

    def best_publish(self, window: int) -> float:
        return max(r.publish_rate for r in self.rounds[window])

    def latency_ms(self, fraction: float) -> float:
        """The median over the interleaved segments of each segment's percentile."""
        return statistics.median(segment.percentile(fraction) for segment in self.latency)

    def behind_ms(self) -> float:
        return max((segment.behind_ms for segment in self.latency), default=0.0)


@dataclass
class Result:
    scenario: Scenario
    status: str = "ok"
    server: str = ""
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def by_role(self, role: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.spec.role == role), None)


@dataclass(frozen=True)
class Plan:
    rounds: int
    round_s: float  # the slowest contender's round takes about this long
    windows: tuple[int, ...]
    warmup: int  # events per warm-up run
    warmup_s: float  # warm-up runs per contender and publishing mode last at least this long
    min_n: int
    max_n: int
    memory_max_n: int
    latency_rate: int  # events/s
    latency_s: float  # per contender, split into interleaved segments
    latency_segments: int


FULL = Plan(
    rounds=7,
    round_s=1.5,
    windows=(1, 32),
    warmup=300,
    warmup_s=1.0,
    min_n=200,
    max_n=20_000,
    memory_max_n=200_000,
    latency_rate=500,
    latency_s=3.0,
    latency_segments=3,
)
QUICK = Plan(
    rounds=2,
    round_s=0.12,
    windows=(1, 32),
    warmup=60,
    warmup_s=0.25,
    min_n=50,
    max_n=4_000,
    memory_max_n=40_000,
    latency_rate=500,
    latency_s=1.0,
    latency_segments=2,
)


async def throughput(live: Live, events: int, window: int, unit: int, limit_s: float) -> Round:
    """Publish ``events`` events with ``window`` sends in flight; time until all are handled."""
    first = live.numbers(events)
    done = live.sink.arm(first, events)
    starts = iter(range(first, first + events, unit))
    end = first + events

    async def worker() -> None:
        for start in starts:  # shared: each worker takes the next send
            await live.send(start, min(unit, end - start))

    began = clock()
    async with asyncio.timeout(limit_s):
        async with asyncio.TaskGroup() as group:
            for _ in range(window):
                group.create_task(worker())
        published = clock()
        finished = await done
    return Round(events, published - began, finished - began)


async def latency(live: Live, rate: int, seconds: float, unit: int, limit_s: float) -> Latency:
    """Send at a fixed rate (a task per send, on schedule); the handler measures each event's
    publish-to-handle time from the timestamp in its payload."""
    events = max(unit, int(rate * seconds) // unit * unit)
    first = live.numbers(events)
    done = live.sink.arm(first, events, latency=True)
    interval = unit * 1e9 / rate
    behind = 0
    sends: set[asyncio.Task[None]] = set()
    began = clock()
    async with asyncio.timeout(limit_s):
        for k, start in enumerate(range(first, first + events, unit)):
            due = began + int(k * interval)
            wait = due - clock()
            if wait > 0:
                await asyncio.sleep(wait / 1e9)
            behind = max(behind, clock() - due)
            task = asyncio.create_task(live.send(start, unit))
            sends.add(task)
            task.add_done_callback(sends.discard)
        await asyncio.gather(*sends)
        await done
    return Latency(rate, seconds, list(live.sink.latencies or ()), behind / 1e6)


async def check(live: Live, unit: int) -> None:
    """Every event of a small run reaches the handler exactly once, with its payload."""
    first = live.numbers(CHECK_EVENTS)
    done = live.sink.arm(first, CHECK_EVENTS, latency=True)
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            for start in range(first, first + CHECK_EVENTS, unit):
                await live.send(start, min(unit, first + CHECK_EVENTS - start))
            await done
    except TimeoutError:
        raise CheckFailed(
            f"{live.sink.seen} of {CHECK_EVENTS} events handled after {CHECK_SECONDS:g} s"
        ) from None
    await asyncio.sleep(0.2)  # room for a duplicate to show up
    sink = live.sink
    _require(sink.duplicates == 0, f"{sink.duplicates} events handled twice")
    _require(sink.strays == 0, f"{sink.strays} events that were not sent in this run")
    lat = sink.latencies or []
    _require(len(lat) == CHECK_EVENTS and all(x > 0 for x in lat), "payload timestamps lost")


def describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, CheckFailed):
        return f"failed check: {exc}"
    if isinstance(exc, TimeoutError):
        return "failed: timed out"
    if isinstance(exc, ImportError):
        return f"n/a: not installed ({exc.name})"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"failed: {type(exc).__name__}: {first_line}"[:200]


def version_of(dist: str | None) -> str:
    if dist is None:
        return "-"
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


async def measure(
    scenario: Scenario, lives: dict[str, Live], outcomes: dict[str, Outcome], plan: Plan
) -> None:
    """Warm up and size a round per window, then interleaved rotated rounds, then latency."""
    windows = scenario.windows or plan.windows
    unit = scenario.unit
    max_n = plan.memory_max_n if scenario.key == "memory" else plan.max_n

    def fail(name: str, exc: BaseException) -> None:
        outcomes[name].status = describe(exc)
        sink = lives[name].sink
        if outcomes[name].status == "failed: timed out":
            outcomes[name].status += f" ({sink.seen} of {sink.count} events handled)"
        outcomes[name].rounds.clear()
        outcomes[name].latency = []
        lives.pop(name, None)

    slowest: dict[int, float] = {}
    for window in windows:
        rate = math.inf
        for name, live in list(lives.items()):
            try:
                warm_until = clock() + int(plan.warmup_s * 1e9)
                runs = 0
                while runs < 2 or clock() < warm_until:
                    found = await throughput(live, plan.warmup, window, unit, 120)
                    runs += 1
                rate = min(rate, found.rate)  # the last warm-up run sizes the rounds
            except Exception as exc:  # noqa: BLE001 - one contender's failure is reported
                fail(name, exc)
        if not lives:
            return
        slowest[window] = rate
        events = max(plan.min_n, min(max_n, int(rate * plan.round_s)))
        for outcome in outcomes.values():
            outcome.sizes[window] = max(unit, events // unit * unit)
    for number in range(plan.rounds):
        for window in windows:
            names = list(lives)
            shift = number % max(len(names), 1)
            for name in names[shift:] + names[:shift]:
                if name not in lives:
                    continue
                events = outcomes[name].sizes[window]
                limit = max(20.0, 20 * events / slowest[window])
                gc.collect()
                try:
                    found = await throughput(lives[name], events, window, unit, limit)
                except Exception as exc:  # noqa: BLE001 - one contender's failure is reported
                    fail(name, exc)
                    continue
                outcomes[name].rounds.setdefault(window, []).append(found)
    if not scenario.latency:
        return
    seconds = plan.latency_s / plan.latency_segments
    for number in range(plan.latency_segments):
        names = list(lives)
        shift = number % max(len(names), 1)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            try:
                segment = await latency(lives[name], plan.latency_rate, seconds, unit, seconds + 30)
            except Exception as exc:  # noqa: BLE001 - one contender's failure is reported
                fail(name, exc)
                continue
            outcomes[name].latency.append(segment)


async def reachable(port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout=3)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def run_scenario(scenario: Scenario, plan: Plan) -> Result:
    result = Result(scenario)
    result.outcomes = [Outcome(spec, version_of(spec.dist)) for spec in scenario.specs]
    outcomes = {o.spec.name: o for o in result.outcomes}
    for port in scenario.ports:
        if not await reachable(port):
            result.status = "skipped: unreachable"
            for outcome in result.outcomes:
                outcome.status = f"skipped: unreachable (port {port})"
            return result
    try:
        async with scenario.environment() as env:
            result.server = env.server
            lives: dict[str, Live] = {}
            async with contextlib.AsyncExitStack() as stack:
                for spec in scenario.specs:
                    outcome = outcomes[spec.name]
                    try:
                        live = await stack.enter_async_context(spec.setup(env))
                        outcome.body = live.body
                        await check(live, scenario.unit)
                    except Exception as exc:  # noqa: BLE001 - one contender's failure is reported
                        outcome.status = describe(exc)
                        continue
                    lives[spec.name] = live
                await measure(scenario, lives, outcomes, plan)
                survivors = dict(lives)
                duplicates = {name: live.sink.duplicates for name, live in lives.items()}
            await asyncio.sleep(0.2)  # closed consumers hand unacknowledged messages back
            for name, live in survivors.items():
                if duplicates[name]:
                    outcomes[name].notes.append(f"{duplicates[name]} events handled twice")
                if live.leftover is None:
                    continue
                try:
                    left = await live.leftover()
                except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                    outcomes[name].notes.append(f"leftover check {describe(exc)}")
                    continue
                if left:
                    outcomes[name].notes.append(
                        f"{left} messages unacknowledged or undelivered at the end"
                    )
                else:
                    outcomes[name].notes.append(
                        "nothing left unacknowledged on the broker at the end"
                        if scenario.key != "outbox"
                        else "outbox table empty at the end"
                    )
    except Exception as exc:  # noqa: BLE001 - one scenario's failure is reported, the run goes on
        status = describe(exc)
        result.status = status
        for outcome in result.outcomes:
            if not outcome.timed:
                outcome.status = outcome.status if outcome.status != "ok" else status
            else:
                outcome.notes.append(f"clean-up {status}")
    return result


# -- reporting ---------------------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _window_label(scenario: Scenario, window: int) -> str:
    if scenario.unit > 1:
        return ""
    if scenario.windows == (1,):
        return ""
    return f"{window} in flight: "


def headers(result: Result, plan: Plan) -> tuple[str, ...]:
    scenario = result.scenario
    base = next((o.spec.name for o in result.outcomes if o.spec.role == BASELINE), "-")
    cells = ["contender", "version", "events x rounds"]
    for window in scenario.windows or plan.windows:
        label = _window_label(scenario, window)
        cells += [f"{label}events/s best", "median", f"vs {base}"]
    if scenario.key == "outbox":
        cells.append("commit/publish phase events/s best")
    if scenario.key == "memory":
        cells.append("µs/event best")
    if scenario.latency:
        cells.append(f"p50 / p99 ms @ {plan.latency_rate}/s")
    return tuple(cells)


def table_rows(result: Result, plan: Plan) -> list[tuple[str, ...]]:
    scenario = result.scenario
    windows = scenario.windows or plan.windows
    base = result.by_role(BASELINE)
    rows = []
    width = len(headers(result, plan))
    for o in result.outcomes:
        name = o.spec.name
        if not o.timed:
            rows.append((name, o.version, o.status, *("-" for _ in range(width - 3))))
            continue
        sizes = " / ".join(f"{o.sizes[w]:,}" for w in windows)
        cells = [name, o.version, f"{sizes} x {len(o.rounds[windows[0]])}"]
        for window in windows:
            ratio = "-"
            if base is not None and base.timed and window in base.rounds:
                ratio = f"{o.best(window) / base.best(window):.2f}x"
            cells += [_rate(o.best(window)), _rate(o.median(window)), ratio]
        if scenario.key == "outbox":
            cells.append(_rate(o.best_publish(windows[0])))
        if scenario.key == "memory":
            cells.append(f"{1e6 / o.best(windows[0]):.2f}")
        if scenario.latency:
            cells.append(
                f"{_ms(o.latency_ms(0.5))} / {_ms(o.latency_ms(0.99))}" if o.latency else "-"
            )
        rows.append(tuple(cells))
    return rows


def table_notes(result: Result) -> list[str]:
    notes = list(result.notes)
    for o in result.outcomes:
        if o.body:
            notes.append(f"{o.spec.name}: body = {o.body}")
        notes += [f"{o.spec.name}: {note}" for note in o.notes]
        if o.behind_ms() > 20:
            notes.append(
                f"{o.spec.name}: in a latency segment the fixed-rate publisher fell up to "
                f"{o.behind_ms():.0f} ms behind its schedule (the process was stalled)"
            )
    return notes


def text_table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0])] + [c.rjust(w) for c, w in zip(rest, widths[1:])])

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    lines.extend("| " + " | ".join(r) + " |" for r in rows)
    return "\n".join(lines)


def _ratio_text(ours: Outcome, other: Outcome, windows: tuple[int, ...]) -> str:
    """``ours`` over ``other`` per publishing mode: best/best and the median round's ratio."""
    parts = []
    for window in windows:
        best = ours.best(window) / other.best(window)
        paired = ours.round_ratio(other, window)
        parts.append(
            f"{window} in flight {best:.2f}x best/best, {paired:.2f}x median round "
            f"({_rate(ours.best(window))} vs {_rate(other.best(window))} events/s)"
        )
    return "; ".join(parts)


def _verdict(ratios: list[tuple[float, float]], passes: Callable[[float], bool]) -> str:
    """``yes`` when the best/best ratio and the median round's ratio (``ratios``, one pair
    per publishing mode) both pass in every mode; otherwise which of them failed."""
    best_ok = all(passes(best) for best, _ in ratios)
    paired_ok = all(passes(paired) for _, paired in ratios)
    if best_ok and paired_ok:
        return "yes"
    if best_ok:
        return "NO by the median round (yes by the best rounds)"
    if paired_ok:
        return "NO by the best rounds (yes by the median round)"
    return "NO"


def targets(results: list[Result], plan: Plan) -> list[str]:
    lines = []
    for result in results:
        key = result.scenario.key
        windows = result.scenario.windows or plan.windows
        ours, base, peer = (result.by_role(r) for r in (OURS, BASELINE, PEER))
        if key == "memory":
            if ours is None or not ours.timed:
                lines.append(f"memory: portside >= {TARGET_MEMORY_EPS:,} events/s: not measured")
                continue
            best = ours.best(1)
            verdict = "yes" if best >= TARGET_MEMORY_EPS else "NO"
            extra = (
                f"; asyncio.Queue {_rate(base.best(1))} events/s, portside at "
                f"{best / base.best(1):.3f}x of it"
                if base is not None and base.timed
                else ""
            )
            lines.append(
                f"memory: portside >= {TARGET_MEMORY_EPS:,} events/s: {verdict} "
                f"(best {_rate(best)}, median {_rate(ours.median(1))} events/s{extra})"
            )
            continue
        if key == "outbox":
            if ours is None or base is None or not (ours.timed and base.timed):
                lines.append("outbox (no target): not measured")
                continue
            lines.append(
                f"outbox (no target): commit to handled {_rate(ours.best(1))} events/s vs "
                f"direct publishing {_rate(base.best(1))} events/s "
                f"({ours.best(1) / base.best(1):.2f}x best/best)"
            )
            continue
        if ours is None or not ours.timed:
            status = result.status if ours is None else ours.status
            lines.append(f"{key}: portside not measured ({status})")
            continue
        if base is None or not base.timed:
            lines.append(f"{key}: portside >= {TARGET_RAW_RATIO}x raw: not measured")
        else:
            ratios = [(ours.best(w) / base.best(w), ours.round_ratio(base, w)) for w in windows]
            verdict = _verdict(ratios, lambda r: r >= TARGET_RAW_RATIO)
            figures = _ratio_text(ours, base, windows)
            lines.append(
                f"{key}: portside >= {TARGET_RAW_RATIO}x {base.spec.name} throughput: "
                f"{verdict} ({figures})"
            )
        if peer is None or not peer.timed:
            status = "not installed" if peer is None else peer.status
            lines.append(f"{key}: portside ahead of FastStream: not measured ({status})")
            continue
        ratios = [(ours.best(w) / peer.best(w), ours.round_ratio(peer, w)) for w in windows]
        figures = _ratio_text(ours, peer, windows)
        lines.append(
            f"{key}: portside ahead of FastStream in throughput: "
            f"{_verdict(ratios, lambda r: r > 1.0)} ({figures})"
        )
        if ours.latency and peer.latency:
            mine, theirs = ours.latency_ms(0.5), peer.latency_ms(0.5)
            lines.append(
                f"{key}: portside ahead of FastStream in p50 latency at {plan.latency_rate}/s: "
                f"{'yes' if mine < theirs else 'NO'} ({_ms(mine)} vs {_ms(theirs)} ms; p99 "
                f"{_ms(ours.latency_ms(0.99))} vs {_ms(peer.latency_ms(0.99))} ms)"
            )
    return lines


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def versions() -> str:
    return ", ".join(f"{dist} {version_of(dist)}" for dist in LIBRARIES)


def method_lines(plan: Plan) -> list[str]:
    return [
        (
            f"{plan.rounds} interleaved rounds per scenario, the contenders' order rotated each "
            "round; a round publishes N events and ends when the handler has seen the last "
            f"of them; N is sized so the slowest contender's round takes ~{plan.round_s:g} s "
            f"(at least {plan.min_n}); each contender is warmed up first, per publishing mode, "
            f"with runs of {plan.warmup} events for at least {plan.warmup_s:g} s (this "
            "machine's interpreter takes a few thousand events to reach its steady pace). "
            "gc stays on; gc.collect() runs before each round."
        ),
        (
            "events/s = N / (first publish call .. last event handled): best = fastest round, "
            "median = median round; vs = best / the baseline's best (higher is faster)."
        ),
        (
            f"Publishing modes on the brokers: 1 in flight = one publish at a time, each "
            f"awaiting its broker acknowledgement; 32 in flight = 32 publishing loops sharing "
            f"the N events, each awaiting its own acknowledgement. Every consumer may hold "
            f"{PREFETCH} deliveries (prefetch / fetch batch / XREADGROUP COUNT)."
        ),
        (
            f"Latency: {plan.latency_rate} events/s for {plan.latency_s:g} s per contender, "
            f"after the rounds, in {plan.latency_segments} interleaved segments (order rotated); "
            "a task per publish started on schedule; publish-to-handle time from a "
            "time.perf_counter_ns() stamp in the payload (one process, so one clock), taken "
            "when the publish call begins and read in the handler. p50 / p99 = the median over "
            "the segments of each segment's p50 / p99 (a stall spoils one segment, not a "
            "contender's figure)."
        ),
        (
            "Every contender first passes a check: 20 events each handled once with their "
            "payload. After closing, each broker queue, stream or consumer is checked for "
            "messages left unacknowledged. One process, default asyncio event loop; broker "
            "servers on the same machine."
        ),
        (
            "A target is judged twice, and met only if both pass: on the best rounds "
            "(best/best) and on the median round's ratio (each round's ratio of the two "
            "contenders, which ran back to back in it, then the median over the rounds). On "
            "a noisy machine one lucky round can lift a best figure; a slow spell spoils a "
            "round's ratio less than it spoils either contender's best."
        ),
    ]


DIFFERENCES = [
    (
        "**Body**: portside sends its envelope (message id, type, version, occurred_at, "
        "correlation id, ... and the payload {n, sent}). The raw clients and FastStream send "
        "{n, sent, pad} padded to the same byte length, so the wire carries the same bytes; "
        "the envelope's own work (a random id, a timestamp, pydantic dump and validation, "
        "JSON of the whole envelope both ways) is portside's cost and counts against it."
    ),
    (
        "**Broker extras portside adds**: RabbitMQ a message_id property and an "
        "x-portside-topic header; NATS a Nats-Msg-Id header (JetStream deduplicates on it); "
        "Redis a `key` field. The raw clients send none of these; the raw redis-py XADD uses "
        "the same MAXLEN ~ 100000 trimming as portside; FastStream's XADD has no MAXLEN."
    ),
    (
        "**Consumer concurrency**: portside handles up to 64 deliveries at once on every "
        "broker, on a pool of worker tasks (one key's deliveries in order). aio-pika (raw, "
        "under FastStream, and under portside, which it hands each message) runs a task per "
        "delivery, up to the prefetch of 64. The raw nats-py and redis-py consumers handle "
        "each fetched batch of up to 64 in order; FastStream handles a NATS batch "
        "concurrently and Redis entries one at a time (its default without max_workers)."
    ),
    (
        "**Reading**: portside's NATS and Redis readers fetch again as soon as they have "
        "handed each delivery to their workers; the raw loops handle and acknowledge a batch "
        "before fetching again. With one publish in flight the raw Redis loop therefore gets many "
        "entries per XREADGROUP while portside issues about one XREADGROUP per event (both "
        "send one XADD and one XACK per event); on NATS both send the same number of "
        "messages per event."
    ),
    (
        "**Publishing**: the same driver for all: a loop calling the contender's publish, "
        "awaiting each broker acknowledgement (RabbitMQ confirm, JetStream PubAck, XADD reply); "
        "32 in flight runs 32 such loops."
    ),
    (
        "**FastStream logging**: its brokers are created with `logger=None`; by default they "
        "write a log line per message received and processed."
    ),
    (
        "**Background work**: portside's Redis transport also polls its delay schedule every "
        "20 ms and XAUTOCLAIMs every 15 s; its RabbitMQ transport uses a robust connection "
        "(as the raw aio-pika contender does)."
    ),
    (
        "**Outbox**: the relay runs with portside's defaults (batch 100, idle poll 0.2 s) "
        "and each commit wakes it, as in a service. It publishes a batch concurrently, each "
        "key's entries in order, each publish awaiting its confirm."
    ),
]


def write_markdown(
    path: Path, results: list[Result], plan: Plan, probes: tuple[float, float], *, quick: bool
) -> None:
    out = [
        "# Messaging benchmark" + (" (quick smoke run, not for comparison)" if quick else ""),
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- platform: {platform.platform()}",
        f"- CPU: {cpu_model()}; {os.cpu_count()} logical CPUs",
        f"- {probe_line(probes)}",
        f"- portside commit: {portside_commit()}",
        f"- versions: {versions()}",
        *(f"- server: {r.server}" for r in results if r.server),
        "",
        *method_lines(plan),
        "",
    ]
    for result in results:
        out += [f"## {result.scenario.key}: {result.scenario.title}", ""]
        if result.status != "ok":
            out += [f"- {result.status}", ""]
        out.append(markdown_table(headers(result, plan), table_rows(result, plan)))
        notes = table_notes(result)
        if notes:
            out += ["", *(f"- {note}" for note in notes)]
        out.append("")
    out += ["## How each contender is set up", ""]
    for result in results:
        out += [f"- **{result.scenario.key} / {s.name}**: {s.how}" for s in result.scenario.specs]
    out += ["", "## What differs between the contenders", "", *(f"- {d}" for d in DIFFERENCES)]
    out += ["", "## Targets", "", *(f"- {line}" for line in targets(results, plan)), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark portside's messaging against raw broker clients and FastStream."
    )
    parser.add_argument("--quick", action="store_true", help="few short rounds: a smoke run")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--rounds", type=int, help="rounds per scenario (default 7, quick 2)")
    parser.add_argument(
        "--round-seconds", type=float, help="target seconds per round (default 0.7, quick 0.12)"
    )
    parser.add_argument("--output", type=Path, help="Markdown file to write")
    args = parser.parse_args(argv)
    wanted = []
    for given in (n.strip().lower() for n in args.scenarios.split(",")):
        if not given:
            continue
        name = ALIASES.get(given, given)
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
        if name not in wanted:
            wanted.append(name)
    if not wanted:
        parser.error(f"no scenario given; choose from {', '.join(SCENARIOS)}")
    args.scenario_list = [s for s in SCENARIOS if s in wanted]
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(**{**plan.__dict__, "rounds": max(1, args.rounds)})
    if args.round_seconds:
        plan = Plan(**{**plan.__dict__, "round_s": args.round_seconds})
    args.plan = plan
    name = "messaging-quick.md" if args.quick else "messaging.md"
    args.output = args.output or RESULTS_DIR / name
    return args


async def run(args: argparse.Namespace) -> list[Result]:
    task = asyncio.current_task()
    if task is not None:  # a termination still removes what the run created
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    results = []
    for key in args.scenario_list:
        scenario = SCENARIOS[key]
        print(f"{key} ...", end=" ", flush=True)
        began = time.monotonic()
        result = await run_scenario(scenario, args.plan)
        print(f"{result.server or result.status} ({time.monotonic() - began:.0f} s)", flush=True)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.platform()}; CPU: {cpu_model()}")
    print(f"portside commit {portside_commit()}; {versions()}")
    print(*method_lines(args.plan), sep="\n")
    print()
    before = speed_probe()
    results = asyncio.run(run(args))
    probes = (before, speed_probe())
    for result in results:
        print(f"\n{result.scenario.key}: {result.scenario.title}")
        print(text_table(headers(result, args.plan), table_rows(result, args.plan)))
        for note in table_notes(result):
            print(f"  {note}")
    print("\ntargets")
    for line in targets(results, args.plan):
        print(f"  {line}")
    print(f"\n{probe_line(probes)}")
    write_markdown(args.output, results, args.plan, probes, quick=args.quick)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
