"""Handling deliveries concurrently while keeping one key's deliveries in arrival order.

The broker transports share this. A delivery's handling runs on a pool of worker tasks
that grows to as many deliveries as are in hand at once (the prefetch bounds that) and
lives until :meth:`KeyedTasks.drain`: a delivery costs a place in a queue, not a task of
its own. A delivery whose key is being handled waits behind it, and the worker that
finishes one delivery of a key goes on with the next of the same key, so one key's
deliveries run in arrival order while other keys' run beside them.

A worker runs one handling after the other in its own context: what a handler binds in
a context variable it must reset (portside's own bindings are reset when handling ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["KeyedTasks"]

log = logging.getLogger("portside.messaging")

Handle = Callable[[], Coroutine[Any, Any, None]]


class KeyedTasks:
    def __init__(self) -> None:
        self._pending = 0  # spawned, not finished
        self._ready: deque[tuple[str | None, Handle]] = deque()
        self._held: dict[str, deque[Handle]] = {}  # by key being handled: what waits behind
        self._workers: set[asyncio.Task[None]] = set()
        self._idle: deque[asyncio.Future[None]] = deque()
        self._room: asyncio.Future[None] | None = None  # awaited by one_done
        self._empty: asyncio.Future[None] | None = None  # awaited by drain

    def __len__(self) -> int:
        """Deliveries spawned and not yet handled (waiting behind their key included)."""
        return self._pending

    def spawn(self, key: str | None, handle: Handle) -> None:
        """Run ``handle()`` on a worker, after the previous handling of ``key`` finished."""
        self._pending += 1
        if key:
            held = self._held.get(key)
            if held is not None:  # its key is being handled: the worker of that key runs it
                held.append(handle)
                return
            self._held[key] = deque()
        self._ready.append((key, handle))
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():  # a worker cancelled while idle left its waiter behind
                waiter.set_result(None)
                return
        if len(self._workers) < self._pending:
            worker = asyncio.create_task(self._work())
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        ready, idle = self._ready, self._idle
        me = asyncio.current_task()
        assert me is not None  # a worker is a task
        while True:
            if not ready:
                waiter = asyncio.get_running_loop().create_future()
                idle.append(waiter)
                await waiter
                continue
            key, handle = ready.popleft()
            while True:
                try:
                    await handle()
                except asyncio.CancelledError:
                    if me.cancelling():  # the worker is stopped
                        raise
                    # The handling awaited something cancelled: that delivery is not
                    # settled and comes back; the worker and its key's queue go on.
                    log.warning("handling a delivery was cancelled; it will be redelivered")
                except Exception:  # the transports settle failures themselves; not this
                    log.exception("handling a delivery failed outside its consumer")
                finally:
                    self._finished()
                if key is None:
                    break
                held = self._held[key]
                if not held:
                    del self._held[key]
                    break
                handle = held.popleft()

    def _finished(self) -> None:
        self._pending -= 1
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)
        if not self._pending:
            empty, self._empty = self._empty, None
            if empty is not None and not empty.done():
                empty.set_result(None)

    async def one_done(self) -> None:
        """Wait until at least one spawned handling finishes (at once if none is pending).

        One future for every waiter, resolved by the next handling to finish: the consumers
        wait here whenever their prefetch is used up.
        """
        if not self._pending:
            return
        room = self._room
        if room is None or room.done():  # a cancelled wait leaves a done future behind
            room = self._room = asyncio.get_running_loop().create_future()
        await asyncio.shield(room)

    async def drain(self, seconds: float) -> None:
        """Wait up to ``seconds`` for what was spawned to be handled, then stop the workers:
        what is still running is cancelled, what waits never runs (unacknowledged, the
        broker delivers it again)."""
        if self._pending:
            empty = self._empty
            if empty is None or empty.done():
                empty = self._empty = asyncio.get_running_loop().create_future()
            await asyncio.wait({empty}, timeout=seconds)
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._ready.clear()
        self._held.clear()
        self._idle.clear()
        self._pending = 0
