"""KeyedTasks, which the broker transports run deliveries on: one key's deliveries in
arrival order, and ``one_done`` to wait for room when the prefetch is used up."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from portside.messaging._keyed import KeyedTasks


class Gate:
    """A handler that says when it started and finishes when released."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log
        self.started, self.release = asyncio.Event(), asyncio.Event()

    def handle(self) -> Callable[[], Coroutine[Any, Any, None]]:
        async def handle() -> None:
            self.log.append(f"{self.name} started")
            self.started.set()
            await self.release.wait()
            self.log.append(f"{self.name} done")

        return handle


async def test_one_done_returns_at_once_when_nothing_runs() -> None:
    await asyncio.wait_for(KeyedTasks().one_done(), timeout=5)


async def test_one_done_waits_until_a_task_finishes() -> None:
    tasks, log = KeyedTasks(), []
    a, b = Gate("a", log), Gate("b", log)
    tasks.spawn(None, a.handle())
    tasks.spawn(None, b.handle())
    await a.started.wait()
    await b.started.wait()
    waiter = asyncio.create_task(tasks.one_done())
    await asyncio.wait({waiter}, timeout=0.05)
    assert not waiter.done()  # both still run
    b.release.set()
    await asyncio.wait_for(waiter, timeout=5)
    assert len(tasks) == 1
    a.release.set()
    await asyncio.wait_for(tasks.one_done(), timeout=5)
    assert len(tasks) == 0


async def test_a_cancelled_wait_leaves_the_next_one_working() -> None:
    tasks, log = KeyedTasks(), []
    a, b = Gate("a", log), Gate("b", log)
    tasks.spawn(None, a.handle())
    tasks.spawn(None, b.handle())
    await a.started.wait()
    cancelled = asyncio.create_task(tasks.one_done())
    await asyncio.wait({cancelled}, timeout=0.05)
    cancelled.cancel()
    await asyncio.wait({cancelled})
    assert cancelled.cancelled()
    waiters = [asyncio.create_task(tasks.one_done()) for _ in range(2)]
    await asyncio.wait(waiters, timeout=0.05)
    waiters[0].cancel()  # one waiter given up does not cancel the other
    a.release.set()
    await asyncio.wait_for(waiters[1], timeout=5)
    assert waiters[0].cancelled()
    assert len(tasks) == 1
    b.release.set()
    await asyncio.wait_for(tasks.drain(5), timeout=10)


async def test_one_keys_tasks_run_in_arrival_order_and_other_keys_do_not_wait() -> None:
    tasks, log = KeyedTasks(), []
    first, second, other = Gate("k1-first", log), Gate("k1-second", log), Gate("k2", log)
    tasks.spawn("k1", first.handle())
    tasks.spawn("k1", second.handle())
    tasks.spawn("k2", other.handle())
    await first.started.wait()
    await other.started.wait()  # another key runs while k1's first is still running
    second.release.set()  # released early, it still waits for the first of its key
    other.release.set()
    second_started = asyncio.create_task(second.started.wait())
    await asyncio.wait({second_started}, timeout=0.05)
    assert not second_started.done()
    first.release.set()
    await asyncio.wait_for(second_started, timeout=5)
    await asyncio.wait_for(tasks.drain(5), timeout=10)
    assert log.index("k1-first done") < log.index("k1-second started")


async def test_deliveries_one_after_the_other_share_one_worker() -> None:
    tasks, seen = KeyedTasks(), []
    for n in range(20):

        async def handle(n: int = n) -> None:
            seen.append((n, asyncio.current_task()))

        tasks.spawn(None, handle)
        await asyncio.wait_for(tasks.one_done(), timeout=5)
    assert [n for n, _ in seen] == list(range(20))
    assert len({task for _, task in seen}) == 1  # no task per delivery
    await tasks.drain(5)


async def test_the_pool_grows_to_the_deliveries_in_hand_and_no_further() -> None:
    tasks, log = KeyedTasks(), []
    gates = [Gate(f"g{n}", log) for n in range(5)]
    for gate in gates:
        tasks.spawn(None, gate.handle())
    await asyncio.wait_for(asyncio.gather(*(g.started.wait() for g in gates)), timeout=5)
    assert len(tasks) == 5
    assert len(tasks._workers) == 5  # all five run at once
    for gate in gates:
        gate.release.set()
    await asyncio.wait_for(tasks.drain(5), timeout=10)
    assert len(tasks) == 0
    assert not tasks._workers  # drain stops the idle workers too


async def test_a_handling_cancelled_from_inside_leaves_its_key_going() -> None:
    tasks, log = KeyedTasks(), []
    gone = asyncio.get_running_loop().create_future()
    gone.cancel()

    async def awaits_a_cancelled_future() -> None:
        log.append("first")
        await gone  # raises CancelledError in the handling, not in its worker

    after = Gate("second", log)
    tasks.spawn("k", awaits_a_cancelled_future)
    tasks.spawn("k", after.handle())
    await asyncio.wait_for(after.started.wait(), timeout=5)
    after.release.set()
    await asyncio.wait_for(tasks.drain(5), timeout=10)
    assert log == ["first", "second started", "second done"]


async def test_drain_cancels_what_runs_past_its_time_and_drops_what_waits() -> None:
    tasks, log = KeyedTasks(), []
    stuck, behind = Gate("stuck", log), Gate("behind", log)
    tasks.spawn("k", stuck.handle())
    tasks.spawn("k", behind.handle())  # waits behind the stuck one of its key
    await stuck.started.wait()
    await asyncio.wait_for(tasks.drain(0.01), timeout=5)
    assert log == ["stuck started"]  # cancelled, and what waited never ran
    assert len(tasks) == 0
    assert not tasks._workers
