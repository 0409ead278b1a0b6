"""Unit-of-work throughput of portside's storage against the same work written directly.

Two operations, each timed side by side in one process on every backend:

  insert  one unit of work that adds one note and commits
  read    one unit of work (its own connection checkout / transaction) that reads one note
          by id, inserted beforehand

Backends: SQLite (a temporary file, ``sqlite+aiosqlite``), PostgreSQL (``postgresql+asyncpg``),
MariaDB (``mysql+aiomysql``) and Redis. On the SQL backends portside's ``SqlUnitOfWork`` with
the ``SqlNotes`` repository (SQLAlchemy Core on the ``contract_notes`` table) is compared with
SQLAlchemy Core on the same engine and table; on Redis ``RedisUnitOfWork`` with
``DocumentNotes`` is compared with redis-py doing the same commands. The ratio is portside's
time over the direct time: 1.08x means 8% overhead.

Every run works in its own PostgreSQL schema, MariaDB database, SQLite file and Redis key
prefix (random suffix) and removes them at the end, also after an error. A backend whose
server does not answer is reported as skipped. Run::

    .venv/bin/python benchmarks/storage_bench.py                 # writes results/storage.md
    .venv/bin/python benchmarks/storage_bench.py --quick         # writes results/storage-quick.md
    .venv/bin/python benchmarks/storage_bench.py --backends sqlite,postgres

The script reports and never asserts: it exits 0 whatever the numbers say.
"""

import argparse
import asyncio
import contextlib
import datetime
import gc
import itertools
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError
from sqlalchemy import (
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from portside.storage import ConcurrencyError, Conflict
from portside.storage.redis._uow import RedisUnitOfWork
from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._provider import create_tables
from portside.storage.sql._uow import SqlUnitOfWork
from portside.testing.sql import SqlNotes, app_tables, notes_table
from portside.testing.storage import DocumentNotes, Note
from run_info import library_versions

RESULTS_DIR = Path(__file__).resolve().parent / "results"
HOST = "127.0.0.1"
PG_URL = f"postgresql+asyncpg://postgres@{HOST}:5432/test"
MARIA_URL = f"mysql+aiomysql://root@{HOST}:3306/test"
REDIS_URL = f"redis://{HOST}:6379/0"
PORTSIDE = "portside"
DIRECT = "direct"
TARGET_BACKEND = "postgres"
TARGET_OVERHEAD = 0.15  # portside under 15% over direct on PostgreSQL inserts and reads
BODY = "A note body of a realistic length for a small aggregate, some eighty characters."
TAGS = 16
LIBRARIES = ("portside", "sqlalchemy", "aiosqlite", "asyncpg", "aiomysql", "PyMySQL", "redis")

BACKENDS = {
    "sqlite": "SQLite (file)",
    "postgres": "PostgreSQL",
    "mariadb": "MariaDB",
    "redis": "Redis",
}
ALIASES = {"pg": "postgres", "postgresql": "postgres", "mysql": "mariadb", "maria": "mariadb"}
OPERATIONS = {
    "insert": "insert one note + commit (one unit of work each)",
    "read": "read one note by id (one unit of work / connection checkout each)",
}


def note_values(number: int) -> dict[str, Any]:
    """The row / document of note ``number``: unique id and title, one of a few tags."""
    return {
        "id": f"n{number}",
        "title": f"title {number}",
        "body": BODY,
        "tag": f"tag{number % TAGS}",
    }


def new_note(number: int) -> Note:
    v = note_values(number)
    return Note(v["id"], v["title"], v["body"], v["tag"])


# -- a backend, set up: the operations of each contender -------------------------------------

Op = Callable[[Any], Awaitable[Any]]  # insert: takes a note number; read: takes a note id


@dataclass
class Harness:
    server: str
    inserts: dict[str, Op]
    reads: dict[str, Op]
    seed: Callable[[list[int]], Awaitable[None]]
    check: Callable[[], Awaitable[None]]
    notes: dict[str, list[str]] = field(default_factory=dict)  # operation -> notes


class CheckFailed(Exception):
    """A contender does not do the work the benchmark says it does."""


def _require(condition: object, reason: str) -> None:
    if not condition:
        raise CheckFailed(reason)


async def reachable(port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout=3)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def prepare_tables(engine: AsyncEngine) -> None:
    await create_tables(engine)
    async with engine.begin() as connection:
        await connection.run_sync(app_tables.create_all)


def sql_harness(engine: AsyncEngine, server: str) -> Harness:
    """portside (``SqlUnitOfWork`` + ``SqlNotes``) and SQLAlchemy Core on one engine."""
    uow = SqlUnitOfWork(engine)  # one unit of work object, reused sequentially

    async def portside_insert(number: int) -> None:
        async with uow:
            await SqlNotes(uow).add(new_note(number))
            await uow.commit()

    async def direct_insert(number: int) -> None:
        async with engine.begin() as connection:
            await connection.execute(insert(notes_table).values(**note_values(number), version=1))

    async def portside_read(note_id: str) -> Any:
        async with uow:
            return await SqlNotes(uow).get(note_id)

    async def direct_read(note_id: str) -> Any:
        async with engine.connect() as connection:
            return (
                await connection.execute(select(notes_table).where(notes_table.c.id == note_id))
            ).first()

    async def seed(numbers: list[int]) -> None:
        rows = [{**note_values(n), "version": 1} for n in numbers]
        async with engine.begin() as connection:
            await connection.execute(insert(notes_table), rows)

    async def check() -> None:
        await portside_insert(-1)
        row = await direct_read("n-1")
        _require(row is not None and row.title == "title -1", "direct read misses portside's row")
        await direct_insert(-2)
        note = await portside_read("n-2")
        _require(
            note is not None and note.title == "title -2" and note.version == 1,
            f"portside read of the direct row gave {note!r}",
        )
        _require(await portside_read("missing") is None, "portside read of a missing id")
        _require(await direct_read("missing") is None, "direct read of a missing id")

    return Harness(
        server=server,
        inserts={PORTSIDE: portside_insert, DIRECT: direct_insert},
        reads={PORTSIDE: portside_read, DIRECT: direct_read},
        seed=seed,
        check=check,
    )


@contextlib.asynccontextmanager
async def sqlite_backend() -> AsyncIterator[Harness]:
    directory = Path(tempfile.mkdtemp(prefix=f"portside-bench-{uuid.uuid4().hex[:8]}-"))
    engine = make_engine(SqlSettings(url=f"sqlite+aiosqlite:///{directory / 'bench.db'}"))
    try:
        await prepare_tables(engine)
        yield sql_harness(engine, f"SQLite {sqlite3.sqlite_version} (WAL, file in {directory})")
    finally:
        await engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def postgres_backend() -> AsyncIterator[Harness]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL)
    engine: AsyncEngine | None = None
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            version = (await connection.execute(text("SHOW server_version"))).scalar_one()
        engine = make_engine(SqlSettings(url=PG_URL, schema_name=schema))
        await prepare_tables(engine)
        yield sql_harness(engine, f"PostgreSQL {version} (schema {schema})")
    finally:
        try:
            if engine is not None:
                await engine.dispose()
            async with admin.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await admin.dispose()


@contextlib.asynccontextmanager
async def mariadb_backend() -> AsyncIterator[Harness]:
    database = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(MARIA_URL)
    engine: AsyncEngine | None = None
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f"CREATE DATABASE `{database}`"))
            version = (await connection.execute(text("SELECT VERSION()"))).scalar_one()
        engine = make_engine(SqlSettings(url=MARIA_URL, schema_name=database))
        await prepare_tables(engine)
        yield sql_harness(engine, f"MariaDB {version} (database {database})")
    finally:
        try:
            if engine is not None:
                await engine.dispose()
            async with admin.begin() as connection:
                await connection.execute(text(f"DROP DATABASE IF EXISTS `{database}`"))
        finally:
            await admin.dispose()


def redis_harness(client: Redis, prefix: str, server: str) -> Harness:
    """portside (``RedisUnitOfWork`` + ``DocumentNotes``) and redis-py issuing the same
    commands: WATCH, HMGET + GET under it, then MULTI / HSET, SET, SADD / EXEC."""
    uow = RedisUnitOfWork(client, prefix)  # one unit of work object, reused sequentially

    def keys_of(values: dict[str, Any]) -> tuple[str, str, str]:
        return (
            f"{prefix}:doc:notes:{values['id']}",
            f"{prefix}:uniq:notes:title:{values['title']}",
            f"{prefix}:idx:notes:tag:{values['tag']}",
        )

    def document_of(values: dict[str, Any]) -> dict[str, str]:
        held = {"unique": {"title": values["title"]}, "indexed": {"tag": values["tag"]}}
        return {"body": json.dumps(values), "version": "1", "keys": json.dumps(held)}

    async def portside_insert(number: int) -> None:
        async with uow:
            await DocumentNotes(uow).add(new_note(number))
            await uow.commit()

    async def direct_insert(number: int) -> None:
        values = note_values(number)
        doc, uniq, idx = keys_of(values)
        mapping = document_of(values)
        for _ in range(5):  # a WATCH race is retried, as portside does
            async with client.pipeline(transaction=True) as pipe:
                await pipe.watch(doc, uniq)
                body, _version, _held = await pipe.hmget(doc, ["body", "version", "keys"])
                if body is not None:
                    raise Conflict(f"notes {values['id']!r} already exists")
                owner = await pipe.get(uniq)
                if owner is not None and owner != values["id"]:
                    raise Conflict(f"notes title {values['title']!r} is already taken")
                pipe.multi()
                pipe.hset(doc, mapping=mapping)
                pipe.set(uniq, values["id"])
                pipe.sadd(idx, values["id"])
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                return
        raise ConcurrencyError("the data kept changing")

    async def portside_read(note_id: str) -> Any:
        async with uow:
            return await DocumentNotes(uow).get(note_id)

    async def direct_read(note_id: str) -> Any:
        body, version = await client.hmget(f"{prefix}:doc:notes:{note_id}", ["body", "version"])
        return None if body is None else (json.loads(body), int(version))

    async def seed(numbers: list[int]) -> None:
        async with client.pipeline(transaction=False) as pipe:
            for number in numbers:
                values = note_values(number)
                doc, uniq, idx = keys_of(values)
                pipe.hset(doc, mapping=document_of(values))
                pipe.set(uniq, values["id"])
                pipe.sadd(idx, values["id"])
            await pipe.execute()

    async def check() -> None:
        await portside_insert(-1)
        await direct_insert(-2)
        for number in (-1, -2):  # the same keys and the same stored document
            doc, uniq, idx = keys_of(note_values(number))
            stored = await client.hgetall(doc)
            _require(stored == document_of(note_values(number)), f"{doc} holds {stored!r}")
            _require(await client.get(uniq) == f"n{number}", f"{uniq} is not set")
            _require(await client.sismember(idx, f"n{number}"), f"{idx} misses n{number}")
        found = await direct_read("n-1")
        _require(found is not None and found[0]["title"] == "title -1", "direct read")
        note = await portside_read("n-2")
        _require(
            note is not None and note.title == "title -2" and note.version == 1,
            f"portside read of the direct document gave {note!r}",
        )
        _require(await portside_read("missing") is None, "portside read of a missing id")
        _require(await direct_read("missing") is None, "direct read of a missing id")

    return Harness(
        server=server,
        inserts={PORTSIDE: portside_insert, DIRECT: direct_insert},
        reads={PORTSIDE: portside_read, DIRECT: direct_read},
        seed=seed,
        check=check,
        notes={},
    )


@contextlib.asynccontextmanager
async def redis_backend() -> AsyncIterator[Harness]:
    prefix = f"bench{uuid.uuid4().hex[:12]}"
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        info = await client.info("server")
        yield redis_harness(client, prefix, f"Redis {info['redis_version']} (prefix {prefix}:)")
    finally:
        try:
            keys = [key async for key in client.scan_iter(f"{prefix}:*", count=1000)]
            for start in range(0, len(keys), 1000):
                await client.delete(*keys[start : start + 1000])
        finally:
            await client.aclose()


SETUPS: dict[str, tuple[int, Callable[[], contextlib.AbstractAsyncContextManager[Harness]]]] = {
    "sqlite": (0, sqlite_backend),
    "postgres": (5432, postgres_backend),
    "mariadb": (3306, mariadb_backend),
    "redis": (6379, redis_backend),
}

# -- timing ----------------------------------------------------------------------------------


@dataclass
class Sample:
    total_ns: int
    latencies_ns: list[int]


@dataclass
class Result:
    """One operation on one backend: every contender's rounds, or why there are none."""

    backend: str
    operation: str
    status: str = "ok"
    server: str = ""
    n: int = 0
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def complete(self, rounds: int) -> bool:
        return bool(self.samples) and all(len(s) == rounds for s in self.samples.values())

    def best(self, name: str) -> float:
        """ns per op in the fastest round."""
        return min(s.total_ns for s in self.samples[name]) / self.n

    def median(self, name: str) -> float:
        return statistics.median(s.total_ns for s in self.samples[name]) / self.n

    def best_round(self, name: str) -> Sample:
        return min(self.samples[name], key=lambda s: s.total_ns)

    def ratio(self, name: str = PORTSIDE, base: str = DIRECT) -> tuple[float, float]:
        """(best / best, median / median) of ``name`` over ``base``."""
        return self.best(name) / self.best(base), self.median(name) / self.median(base)


@dataclass
class Plan:
    rounds: int
    round_s: float
    warmup: int
    calibrate: int
    seed: int
    max_n: int


FULL = Plan(rounds=7, round_s=0.5, warmup=300, calibrate=200, seed=2000, max_n=20000)
QUICK = Plan(rounds=3, round_s=0.05, warmup=30, calibrate=30, seed=200, max_n=2000)


async def run_ops(op: Op, arguments: list[Any], *, reads: bool) -> Sample:
    """Run ``op`` once per argument, sequentially; the round's wall time and each latency."""
    latencies = [0] * len(arguments)
    misses = 0
    clock = time.perf_counter_ns
    start = clock()
    for i, argument in enumerate(arguments):
        began = clock()
        if await op(argument) is None:
            misses += 1
        latencies[i] = clock() - began
    total = clock() - start
    if reads and misses:
        raise CheckFailed(f"{misses} of {len(arguments)} reads found nothing")
    return Sample(total, latencies)


async def bench_operation(
    result: Result, ops: dict[str, Op], arguments: Callable[[int], list[Any]], plan: Plan
) -> None:
    """Warm up, size a round, then run the contenders in interleaved, rotated rounds."""
    reads = result.operation == "read"
    for op in ops.values():
        await run_ops(op, arguments(plan.warmup), reads=reads)
    per_op = 0.0  # the slower contender's ns per op, each taken at its best of 3 chunks
    for op in ops.values():
        chunk = max(1, plan.calibrate // 3)
        fastest = min(
            [(await run_ops(op, arguments(chunk), reads=reads)).total_ns for _ in range(3)]
        )
        per_op = max(per_op, fastest / chunk)
    result.n = max(20, min(plan.max_n, int(plan.round_s * 1e9 / per_op)))
    result.samples = {name: [] for name in ops}
    names = list(ops)
    for round_number in range(plan.rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            batch = arguments(result.n)
            gc.collect()
            result.samples[name].append(await run_ops(ops[name], batch, reads=reads))


async def bench_backend(backend: str, plan: Plan) -> list[Result]:
    port, setup = SETUPS[backend]
    results = [Result(backend, operation) for operation in OPERATIONS]
    if port and not await reachable(port):
        for result in results:
            result.status = "skipped: unreachable"
        return results
    try:
        async with setup() as harness:
            for result in results:
                result.server = harness.server
            await harness.check()
            numbers = itertools.count(1)
            await bench_operation(
                results[0],
                harness.inserts,
                lambda n: [next(numbers) for _ in range(n)],
                plan,
            )
            seeded = [next(numbers) for _ in range(plan.seed)]
            await harness.seed(seeded)
            ids = [f"n{number}" for number in seeded]
            cursor = itertools.cycle(ids)
            await bench_operation(
                results[1], harness.reads, lambda n: [next(cursor) for _ in range(n)], plan
            )
            for result in results:
                result.notes.extend(harness.notes.get(result.operation, []))
    except Exception as exc:  # noqa: BLE001 - one backend's failure is reported, the run goes on
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if isinstance(exc, CheckFailed):
            status = f"failed check: {message}"
        else:
            status = f"failed: {type(exc).__name__}: {message}"[:200]
        for result in results:
            if result.complete(plan.rounds):
                result.notes.append(f"a later step on this backend {status}")
            else:
                result.status, result.samples = status, {}
    return results


# -- reporting -------------------------------------------------------------------------------

HEADERS = (
    "backend",
    "ops x rounds",
    "portside ops/s best",
    "direct ops/s best",
    "ratio best",
    "portside ops/s median",
    "direct ops/s median",
    "ratio median",
    "ratio p50",
    "extra µs/op",
    "portside p50/p99 µs",
    "direct p50/p99 µs",
)


def _ops(ns_per_op: float) -> str:
    return f"{1e9 / ns_per_op:,.0f}"


def _us(ns: float) -> str:
    us = ns / 1000
    if abs(us) < 10:
        return f"{us:.2f}"
    if abs(us) < 100:
        return f"{us:.1f}"
    return f"{us:.0f}"


def percentile(sample: Sample, fraction: float) -> int:
    ordered = sorted(sample.latencies_ns)
    return ordered[round(fraction * (len(ordered) - 1))]


def _percentiles(sample: Sample) -> str:
    return f"{_us(percentile(sample, 0.50))} / {_us(percentile(sample, 0.99))}"


def table_rows(results: list[Result]) -> list[tuple[str, ...]]:
    rows = []
    for r in results:
        name = BACKENDS[r.backend]
        if not r.samples:
            rows.append((name, r.status, *("-" for _ in HEADERS[2:])))
            continue
        best, median = r.ratio()
        p50_ratio = percentile(r.best_round(PORTSIDE), 0.5) / percentile(r.best_round(DIRECT), 0.5)
        rows.append(
            (
                name,
                f"{r.n:,} x {len(r.samples[PORTSIDE])}",
                _ops(r.best(PORTSIDE)),
                _ops(r.best(DIRECT)),
                f"{best:.2f}x",
                _ops(r.median(PORTSIDE)),
                _ops(r.median(DIRECT)),
                f"{median:.2f}x",
                f"{p50_ratio:.2f}x",
                _us(r.best(PORTSIDE) - r.best(DIRECT)),
                _percentiles(r.best_round(PORTSIDE)),
                _percentiles(r.best_round(DIRECT)),
            )
        )
    return rows


def table_notes(results: list[Result]) -> list[str]:
    return [f"{BACKENDS[r.backend]}: {note}" for r in results for note in r.notes]


def text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (HEADERS, *rows)) for i in range(len(HEADERS))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0])] + [c.rjust(w) for c, w in zip(rest, widths[1:])])

    return "\n".join([line(HEADERS), "  ".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---|" + "---:|" * (len(HEADERS) - 2)]
    lines.extend("| " + " | ".join(r) + " |" for r in rows)
    return "\n".join(lines)


def target_line(by_operation: dict[str, list[Result]]) -> str:
    parts = []
    verdicts = []
    for operation in OPERATIONS:
        found = next(
            (r for r in by_operation.get(operation, []) if r.backend == TARGET_BACKEND), None
        )
        if found is None or not found.samples:
            status = "not run" if found is None else found.status
            parts.append(f"{operation} {status}")
            verdicts.append(None)
            continue
        best, median = found.ratio()
        verdicts.append(best - 1 < TARGET_OVERHEAD)
        parts.append(
            f"{operation} {(best - 1) * 100:+.1f}% ({best:.2f}x best/best, "
            f"{median:.2f}x median/median; {_us(found.best(PORTSIDE))} vs "
            f"{_us(found.best(DIRECT))} µs/op)"
        )
    verdict = "not measured" if None in verdicts else "yes" if all(verdicts) else "NO"
    return (
        f"portside overhead on PostgreSQL inserts and reads under {TARGET_OVERHEAD:.0%} "
        f"(best/best): {verdict}: " + "; ".join(parts)
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def method_lines(plan: Plan) -> list[str]:
    return [
        (
            f"{plan.rounds} interleaved rounds per operation and backend, the contenders' order "
            f"rotated each round; a round runs one contender's N operations back to back, "
            f"N sized so the slower contender takes ~{plan.round_s:g} s; each contender is "
            f"warmed up first ({plan.warmup} operations). gc stays on; gc.collect() runs "
            "before each round."
        ),
        (
            "ratio = portside time / direct time per operation (1.08x = 8% overhead): "
            "best = fastest round, median = median round, p50 = median single-operation "
            "latency within each contender's best round; extra µs/op = portside best - direct "
            "best; p50/p99 µs are single-operation latencies within each contender's best round."
        ),
        (
            "Both contenders run sequentially in one asyncio process on the same engine "
            "(portside's make_engine: pool_pre_ping on, pool 5 + 10 overflow on servers) or the "
            "same Redis client, so only portside's layer differs. Inserts use fresh ids; reads "
            f"cycle over {plan.seed} notes inserted beforehand."
        ),
        "On a noisy machine the median drifts above the best; compare the best figures.",
    ]


HOW = [
    (
        "**portside, SQL**: one `SqlUnitOfWork(engine)` reused; insert = `async with uow:` "
        "`SqlNotes(uow).add(Note(...))`, `uow.commit()`; read = `async with uow:` "
        "`SqlNotes(uow).get(id)` (leaving the block rolls back)."
    ),
    (
        "**direct, SQL**: SQLAlchemy Core on the same engine and table; insert = "
        "`async with engine.begin() as c: await c.execute(insert(notes_table).values(...))`; "
        "read = `async with engine.connect() as c: (await c.execute(select(notes_table)"
        ".where(notes_table.c.id == id))).first()`. Leaving SQLAlchemy's `async with` closes "
        "the connection in a task of its own (a cancellation-safe close); portside's unit of "
        "work awaits `close()` directly, so it skips that task and can come out faster."
    ),
    (
        "**rollbacks, SQL**: on a read both sides let the connection's close roll back the "
        "open transaction, so the pool skips its reset-on-return. After a commit both pay "
        "that reset."
    ),
    (
        "**portside, Redis**: one `RedisUnitOfWork(client, prefix)` reused with "
        "`DocumentNotes` (title unique, tag indexed)."
    ),
    (
        "**direct, Redis**: the same client; insert = WATCH document + unique-title key, "
        "HMGET document and GET unique key to check they are free, MULTI, HSET document "
        "{body, version, keys}, SET unique key, SADD tag index, EXEC; read = HMGET document "
        "body version, json.loads."
    ),
]


def write_markdown(
    path: Path, by_operation: dict[str, list[Result]], plan: Plan, *, quick: bool
) -> None:
    servers = {r.backend: r.server for rs in by_operation.values() for r in rs if r.server}
    out = [
        "# Storage unit-of-work benchmark"
        + (" (quick smoke run, not for comparison)" if quick else ""),
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- platform: {platform.platform()}",
        f"- CPU: {cpu_model()}; {os.cpu_count()} logical CPUs",
        f"- versions: {library_versions(LIBRARIES)}",
        *(f"- {BACKENDS[b]} server: {s}" for b, s in servers.items()),
        "",
        *method_lines(plan),
        "",
    ]
    for operation, results in by_operation.items():
        out += [f"## {operation}: {OPERATIONS[operation]}", "", markdown_table(table_rows(results))]
        notes = table_notes(results)
        if notes:
            out += ["", *(f"- {note}" for note in notes)]
        out.append("")
    out += ["## How each contender is set up", "", *(f"- {line}" for line in HOW), ""]
    out += ["## Target", "", f"- {target_line(by_operation)}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


# -- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark portside's storage units of work against direct code."
    )
    parser.add_argument("--quick", action="store_true", help="few short rounds: a smoke run")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help=f"comma-separated, from {', '.join(BACKENDS)} (default: all)",
    )
    parser.add_argument("--rounds", type=int, help="rounds per operation (default 7, quick 3)")
    parser.add_argument(
        "--round-seconds", type=float, help="target seconds per round (default 0.5, quick 0.05)"
    )
    parser.add_argument("--output", type=Path, help="Markdown file to write")
    args = parser.parse_args(argv)
    wanted = []
    for given in (n.strip().lower() for n in args.backends.split(",")):
        if not given:
            continue
        name = ALIASES.get(given, given)
        if name not in BACKENDS:
            parser.error(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
        if name not in wanted:
            wanted.append(name)
    if not wanted:
        parser.error(f"no backend given; choose from {', '.join(BACKENDS)}")
    args.backend_list = [b for b in BACKENDS if b in wanted]
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(**{**plan.__dict__, "rounds": max(1, args.rounds)})
    if args.round_seconds:
        plan = Plan(**{**plan.__dict__, "round_s": args.round_seconds})
    args.plan = plan
    args.output = args.output or RESULTS_DIR / ("storage-quick.md" if args.quick else "storage.md")
    return args


async def run(args: argparse.Namespace) -> dict[str, list[Result]]:
    by_operation: dict[str, list[Result]] = {operation: [] for operation in OPERATIONS}
    for backend in args.backend_list:
        print(f"{BACKENDS[backend]} ...", end=" ", flush=True)
        results = await bench_backend(backend, args.plan)
        print(next((r.server for r in results if r.server), "") or results[0].status)
        for result in results:
            by_operation[result.operation].append(result)
            if not result.samples and result.server:
                print(f"  {result.operation}: {result.status}")
    return by_operation


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.platform()}; CPU: {cpu_model()}")
    print(library_versions(LIBRARIES))
    print(*method_lines(args.plan), sep="\n")
    print()
    by_operation = asyncio.run(run(args))
    for operation, results in by_operation.items():
        print(f"\n{operation}: {OPERATIONS[operation]}")
        print(text_table(table_rows(results)))
        for note in table_notes(results):
            print(f"  {note}")
    print(f"\ntarget: {target_line(by_operation)}")
    write_markdown(args.output, by_operation, args.plan, quick=args.quick)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
