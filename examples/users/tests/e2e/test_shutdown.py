"""Graceful shutdown under load: SIGTERM reaches the users service (in its own process, on
SQLite) in the middle of a burst of requests.

What a graceful stop promises, and what the test holds it to:

* readiness flips first: ``/health/ready`` answers 503 ``{"status": "down", "reason":
  "host is stopping"}`` while the listener still accepts connections;
* a request the service took before the signal completes (in-flight work is drained);
* every request either gets a complete response or is refused cleanly; nothing is cut
  off halfway, and what the service answered 201 to is stored, nothing else is;
* the process exits 0, logs ``stopped`` and no traceback.

The requests are plain HTTP/1.1 over asyncio streams, so the bytes that came back for
each request are known exactly (an HTTP client library would blur a connection closed
before any response with one reset halfway through a response).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, Literal

from portside.testing.process import ServiceProcess

from .conftest import unique, users_config

CONNECTIONS = 16
SIGTERM_AFTER = 150  # complete responses of the burst
#: 503s the burst must get (while the held request keeps the service draining) before the
#: held request may finish, and the stop go on.
REFUSALS_BEFORE_RELEASE = 10

Kind = Literal["response", "refused", "closed", "truncated"]


@dataclass
class Outcome:
    """What came back for one request.

    ``response``: a complete response (status line, headers, ``Content-Length`` bytes of
    body). ``refused``: no connection could be opened (refused, or reset while it was
    being opened: the listener is closed). ``closed``: the connection ended (EOF or
    reset) before a single byte of a response: the service had not read the request, so
    it had no effect. ``truncated``: it ended after some bytes of a response and before
    its last, which a graceful stop must never do.
    """

    method: str
    path: str
    kind: Kind
    name: str | None = None  # the user a POST registers
    received: bytes = b""
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.kind} {self.status or ''} {self.received!r}"


class Connection:
    """One keep-alive HTTP/1.1 connection, reopened after the service closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.buffer = bytearray()

    async def open(self) -> bool:
        """Whether a connection is open (one is opened when none is); False when refused."""
        if self.writer is None:
            try:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            except (ConnectionRefusedError, ConnectionResetError):  # the listener is closed
                return False
            self.buffer.clear()
        return True

    async def write(self, data: bytes) -> bool:
        """Whether ``data`` was handed to the network; False when the peer reset it."""
        assert self.writer is not None
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            return False
        return True

    async def _fill(self) -> bool:
        assert self.reader is not None
        try:
            chunk = await self.reader.read(65536)
        except ConnectionResetError:
            return False
        self.buffer += chunk
        return bool(chunk)

    async def read(self, outcome: Outcome) -> Outcome:
        """Read one response into ``outcome``: ``response`` when it is complete, else
        ``closed`` (no byte of it came) or ``truncated``."""
        received = len(self.buffer)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if not await self._fill():
                return self._ended(outcome, received)
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(lines[0].split()[1])
        assert "transfer-encoding" not in headers, lines
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < end + 4 + length:
            if not await self._fill():
                return self._ended(outcome, received)
        outcome.kind, outcome.status, outcome.headers = "response", status, headers
        outcome.body = bytes(self.buffer[end + 4 : end + 4 + length])
        outcome.received = bytes(self.buffer[received : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return outcome

    def _ended(self, outcome: Outcome, received: int) -> Outcome:
        outcome.received = bytes(self.buffer[received:])
        outcome.kind = "truncated" if outcome.received else "closed"
        return outcome

    async def send(
        self, method: str, path: str, *, name: str | None = None, headers: Iterable[str] = ()
    ) -> Outcome:
        outcome = Outcome(method, path, "refused", name=name)
        if not await self.open():
            return outcome
        body = None if name is None else json.dumps({"name": name}).encode()
        if not await self.write(request_head(method, path, body, headers) + (body or b"")):
            outcome.kind = "closed"
        else:
            await self.read(outcome)
        if outcome.kind != "response":
            await self.close()
        return outcome

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()
            self.reader = self.writer = None


def request_head(method: str, path: str, body: bytes | None, headers: Iterable[str] = ()) -> bytes:
    """The request line and headers (the body goes after them)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def stored_names(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return [name for (name,) in connection.execute("SELECT name FROM users")]


async def test_sigterm_during_a_burst_drains_and_refuses_cleanly(tmp_path: Path) -> None:
    """Sixteen keep-alive connections send POST /users and GET /users in turn, each until
    its connection is refused; SIGTERM goes once 150 responses are in. A readiness poller
    opens a new connection per poll, as fast as it can, until none opens.

    One more POST is held in flight across the signal: its headers carry
    ``Expect: 100-continue``, so the ``100 Continue`` proves the service is running its
    handler (inside the in-flight tracking); its body is sent only once the poller has
    seen readiness down and the burst has been refused a few times. Until then the drain
    waits for it and the listener stays open: the order (readiness down, new work
    refused, in-flight work finished, listener closed) is forced, not left to timing.

    Accepted for each request of the burst:

    * a complete response: POST 201 or GET 200 (taken before the signal), or 503
      problem+json with ``Connection: close`` (refused by the stopping host);
    * no connection opened (refused, or reset while opening): the listener is closed;
    * the connection closed (EOF or reset) before any byte of a response: the service had
      not read the request (it closed an idle keep-alive connection, or a connection still
      in its listener's backlog), so the request had no effect.

    Not accepted: a response cut off after its first byte and before its last, or any
    other status. The users stored afterwards are exactly the ones answered 201: a
    refused or unanswered POST left nothing behind."""
    database = tmp_path / "users.db"
    storage = f'provider = "sql"\nurl = "sqlite+aiosqlite:///{database}"\n'
    service = ServiceProcess(users_config(tmp_path, storage))
    with service:
        host, _, port_text = service.host_port("http").rpartition(":")
        port = int(port_text)
        outcomes: list[Outcome] = []
        readiness: list[tuple[Any, ...]] = []
        ready_up = asyncio.Event()
        ready_down = asyncio.Event()
        release = asyncio.Event()
        complete = refusals = 0

        def record(outcome: Outcome) -> None:
            nonlocal complete, refusals
            outcomes.append(outcome)
            complete += outcome.kind == "response"
            if outcome.kind == "response" and complete == SIGTERM_AFTER:
                service.signal(signal.SIGTERM)
            refusals += outcome.status == 503
            if refusals >= REFUSALS_BEFORE_RELEASE:
                release.set()

        async def burst() -> None:
            """POST /users and GET /users in turn, until the listener refuses."""
            connection = Connection(host, port)
            try:
                while True:
                    for method, path, name in (
                        ("POST", "/users", unique("burst")),
                        ("GET", "/users?limit=10", None),
                    ):
                        outcome = await connection.send(method, path, name=name)
                        record(outcome)
                        if outcome.kind == "refused":
                            return
            finally:
                await connection.close()

        async def poll_readiness() -> None:
            """Poll until no connection opens; what a load balancer would see."""
            while True:
                connection = Connection(host, port)
                try:
                    polled = await connection.send(
                        "GET", "/health/ready", headers=["Connection: close"]
                    )
                finally:
                    await connection.close()
                if polled.kind != "response":
                    readiness.append((polled.kind, polled.received))
                    ready_up.set()
                    ready_down.set()
                    release.set()
                    return
                report = polled.json()
                readiness.append((polled.status, report["status"], report.get("reason")))
                (ready_up if polled.status == 200 else ready_down).set()

        held_name = unique("held")
        held_body = json.dumps({"name": held_name}).encode()
        held = Connection(host, port)
        try:
            async with asyncio.timeout(60), asyncio.TaskGroup() as tasks:
                assert await held.open()
                assert await held.write(
                    request_head("POST", "/users", held_body, ["Expect: 100-continue"])
                )
                continued = await held.read(Outcome("POST", "/users", "closed"))
                assert (continued.kind, continued.status) == ("response", 100), continued

                tasks.create_task(poll_readiness())
                await ready_up.wait()
                assert readiness[0][:2] == (200, "up"), readiness
                for _ in range(CONNECTIONS):
                    tasks.create_task(burst())
                await ready_down.wait()
                assert any(r[0] == 503 for r in readiness), f"never down: {readiness[-3:]}"
                await release.wait()
                assert await held.write(held_body)
                finished = await held.read(Outcome("POST", "/users", "closed", name=held_name))
        finally:
            await held.close()
        returncode = await asyncio.to_thread(service.wait, 30)

    # The held request, in flight across the signal, completed.
    assert (finished.kind, finished.status) == ("response", 201), finished
    assert finished.json()["name"] == held_name

    # Readiness: up, then down because the host is stopping, answered on new connections
    # (the listener was open), then no connection at all; never up again.
    phases = [key for key, _ in groupby(r[0] if r[0] in (200, 503) else "gone" for r in readiness)]
    assert phases == [200, 503, "gone"], readiness
    assert {r[1:] for r in readiness if r[0] == 200} == {("up", None)}
    assert {r[1:] for r in readiness if r[0] == 503} == {("down", "host is stopping")}

    # Every request of the burst completed or was refused cleanly.
    truncated = [str(o) for o in outcomes if o.kind == "truncated"]
    assert not truncated, truncated
    expected = {"POST": {201, 503}, "GET": {200, 503}}
    for outcome in (o for o in outcomes if o.kind == "response"):
        assert outcome.status in expected[outcome.method], str(outcome)
        body = outcome.json()  # a complete body that is JSON
        if outcome.status == 503:
            assert outcome.headers["content-type"] == "application/problem+json", str(outcome)
            assert outcome.headers["connection"] == "close", str(outcome)
            assert body["status"] == 503, str(outcome)
        elif outcome.method == "POST":
            assert body["name"] == outcome.name, str(outcome)
        else:
            assert isinstance(body["items"], list), str(outcome)
    kinds = {(o.kind, o.status) for o in outcomes}
    assert {("response", 201), ("response", 200), ("response", 503)} <= kinds, kinds

    # What was answered 201 is stored; nothing refused or unanswered is.
    created = [held_name, *(str(o.name) for o in outcomes if o.status == 201)]
    assert sorted(stored_names(database)) == sorted(created)

    assert returncode == 0, service.output
    assert any("in-flight work" in line for line in service.lines), service.output  # drained
    assert any(line.endswith(" stopped") for line in service.lines), service.output
    assert "Traceback" not in service.output, service.output
