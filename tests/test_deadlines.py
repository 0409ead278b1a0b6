"""One timer for the time limit of many requests: a task past its deadline is cancelled
and sees ``TimeoutError``; any other cancellation stays a cancellation."""

import asyncio

import pytest

from portside._deadlines import Deadlines


async def test_a_task_within_its_limit_is_left_alone() -> None:
    deadlines = Deadlines(5.0)
    with deadlines.limit():
        await asyncio.sleep(0)
    assert deadlines.pending == 0


async def test_a_task_past_its_limit_gets_timeout_error() -> None:
    deadlines = Deadlines(0.05)
    never = asyncio.Event()
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(TimeoutError), deadlines.limit():
        await never.wait()
    waited = loop.time() - began
    assert 0.05 <= waited < 0.05 + 2 * deadlines.resolution + 0.5
    assert deadlines.pending == 0
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_block_tells_its_own_expiry_from_a_timeout_error_it_raised() -> None:
    """What a caller needs to answer "took too long" only when the limit ran out (the gRPC
    calls answer DEADLINE_EXCEEDED then, and classify any other TimeoutError)."""
    deadlines = Deadlines(0.05)
    unused = deadlines.limit()
    assert not unused.expired  # never entered
    expiring = deadlines.limit()
    with pytest.raises(TimeoutError), expiring:
        await asyncio.Event().wait()
    assert expiring.expired
    raising = deadlines.limit()
    with pytest.raises(TimeoutError, match="the store"), raising:
        raise TimeoutError("the store did not answer")
    assert not raising.expired


async def test_each_task_has_its_own_deadline() -> None:
    deadlines = Deadlines(0.05)
    never, release = asyncio.Event(), asyncio.Event()

    async def stuck() -> str:
        with deadlines.limit():
            await never.wait()
        return "finished"

    async def quick() -> str:
        with deadlines.limit():
            await release.wait()
        return "finished"

    slow_task = asyncio.create_task(stuck())
    quick_task = asyncio.create_task(quick())
    await asyncio.sleep(0)
    release.set()
    assert await quick_task == "finished"
    with pytest.raises(TimeoutError):
        await slow_task


async def test_a_cancellation_from_elsewhere_is_not_turned_into_a_timeout() -> None:
    deadlines = Deadlines(5.0)
    entered = asyncio.Event()

    async def work() -> None:
        with deadlines.limit():
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(work())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert deadlines.pending == 0


async def test_the_timer_runs_while_tasks_are_limited_and_stops_at_an_idle_tick() -> None:
    deadlines = Deadlines(0.05)
    loop = asyncio.get_running_loop()
    assert deadlines.next_tick is None
    with deadlines.limit():
        first = deadlines.next_tick
        assert first is not None
        with deadlines.limit():
            pass
        assert deadlines.next_tick == first  # one timer for every open block
    assert deadlines.next_tick == first  # kept through a lull: the next request reuses it
    # Timers run in the order of their times: this callback runs after that tick.
    after_tick = loop.create_future()
    loop.call_at(first + deadlines.resolution / 2, after_tick.set_result, None)
    await after_tick
    assert deadlines.next_tick is None  # the tick found no open block and stopped
    with pytest.raises(TimeoutError), deadlines.limit():
        await asyncio.Event().wait()
    assert deadlines.next_tick is not None


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Deadlines(0)


async def test_enter_and_leave_turn_an_expired_limits_cancellation_into_timeout_error() -> None:
    deadlines = Deadlines(0.05)
    limit = deadlines.enter()
    assert deadlines.pending == 1
    with pytest.raises(asyncio.CancelledError) as cancelled:
        await asyncio.Event().wait()
    with pytest.raises(TimeoutError) as timed_out:
        deadlines.leave(limit, cancelled.value)
    assert timed_out.value.__cause__ is cancelled.value
    assert deadlines.pending == 0
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_leave_passes_over_a_cancellation_from_elsewhere_and_a_normal_end() -> None:
    deadlines = Deadlines(5.0)
    entered = asyncio.Event()

    async def work() -> None:
        limit = deadlines.enter()
        cancelled = None
        try:
            entered.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError as exc:
            cancelled = exc
            raise
        finally:
            deadlines.leave(limit, cancelled)  # not expired: the cancellation goes on

    task = asyncio.create_task(work())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    limit = deadlines.enter()
    deadlines.leave(limit)
    assert deadlines.pending == 0


async def test_enter_needs_a_running_task() -> None:
    loop = asyncio.get_running_loop()
    refused: asyncio.Future[str] = loop.create_future()

    def outside_any_task() -> None:  # a plain callback of the loop
        try:
            Deadlines(1.0).enter()
        except RuntimeError as exc:
            refused.set_result(str(exc))
        else:
            refused.set_result("entered")

    loop.call_soon(outside_any_task)
    assert "needs a running task" in await refused
