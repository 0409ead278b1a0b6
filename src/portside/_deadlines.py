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

    def limit(self) -> _Limit:
        """``with deadlines.limit():`` (in a task) runs the block within the time limit."""
        return _Limit(self)

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


class _Limit:
    """A plain (not async) context manager: entering and leaving await nothing, so they
    need no coroutine per block."""

    __slots__ = ("cancelling", "deadlines", "expired", "task")

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines
        self.expired = False

    def __enter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a time limit needs a running task")
        self.task, self.cancelling = task, task.cancelling()
        deadlines = self.deadlines
        deadlines._open[self] = monotonic() + deadlines.seconds
        if deadlines._timer is None:
            deadlines._timer = task.get_loop().call_later(deadlines.resolution, deadlines._tick)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        del self.deadlines._open[self]
        # As asyncio.timeout: a timeout only when no other cancellation is pending.
        if (
            self.expired
            and self.task.uncancel() <= self.cancelling
            and exc_type is asyncio.CancelledError
        ):
            raise TimeoutError from exc
