"""Handling deliveries concurrently while keeping one key's deliveries in arrival order.

The broker transports share this: each delivery runs as a task; a delivery whose key is
still being handled waits for the one before it (only for it to finish: its outcome is its
own, and cancelling the waiter still works).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["KeyedTasks"]


class KeyedTasks:
    def __init__(self) -> None:
        self.running: set[asyncio.Task[None]] = set()
        self._last_by_key: dict[str, asyncio.Task[None]] = {}
        self._room: asyncio.Future[None] | None = None  # awaited by one_done

    def __len__(self) -> int:
        return len(self.running)

    def spawn(self, key: str | None, handle: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``handle()`` as a task, after the previous task of ``key`` has finished."""
        before = self._last_by_key.get(key) if key else None
        if before is None:
            task = asyncio.create_task(handle())
        else:
            task = asyncio.create_task(_run_after(before, handle))
        self.running.add(task)
        task.add_done_callback(self._finished)
        if key:
            self._last_by_key[key] = task
            task.add_done_callback(self._forget(key))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)

    def _forget(self, key: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(task: asyncio.Task[None]) -> None:
            if self._last_by_key.get(key) is task:
                del self._last_by_key[key]

        return forget

    async def one_done(self) -> None:
        """Wait until at least one running task finishes (at once if none is running).

        One future for every waiter, resolved by the next task to finish: the consumers
        wait here whenever their prefetch is used up, so the wait does not touch each
        running task (as ``asyncio.wait`` would).
        """
        if not self.running:
            return
        room = self._room
        if room is None or room.done():  # a cancelled wait leaves a done future behind
            room = self._room = asyncio.get_running_loop().create_future()
        await asyncio.shield(room)

    async def drain(self, seconds: float) -> None:
        """Wait up to ``seconds`` for the running tasks, then cancel what is left."""
        if self.running:
            await asyncio.wait(set(self.running), timeout=seconds)
        for task in list(self.running):
            task.cancel()


async def _run_after(
    before: asyncio.Task[None], handle: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    await asyncio.wait({before})
    await handle()
