"""``POST /users`` and ``GET /users/{user_id}`` of the users service, hand-written with
FastAPI + SQLAlchemy and no portside: the baseline of ``http_bench.py``'s server part.

It does the work the users service does for these two endpoints, written directly:

- ``POST /users``: a pydantic body with the service's constraints, the name stripped and
  1 to 64 characters, a blank department stored as null; in one transaction a look-up of
  the name, the insert into ``users`` and one row in ``portside_outbox`` whose body is the
  same event envelope (JSON) the service writes. A taken name is 409 (also when the unique
  key catches a race). 201 with a ``Location`` header. The commit wakes the outbox relay
  (:class:`Relay`), which publishes the event and deletes the row, as the service's does.
- ``GET /users/{user_id}``: read through an in-process cache (least recently used, 10,000
  entries, entries expire 300 s after they are stored on a monotonic clock, as portside's
  memory cache), else from the table; 404 for an unknown id.
- Every response echoes ``X-Correlation-ID`` (the caller's, else a new one), which is also
  the envelope's correlation id; a pure ASGI middleware, as a careful hand-written app
  would have it.
- FastAPI's own OpenTelemetry instrumentation is off, as in portside's app by default
  (:data:`TELEMETRY_OFF`).

The tables are the ones the users service's migrations create (``http_servers.py``
creates them in the schema named here). The engine has portside's pool defaults
(pool_size 5, max_overflow 10, pool_timeout 10 s, pre-ping, connect timeout 5 s), and
uvicorn runs with the settings portside gives it (one worker, access log and lifespan off,
no log config, no server header, the socket bound beforehand)::

    python benchmarks/http_handwritten.py --port 0 \\
        --url postgresql+asyncpg://postgres@127.0.0.1:5432/test --schema bench_x

It prints ``listening http://HOST:PORT`` once the server accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import os
import re
import socket
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, HTTPException, Path, Response, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import (
    Column,
    DateTime,
    Double,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "TELEMETRY_OFF",
    "NewUser",
    "Relay",
    "User",
    "UserCache",
    "create_app",
    "main",
    "make_engine",
    "relaying",
    "server_arguments",
    "tables",
]

NAME_MAX = 64
DEPARTMENT_MAX = 64
CACHE_TTL = 300.0
CACHE_ENTRIES = 10_000
EVENT_TYPE = "users.UserRegistered"


# -- wire types ------------------------------------------------------------------------------


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=NAME_MAX)
    department: str | None = Field(default=None, max_length=DEPARTMENT_MAX)


class User(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    department: str | None
    created: AwareDatetime


# -- tables ----------------------------------------------------------------------------------


def tables(schema: str | None) -> tuple[Table, Table]:
    """``users`` and ``portside_outbox`` in ``schema``, as the migrations created them."""
    metadata = MetaData(schema=schema)
    users = Table(
        "users",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("name", String(64), nullable=False),
        Column("department", String(64), nullable=True),
        Column("created", DateTime(timezone=True), nullable=False),
        Column("version", Integer, nullable=False),
    )
    outbox = Table(
        "portside_outbox",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("message_id", String(64), nullable=False),
        Column("topic", String(191), nullable=False),
        Column("key", String(191), nullable=True),
        Column("body", Text, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("lease_owner", String(64), nullable=True),
        Column("lease_until", Double, nullable=True),
        Column("attempts", Integer, nullable=False),
        Column("last_error", Text, nullable=True),
    )
    return users, outbox


# -- the outbox relay ------------------------------------------------------------------------


class Relay:
    """Publishes what ``POST /users`` wrote to the outbox, as the users service's relay
    does (``portside.messaging.OutboxRelay`` with ``relay_min_interval_seconds`` 0.05 on
    PostgreSQL), written directly: a commit wakes it; a pass leases up to ``batch`` of the
    oldest free rows in one ``UPDATE ... RETURNING`` (``FOR UPDATE SKIP LOCKED``),
    publishes them and deletes them, each statement on its own in autocommit; a pass that
    found less than a full batch is followed by the next no sooner than ``min_interval``
    after it began, and with nothing to wake it, it looks again after ``idle`` seconds.

    Nothing in this process subscribes to the events, as nothing in the users service
    does: publishing hands each one to :attr:`published`, which keeps the last 1,000.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Table,
        *,
        batch: int = 100,
        min_interval: float = 0.05,
        idle: float = 1.0,
        lease_seconds: float = 30.0,
    ) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.batch, self.min_interval, self.idle = batch, min_interval, idle
        self.lease_seconds = lease_seconds
        self.owner = f"relay-{uuid.uuid4().hex[:12]}"
        self.published: deque[tuple[str, str, str | None, str]] = deque(maxlen=1000)
        self.relayed = 0
        self._wake = asyncio.Event()
        free = outbox.c.lease_until.is_(None) | (outbox.c.lease_until < bindparam("now"))
        oldest = (
            select(outbox.c.id)
            .where(free)
            .order_by(outbox.c.id)
            .limit(bindparam("batch"))
            .with_for_update(skip_locked=True)
        )
        self._claim = (
            update(outbox)
            .where(outbox.c.id.in_(oldest), free)
            .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"))
            .returning(
                outbox.c.id, outbox.c.message_id, outbox.c.topic, outbox.c.key, outbox.c.body
            )
        )
        self._delete = delete(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True)))

    def kick(self) -> None:
        """A commit wrote to the outbox: look now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """One pass; how many events it published."""
        now = time.time()
        given = {"now": now, "batch": self.batch, "owner": self.owner}
        async with self.engine.connect() as connection:
            rows = (
                await connection.execute(self._claim, {**given, "until": now + self.lease_seconds})
            ).all()
        if not rows:
            return 0
        for row in sorted(rows, key=lambda r: int(r.id)):  # in the order they were committed
            self.published.append((row.message_id, row.topic, row.key, row.body))
        async with self.engine.connect() as connection:
            await connection.execute(self._delete, {"ids": [int(row.id) for row in rows]})
        self.relayed += len(rows)
        return len(rows)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            self._wake.clear()  # before looking: a kick while it looks is not lost
            if await self.run_once() >= self.batch:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle):
                    await self._wake.wait()
            rest = began + self.min_interval - loop.time()
            if rest > 0:
                await asyncio.sleep(rest)


def make_engine(url: str) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=5,
        max_overflow=10,
        pool_timeout=10.0,
        pool_pre_ping=True,
        connect_args={"timeout": 5.0},
    )


# -- the read cache --------------------------------------------------------------------------


class UserCache:
    """Users by id in this process: least recently used ones make room, an entry expires
    ``ttl`` seconds after it was stored (monotonic clock)."""

    def __init__(self, ttl: float = CACHE_TTL, max_entries: int = CACHE_ENTRIES) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: OrderedDict[str, tuple[User, float]] = OrderedDict()

    def get(self, user_id: str) -> User | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        user, expires = entry
        if time.monotonic() >= expires:
            del self._entries[user_id]
            return None
        self._entries.move_to_end(user_id)
        return user

    def put(self, user: User) -> None:
        self._entries[user.id] = (user, time.monotonic() + self.ttl)
        self._entries.move_to_end(user.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


# -- correlation id --------------------------------------------------------------------------

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "handwritten_correlation_id", default=None
)
_HEADER = b"x-correlation-id"
SAFE_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


class CorrelationId:
    """Binds the caller's ``X-Correlation-ID`` (or a new one) and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                given = value.decode("latin-1")
        value = given if given is not None and SAFE_ID.match(given) else uuid.uuid4().hex
        token = correlation_id.set(value)
        echoed = (_HEADER, value.encode())

        async def send_echoing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        try:
            await self.app(scope, receive, send_echoing)
        finally:
            correlation_id.reset(token)


# -- the app ---------------------------------------------------------------------------------


def _invalid(field: str, message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


def clean(body: NewUser) -> tuple[str, str | None]:
    """The stored name and department: stripped, the name 1 to 64 characters, a blank
    department none."""
    name = body.name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise _invalid("name", f"must be 1 to {NAME_MAX} characters")
    department = body.department.strip() if body.department is not None else None
    if department is not None and len(department) > DEPARTMENT_MAX:
        raise _invalid("department", f"must be at most {DEPARTMENT_MAX} characters")
    return name, department or None


def envelope(user_id: str, name: str, department: str | None) -> tuple[str, str]:
    """``(message_id, body)`` of the ``UserRegistered`` event, as the outbox stores it."""
    message_id = os.urandom(16).hex()
    body = json.dumps(
        {
            "message_id": message_id,
            "type": EVENT_TYPE,
            "version": 1,
            "occurred_at": datetime.now(UTC).isoformat(),
            "correlation_id": correlation_id.get() or os.urandom(16).hex(),
            "causation_id": None,
            "traceparent": None,
            "key": user_id,
            "reply_to": None,
            "headers": {},
            "payload": {"user_id": user_id, "name": name, "department": department},
        },
        separators=(",", ":"),
    )
    return message_id, body


TELEMETRY_OFF: Any = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's own OpenTelemetry instrumentation off, as portside's app has it unless
``[http] telemetry`` is set. FastAPI's default looks the global OpenTelemetry providers up
on every request, configured or not; off in both apps, the two compare for their layers
(``http_split.py`` counts what the default costs)."""


def create_app(
    engine: AsyncEngine,
    schema: str | None,
    *,
    cache: UserCache | None = None,
    telemetry: bool = False,
    relay: Relay | None = None,
) -> Any:
    """The ASGI app (FastAPI inside the correlation-id middleware) on ``engine``;
    ``telemetry`` keeps FastAPI's default, its own OpenTelemetry instrumentation; a
    ``relay`` is woken by each registration's commit."""
    users, outbox = tables(schema)
    cache = cache or UserCache()
    app = FastAPI(
        title="users (hand-written)",
        redoc_url=None,
        telemetry=None if telemetry else TELEMETRY_OFF,
    )

    def duplicate(name: str) -> JSONResponse:
        return JSONResponse({"detail": f"duplicate user for {name}"}, status_code=409)

    @app.post("/users", status_code=status.HTTP_201_CREATED, response_model=User)
    async def register_user(body: NewUser, response: Response) -> Any:
        name, department = clean(body)
        now = datetime.now(UTC)
        user = User(id=uuid.uuid4().hex, name=name, department=department, created=now)
        message_id, event = envelope(user.id, name, department)
        try:
            async with engine.begin() as connection:
                taken = await connection.execute(select(users.c.id).where(users.c.name == name))
                if taken.first() is not None:
                    return duplicate(name)
                await connection.execute(
                    insert(users).values(
                        id=user.id,
                        name=name,
                        department=department,
                        created=user.created,
                        version=1,
                    )
                )
                await connection.execute(
                    insert(outbox).values(
                        message_id=message_id,
                        topic=EVENT_TYPE,
                        key=user.id,
                        body=event,
                        created_at=time.time(),
                        attempts=0,
                    )
                )
        except IntegrityError:  # another request took the name since the look-up
            return duplicate(name)
        if relay is not None:
            relay.kick()
        response.headers["Location"] = f"/users/{user.id}"
        return user

    @app.get("/users/{user_id}", response_model=User)
    async def get_user(
        user_id: Annotated[str, Path(min_length=1, max_length=64)],
    ) -> Any:
        user = cache.get(user_id)
        if user is not None:
            return user
        async with engine.connect() as connection:
            row = (await connection.execute(select(users).where(users.c.id == user_id))).first()
        if row is None:
            detail = f"user {user_id!r} does not exist"
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=detail)
        user = User(id=row.id, name=row.name, department=row.department, created=row.created)
        cache.put(user)
        return user

    return CorrelationId(app)


# -- serving ---------------------------------------------------------------------------------


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket, as ``loop.create_server(host=..., port=...)`` makes it.

    The protocol is named (``IPPROTO_TCP``, not 0) because asyncio turns Nagle's algorithm
    off (``TCP_NODELAY``) only on connections of such a socket; without it the body that
    uvicorn writes after the headers waits for the client's delayed ACK, ~40 ms per
    response on a keep-alive connection.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)  # noqa: FBT003 - the standard library's signature
    return sock


@contextlib.asynccontextmanager
async def relaying(relay: Relay) -> AsyncIterator[Relay]:
    """``relay`` running in a task of its own until the block ends."""
    task = asyncio.create_task(relay.run(), name="outbox relay")
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def serve(args: argparse.Namespace) -> None:
    engine = make_engine(args.url)
    sock = bind(args.host, args.port)
    relay = Relay(engine, tables(args.schema)[1])
    config = uvicorn.Config(
        create_app(engine, args.schema, relay=relay),
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    server = uvicorn.Server(config)
    started = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await started(sockets)
        if server.started:
            print(f"listening http://{args.host}:{sock.getsockname()[1]}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    try:
        async with relaying(relay):
            await server.serve(sockets=[sock])
    finally:
        await engine.dispose()


def server_arguments(description: str, argv: list[str] | None) -> argparse.Namespace:
    """The command line of a hand-written server: ``--host``, ``--port``, ``--url`` and
    ``--schema``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url", required=True, help="postgresql+asyncpg://...")
    parser.add_argument("--schema", default=None, help="the schema holding the tables")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(server_arguments(__doc__.splitlines()[0], argv)))


if __name__ == "__main__":
    main()
