"""Correlation ids and service names: binding, restoring, and propagation across tasks."""

import asyncio
import contextvars
import string

import pytest

from portside.observability import (
    bind_correlation_id,
    bind_service_name,
    get_correlation_id,
    get_service_name,
    new_correlation_id,
    reset_correlation_id,
    reset_service_name,
    set_correlation_id,
    set_service_name,
)


def test_nothing_is_bound_by_default() -> None:
    assert get_correlation_id() is None
    assert get_service_name() is None


def test_new_correlation_id_is_fresh_uuid_hex() -> None:
    ids = {new_correlation_id() for _ in range(100)}
    assert len(ids) == 100
    for value in ids:
        assert len(value) == 32
        assert set(value) <= set(string.hexdigits.lower())


def test_set_and_reset_correlation_id() -> None:
    outer = set_correlation_id("outer")
    try:
        inner = set_correlation_id("inner")
        assert get_correlation_id() == "inner"
        reset_correlation_id(inner)
        assert get_correlation_id() == "outer"
    finally:
        reset_correlation_id(outer)
    assert get_correlation_id() is None


def test_bind_sets_the_given_id_and_restores_none() -> None:
    with bind_correlation_id("abc") as bound:
        assert bound == "abc"
        assert get_correlation_id() == "abc"
    assert get_correlation_id() is None


def test_bind_without_value_generates_a_new_id() -> None:
    with bind_correlation_id() as first:
        assert get_correlation_id() == first
        assert len(first) == 32
    with bind_correlation_id() as second:
        assert second != first


def test_nested_binds_restore_the_enclosing_id() -> None:
    with bind_correlation_id("outer"):
        with bind_correlation_id("inner"):
            assert get_correlation_id() == "inner"
        assert get_correlation_id() == "outer"
    assert get_correlation_id() is None


def test_bind_restores_the_previous_id_when_the_block_raises() -> None:
    with bind_correlation_id("outer"):
        with pytest.raises(RuntimeError), bind_correlation_id("inner"):
            raise RuntimeError("boom")
        assert get_correlation_id() == "outer"


def test_bind_service_name_sets_and_restores() -> None:
    with bind_service_name("users") as name:
        assert name == "users"
        assert get_service_name() == "users"
        with bind_service_name("orders"):
            assert get_service_name() == "orders"
        assert get_service_name() == "users"
    assert get_service_name() is None


def test_bind_service_name_restores_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), bind_service_name("users"):
        raise RuntimeError("boom")
    assert get_service_name() is None


def test_set_and_reset_service_name() -> None:
    token = set_service_name("billing")
    assert get_service_name() == "billing"
    reset_service_name(token)
    assert get_service_name() is None


def test_service_name_and_correlation_id_are_independent() -> None:
    with bind_service_name("users"):
        with bind_correlation_id("abc"):
            assert (get_service_name(), get_correlation_id()) == ("users", "abc")
        assert (get_service_name(), get_correlation_id()) == ("users", None)


def test_values_set_in_a_copied_context_do_not_leak_out() -> None:
    def work() -> str | None:
        set_correlation_id("inside")
        set_service_name("svc")
        return get_correlation_id()

    assert contextvars.copy_context().run(work) == "inside"
    assert get_correlation_id() is None
    assert get_service_name() is None


async def test_task_created_inside_block_keeps_the_id_after_the_block_exits() -> None:
    release = asyncio.Event()

    async def worker() -> tuple[str | None, str | None]:
        await release.wait()
        return get_correlation_id(), get_service_name()

    with bind_service_name("users"), bind_correlation_id("abc"):
        task = asyncio.create_task(worker())
    assert get_correlation_id() is None
    assert get_service_name() is None
    assert not task.done()

    release.set()
    assert await task == ("abc", "users")


async def test_task_created_outside_a_block_sees_no_id() -> None:
    release = asyncio.Event()

    async def worker() -> str | None:
        await release.wait()
        return get_correlation_id()

    task = asyncio.create_task(worker())
    with bind_correlation_id("late"):
        release.set()
        assert await task is None


async def test_concurrent_tasks_each_see_only_their_own_id() -> None:
    both_bound = asyncio.Barrier(2)

    async def worker(value: str) -> tuple[str | None, str | None]:
        with bind_correlation_id(value):
            before = get_correlation_id()
            await both_bound.wait()
            after = get_correlation_id()
        return before, after

    with bind_correlation_id("parent"):
        results = await asyncio.gather(worker("a"), worker("b"))
        assert get_correlation_id() == "parent"
    assert list(results) == [("a", "a"), ("b", "b")]
    assert get_correlation_id() is None


async def test_concurrent_tasks_each_see_only_their_own_service() -> None:
    both_bound = asyncio.Barrier(2)

    async def worker(name: str) -> str | None:
        with bind_service_name(name):
            await both_bound.wait()
            return get_service_name()

    results = await asyncio.gather(worker("users"), worker("orders"))
    assert list(results) == ["users", "orders"]
    assert get_service_name() is None


async def test_id_set_inside_a_task_does_not_reach_the_parent() -> None:
    async def worker() -> None:
        set_correlation_id("child")

    with bind_correlation_id("parent"):
        await asyncio.create_task(worker())
        assert get_correlation_id() == "parent"
