"""Time limits for many concurrent requests, kept by one timer.

``asyncio.timeout`` schedules and cancels a timer per block, which is a noticeable part of
serving a small request. :class:`Deadlines` instead records each block's deadline in a
dict and runs one periodic tick (every ``resolution`` seconds, a tenth of the limit by
default) while blocks are open; the tick cancels the tasks past their deadline, and stops
at the first tick that finds no block open (so a lull between requests does not schedule
and cancel a timer per request). A task
is therefore cancelled between ``seconds`` and ``seconds + resolution`` after it entered,
and sees :class:`TimeoutError`, as with ``asyncio.timeout``; a cancellation that came from
elsewhere stays a :class:`asyncio.CancelledError`.

Deadlines are kept on :func:`time.monotonic`, read on entry and by the tick alike (the
event loop's own clock is a method call more on every entry, and under another loop
implementation need not be that clock).
"""

from __future__ import annotations

import asyncio
from time import monotonic
from types import TracebackType
from typing import Any

__all__ = ["Deadlines"]


class Deadlines:
    """Cancels the tasks that stay in a :meth:`limit` block longer than ``seconds``."""

    def __init__(self, seconds: float, *, resolution: float | None = None) -> None:
        if seconds <= 0:
            raise ValueError(f"the time limit must be positive, not {seconds!r}")
        self.seconds = seconds
        self.resolution = resolution or min(max(seconds / 10, 0.005), 1.0)
        self._open: dict[_Limit, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    @property
    def pending(self) -> int:
        """How many :meth:`limit` blocks are open now."""
        return len(self._open)

    @property
    def next_tick(self) -> float | None:
        """The event loop time of the next tick, ``None`` while the timer is stopped."""
        return None if self._timer is None else self._timer.when()

    def limit(self) -> _Block:
        """``with deadlines.limit():`` (in a task) runs the block within the time limit."""
        return _Block(self)

    def enter(self) -> _Limit:
        """Start the time limit of the current task; end it with :meth:`leave`, once,
        whatever happens (``with limit()`` does both)."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a time limit needs a running task")
        # Made without a call to __init__: this runs for every request.
        limit = _new(_Limit)
        limit.task, limit.cancelling, limit.expired = task, task.cancelling(), False
        self._open[limit] = monotonic() + self.seconds
        if self._timer is None:
            self._timer = task.get_loop().call_later(self.resolution, self._tick)
        return limit

    def leave(self, limit: _Limit, cancelled: BaseException | None = None) -> None:
        """End ``limit``. Given the :class:`asyncio.CancelledError` that ended the block,
        raise :class:`TimeoutError` from it when this limit's expiry caused it (as
        ``asyncio.timeout``: only when no other cancellation is pending)."""
        del self._open[limit]
        if cancelled is not None and limit.expired and limit.task.uncancel() <= limit.cancelling:
            raise TimeoutError from cancelled

    def _tick(self) -> None:
        if not self._open:
            self._timer = None
            return
        now = monotonic()
        for limit, deadline in self._open.items():
            if deadline <= now and not limit.expired:
                limit.expired = True
                limit.task.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.resolution, self._tick)


_new = object.__new__


class _Limit:
    """One open time limit: its task, the task's count of pending cancellations when it
    began, and whether a tick cancelled the task for it."""

    __slots__ = ("cancelling", "expired", "task")

    task: asyncio.Task[Any]
    cancelling: int
    expired: bool


class _Block:
    """``with`` over :meth:`Deadlines.enter` and :meth:`Deadlines.leave`: a plain (not
    async) context manager, so entering and leaving need no coroutine."""

    __slots__ = ("deadlines", "limit")

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines
        self.limit: _Limit | None = None

    @property
    def expired(self) -> bool:
        """Whether the time limit ran out in the block (its :class:`TimeoutError` is the
        limit's, not one the block raised itself)."""
        return self.limit is not None and self.limit.expired

    def __enter__(self) -> None:
        self.limit = self.deadlines.enter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.limit is not None  # set on entry
        self.deadlines.leave(self.limit, exc if exc_type is asyncio.CancelledError else None)
