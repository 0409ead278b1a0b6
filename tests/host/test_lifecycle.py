"""Lifecycle hooks: start in order, roll back on failure, stop in reverse, all of them."""

import asyncio
import threading

import pytest

from portside.host import HookError, Lifecycle, StartError


def recorder(log: list[str], name: str, *, fail: bool = False):  # type: ignore[no-untyped-def]
    async def hook() -> None:
        log.append(name)
        if fail:
            raise RuntimeError(f"{name} broke")

    hook.__qualname__ = name
    return hook


async def test_start_hooks_run_in_order_and_stop_hooks_in_reverse() -> None:
    log: list[str] = []
    lifecycle = Lifecycle()
    for name in ("db", "bus", "http"):
        lifecycle.append(
            on_start=recorder(log, f"start {name}"), on_stop=recorder(log, f"stop {name}")
        )
    await lifecycle.start(hook_seconds=1, stop_seconds=1)
    assert await lifecycle.stop(hook_seconds=1) == []
    assert log == ["start db", "start bus", "start http", "stop http", "stop bus", "stop db"]


async def test_a_failed_start_stops_what_already_started_in_reverse() -> None:
    log: list[str] = []
    lifecycle = Lifecycle()
    lifecycle.append(on_start=recorder(log, "start db"), on_stop=recorder(log, "stop db"))
    lifecycle.on_stop(recorder(log, "stop metrics"))
    lifecycle.append(
        on_start=recorder(log, "start bus", fail=True), on_stop=recorder(log, "stop bus")
    )
    lifecycle.append(on_start=recorder(log, "start http"), on_stop=recorder(log, "stop http"))
    with pytest.raises(StartError, match="start hook 'start bus' failed: RuntimeError"):
        await lifecycle.start(hook_seconds=1, stop_seconds=1)
    assert log == ["start db", "start bus", "stop metrics", "stop db"]


async def test_every_stop_hook_runs_even_when_some_fail() -> None:
    log: list[str] = []
    lifecycle = Lifecycle()
    lifecycle.on_stop(recorder(log, "first"))
    lifecycle.on_stop(recorder(log, "second", fail=True))
    lifecycle.on_stop(recorder(log, "third", fail=True))
    await lifecycle.start(hook_seconds=1, stop_seconds=1)
    failures = await lifecycle.stop(hook_seconds=1)
    assert log == ["third", "second", "first"]
    assert [f.hook for f in failures] == ["third", "second"]
    assert all(isinstance(f, HookError) for f in failures)


async def test_a_stop_hook_that_hangs_is_cut_off_and_the_rest_still_run() -> None:
    log: list[str] = []
    never = asyncio.Event()

    async def hangs() -> None:
        await never.wait()

    lifecycle = Lifecycle()
    lifecycle.on_stop(recorder(log, "after"))
    lifecycle.on_stop(hangs, name="hangs")
    await lifecycle.start(hook_seconds=1, stop_seconds=1)
    failures = await lifecycle.stop(hook_seconds=0.05)
    assert [str(f) for f in failures] == ["stop hook 'hangs' timed out"]
    assert log == ["after"]


async def test_a_start_hook_that_hangs_times_out_and_rolls_back() -> None:
    log: list[str] = []
    never = asyncio.Event()

    async def hangs() -> None:
        await never.wait()

    lifecycle = Lifecycle()
    lifecycle.append(on_start=recorder(log, "start db"), on_stop=recorder(log, "stop db"))
    lifecycle.on_start(hangs, name="slow server")
    with pytest.raises(StartError, match="start hook 'slow server' timed out"):
        await lifecycle.start(hook_seconds=0.05, stop_seconds=1)
    assert log == ["start db", "stop db"]


async def test_sync_hooks_run_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    lifecycle = Lifecycle()
    lifecycle.append(on_start=lambda: seen.append(threading.get_ident()), on_stop=lambda: None)
    await lifecycle.start(hook_seconds=1, stop_seconds=1)
    assert seen
    assert seen[0] != loop_thread
    assert await lifecycle.stop(hook_seconds=1) == []


def test_a_hook_needs_something_to_run() -> None:
    with pytest.raises(ValueError, match="needs on_start, on_stop, or both"):
        Lifecycle().append()
