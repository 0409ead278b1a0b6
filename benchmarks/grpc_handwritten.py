"""``RegisterUser`` and ``GetUser`` of the users service's ``users.v1.UserService``,
hand-written with grpc.aio + SQLAlchemy and no portside: the baseline of ``grpc_bench.py``.

It does the work the users service does for these two methods, written directly, with the
service's generated code (``users.contract.proto``):

- ``RegisterUser``: the name stripped and 1 to 64 characters, a blank department stored as
  null, else INVALID_ARGUMENT; in one transaction a look-up of the name, the insert into
  ``users`` and one row in ``portside_outbox`` with the same event envelope (JSON) the
  service writes; the commit wakes ``http_handwritten.py``'s outbox relay, which publishes
  the event and deletes the row. A taken name is ALREADY_EXISTS (also when the unique key
  catches a race).
- ``GetUser``: read through the in-process cache of ``http_handwritten.py`` (least recently
  used, entries expire 300 s after they are stored), which here keeps the reply message
  itself, else from the table; NOT_FOUND for an unknown id.
- Every call sends back ``x-correlation-id`` in its trailing metadata (the caller's, else a
  new one), as portside does, which is also the envelope's correlation id.

The tables, the engine's pool settings and the envelope are ``http_handwritten.py``'s; the
server has the options portside gives its own (message size limits, no port reuse)::

    python benchmarks/grpc_handwritten.py --port 0 \\
        --url postgresql+asyncpg://postgres@127.0.0.1:5432/test --schema bench_x

It prints ``listening grpc://HOST:PORT`` once the server accepts calls.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from http_handwritten import (  # noqa: E402 - benchmarks/ is put on the path just above
    DEPARTMENT_MAX,
    EVENT_TYPE,
    NAME_MAX,
    SAFE_ID,
    Relay,
    UserCache,
    correlation_id,
    envelope,
    make_engine,
    relaying,
    server_arguments,
    tables,
)
from users.contract.proto import users_pb2 as pb  # noqa: E402
from users.contract.proto import users_pb2_grpc  # noqa: E402

__all__ = ["HandwrittenUsers", "main", "serve"]

_KEY = "x-correlation-id"
MESSAGE_MAX = 4 * 1024 * 1024  # portside's [grpc] max_message_bytes default


class HandwrittenUsers(users_pb2_grpc.UserServiceServicer):
    """The two methods over ``engine``, the tables in ``schema``."""

    def __init__(self, engine: AsyncEngine, schema: str | None, relay: Relay | None = None) -> None:
        self.engine = engine
        self.users, self.outbox = tables(schema)
        self.cache = UserCache()
        self.relay = relay  # woken by each registration's commit

    async def RegisterUser(
        self, request: pb.RegisterUserRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.User:
        _correlate(context)
        name = request.name.strip()
        if not 1 <= len(name) <= NAME_MAX:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"name: must be 1 to {NAME_MAX} characters"
            )
        department = request.department.strip() if request.HasField("department") else ""
        if len(department) > DEPARTMENT_MAX:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"department: must be at most {DEPARTMENT_MAX} characters",
            )
        now = datetime.now(UTC)
        user = _message(uuid.uuid4().hex, name, department or None, now)
        message_id, event = envelope(user.id, name, department or None)
        registered = False
        try:
            async with self.engine.begin() as connection:
                taken = await connection.execute(
                    select(self.users.c.id).where(self.users.c.name == name)
                )
                if taken.first() is None:
                    await connection.execute(
                        insert(self.users).values(
                            id=user.id,
                            name=name,
                            department=department or None,
                            created=now,
                            version=1,
                        )
                    )
                    await connection.execute(
                        insert(self.outbox).values(
                            message_id=message_id,
                            topic=EVENT_TYPE,
                            key=user.id,
                            body=event,
                            created_at=time.time(),
                            attempts=0,
                        )
                    )
                    registered = True
        except IntegrityError:  # another call took the name since the look-up
            pass
        if registered:  # committed
            if self.relay is not None:
                self.relay.kick()
            return user
        await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"duplicate user for {name}")
        raise AssertionError("abort raises")  # for the type checker

    async def GetUser(
        self, request: pb.GetUserRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.User:
        _correlate(context)
        user: Any = self.cache.get(request.id)
        if user is not None:
            return user  # type: ignore[no-any-return]
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(self.users).where(self.users.c.id == request.id))
            ).first()
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"user {request.id!r} does not exist")
        assert row is not None
        user = _message(row.id, row.name, row.department, row.created)
        self.cache.put(user)
        return user  # type: ignore[no-any-return]


def _message(user_id: str, name: str, department: str | None, created: datetime) -> pb.User:
    stamp = Timestamp()
    stamp.FromDatetime(created)
    message = pb.User(id=user_id, name=name, created=stamp)
    if department is not None:
        message.department = department
    return message


def _correlate(context: grpc.aio.ServicerContext[Any, Any]) -> None:
    """Bind the caller's correlation id (or a new one) and send it back with the status
    (``abort`` keeps it). The call runs in a task of its own, so the binding ends with
    it."""
    given = None
    for key, value in context.invocation_metadata() or ():
        if key == _KEY:
            given = value
    value = given if isinstance(given, str) and SAFE_ID.match(given) else uuid.uuid4().hex
    correlation_id.set(value)
    context.set_trailing_metadata(((_KEY, value),))


async def serve(args: argparse.Namespace) -> None:
    engine = make_engine(args.url)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MESSAGE_MAX),
            ("grpc.max_send_message_length", MESSAGE_MAX),
            ("grpc.so_reuseport", 0),
        ]
    )
    relay = Relay(engine, tables(args.schema)[1])
    servicer = HandwrittenUsers(engine, args.schema, relay)
    users_pb2_grpc.add_UserServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    await server.start()
    print(f"listening grpc://{args.host}:{port}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        async with relaying(relay):
            await stopping.wait()
            await server.stop(grace=5)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(server_arguments(__doc__.splitlines()[0], argv)))


if __name__ == "__main__":
    main()
