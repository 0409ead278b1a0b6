"""Async factories, aget, and single-flight creation across tasks."""

import asyncio

import pytest

from portside.di import ServiceCollection


class Pool:
    pass


class Session:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool


class Repo:
    def __init__(self, session: Session) -> None:
        self.session = session


class Plain:
    pass


class Created(list[str]):
    """Names of what the factories made; ``entered`` is set whenever one starts."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()

    def add(self, name: str) -> None:
        self.append(name)
        self.entered.set()


def services(created: Created, gate: asyncio.Event | None = None) -> ServiceCollection:
    async def pool() -> Pool:
        created.add("pool")
        if gate is not None:
            await gate.wait()
        return Pool()

    async def session(pool: Pool) -> Session:
        created.add("session")
        if gate is not None:
            await gate.wait()
        return Session(pool)

    s = ServiceCollection()
    s.add_singleton(Pool, factory=pool)
    s.add_scoped(Session, factory=session)
    s.add_scoped(Repo)
    s.add_singleton(Plain)
    return s


async def test_aget_resolves_async_factories_with_the_usual_sharing() -> None:
    created = Created()
    provider = services(created).build()
    async with provider.create_scope() as one:
        repo = await one.aget(Repo)
        assert repo.session is await one.aget(Session)
    async with provider.create_scope() as two:
        other = await two.aget(Repo)
    assert other.session is not repo.session
    assert other.session.pool is repo.session.pool is await provider.aget(Pool)
    assert created == ["pool", "session", "session"]


async def test_aget_serves_synchronous_services_too() -> None:
    provider = services(Created()).build()
    assert await provider.aget(Plain) is provider.get(Plain)
    async with provider.create_scope() as scope:
        assert await scope.aget(Plain) is provider.get(Plain)
        assert await scope.aget_all(Plain) == [provider.get(Plain)]
    assert await provider.aget_all(Pool) == [await provider.aget(Pool)]


async def test_a_singleton_is_created_once_under_concurrent_tasks() -> None:
    created = Created()
    gate = asyncio.Event()
    provider = services(created, gate).build()
    tasks = [asyncio.create_task(provider.aget(Pool)) for _ in range(20)]
    await created.entered.wait()  # the first task is in the factory, the rest queue behind
    gate.set()
    results = await asyncio.gather(*tasks)
    assert created == ["pool"]
    assert all(r is results[0] for r in results)


async def test_a_scoped_service_is_created_once_per_scope_under_concurrent_tasks() -> None:
    created = Created()
    gate = asyncio.Event()
    provider = services(created, gate).build()
    gate.set()
    await provider.aget(Pool)
    gate.clear()
    created.clear()
    created.entered.clear()
    async with provider.create_scope() as scope:
        tasks = [asyncio.create_task(scope.aget(Repo)) for _ in range(20)]
        await created.entered.wait()
        gate.set()
        repos = await asyncio.gather(*tasks)
    assert created == ["session"]
    assert len({id(r) for r in repos}) == 1


async def test_a_failed_async_creation_is_raised_to_every_waiter_and_can_be_retried() -> None:
    attempts: list[int] = []
    gate, entered = asyncio.Event(), asyncio.Event()

    async def flaky() -> Pool:
        attempts.append(1)
        entered.set()
        await gate.wait()
        if len(attempts) == 1:
            raise ConnectionError("pool unavailable")
        return Pool()

    provider = ServiceCollection().add_singleton(Pool, factory=flaky).build()
    tasks = [asyncio.create_task(provider.aget(Pool)) for _ in range(5)]
    await entered.wait()
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert isinstance(await provider.aget(Pool), Pool)
    assert len(attempts) == 2


async def test_cancelling_the_creating_task_lets_a_waiter_create_instead() -> None:
    started = asyncio.Event()
    calls: list[int] = []

    async def slow() -> Pool:
        calls.append(1)
        if len(calls) == 1:
            started.set()
            await asyncio.Event().wait()  # never finishes: it is cancelled
        return Pool()

    provider = ServiceCollection().add_singleton(Pool, factory=slow).build()
    first = asyncio.create_task(provider.aget(Pool))
    second = asyncio.create_task(provider.aget(Pool))
    # Tasks run in creation order: by the time this wakes, the first is in the factory and
    # the second waits on the first one's creation.
    await started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert isinstance(await second, Pool)
    assert len(calls) == 2


async def test_a_failed_scoped_creation_is_raised_to_every_waiter_and_can_be_retried() -> None:
    attempts: list[int] = []
    gate, entered = asyncio.Event(), asyncio.Event()

    async def flaky() -> Session:
        attempts.append(1)
        entered.set()
        await gate.wait()
        if len(attempts) == 1:
            raise ConnectionError("no session")
        return Session(Pool())

    provider = ServiceCollection().add_scoped(Session, factory=flaky).build()
    async with provider.create_scope() as scope:
        tasks = [asyncio.create_task(scope.aget(Session)) for _ in range(5)]
        await entered.wait()
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert [type(r) for r in results] == [ConnectionError] * 5
        assert isinstance(await scope.aget(Session), Session)
    assert len(attempts) == 2


async def test_cancelling_the_task_creating_a_scoped_service_lets_a_waiter_create_it() -> None:
    started = asyncio.Event()
    calls: list[int] = []

    async def slow() -> Session:
        calls.append(1)
        if len(calls) == 1:
            started.set()
            await asyncio.Event().wait()  # never finishes: it is cancelled
        return Session(Pool())

    provider = ServiceCollection().add_scoped(Session, factory=slow).build()
    async with provider.create_scope() as scope:
        first = asyncio.create_task(scope.aget(Session))
        second = asyncio.create_task(scope.aget(Session))
        await started.wait()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        created = await second
        assert created is await scope.aget(Session)
    assert len(calls) == 2


async def test_a_cancelled_waiter_leaves_the_scoped_creation_to_the_others() -> None:
    gate, entered = asyncio.Event(), asyncio.Event()

    async def gated() -> Session:
        entered.set()
        await gate.wait()
        return Session(Pool())

    provider = ServiceCollection().add_scoped(Session, factory=gated).build()
    async with provider.create_scope() as scope:
        creator = asyncio.create_task(scope.aget(Session))
        waiter = asyncio.create_task(scope.aget(Session))
        # Tasks run in creation order: by the time this wakes, the waiter waits on the
        # creator's creation.
        await entered.wait()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        gate.set()
        assert await creator is await scope.aget(Session)


class Unit:
    """A scoped service built by a plain class, async only through the ``Pool`` singleton
    (as a unit of work is through its engine)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool


class UseCase:
    def __init__(self, unit: Unit, plain: Plain) -> None:
        self.unit = unit
        self.plain = plain


class Cleaned:
    """A scoped service with clean-up, below the use case."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.closed = False


def per_request(created: Created, closed: list[Cleaned]) -> ServiceCollection:
    def cleaned(unit: Unit):  # type: ignore[no-untyped-def]
        made = Cleaned(unit)
        yield made
        made.closed = True
        closed.append(made)

    s = services(created)
    s.add_scoped(Unit)
    s.add_scoped(Cleaned, factory=cleaned)
    s.add_scoped(UseCase)
    return s


async def test_once_its_singletons_exist_a_scoped_service_resolves_in_one_step() -> None:
    """The common request: a use case whose only async step is a singleton made at start
    is resolved in one step, with its scoped services shared and cleaned up as usual."""
    created, closed = Created(), []
    provider = per_request(created, closed).build()
    async with provider.create_scope() as first:  # makes the Pool singleton
        await first.aget(UseCase)
    async with provider.create_scope() as scope:
        step = scope.aget(UseCase).__await__()
        with pytest.raises(StopIteration) as done:
            step.send(None)  # no await of anything: it finished in its first step
        use_case = done.value.value
        assert isinstance(use_case, UseCase)
        assert use_case.unit is await scope.aget(Unit)
        assert use_case.unit.pool is await provider.aget(Pool)
        cleaned = await scope.aget(Cleaned)
        assert cleaned.unit is use_case.unit
    assert created == ["pool"]
    assert closed == [cleaned]
    assert cleaned.closed


async def test_before_its_singletons_exist_a_scoped_service_waits_for_them() -> None:
    gate = asyncio.Event()
    created = Created()
    s = services(created, gate)
    s.add_scoped(Unit)
    s.add_scoped(UseCase)
    provider = s.build()
    async with provider.create_scope() as scope:
        both = asyncio.gather(scope.aget(UseCase), scope.aget(UseCase))
        await created.entered.wait()  # the Pool's factory is running, held at the gate
        gate.set()
        one, two = await both
    assert one is two
    assert created == ["pool"]


# -- tasks meeting inside a graph: a scoped service made once, whoever asks first --------------


def gated_graph(gate: asyncio.Event, entered: asyncio.Event, calls: list[str]) -> ServiceCollection:
    """``Repo`` over a scoped ``Session`` whose async factory waits at ``gate`` (``entered``
    set once it is waiting) and fails while ``calls`` holds as many "fail" as "session".

    The tests start a second task once the first waits at the gate, then open the gate:
    tasks run in the order they were scheduled, so the second one reaches the creation in
    progress before the first one goes on."""

    async def session() -> Session:
        calls.append("session")
        entered.set()
        await gate.wait()
        if calls.count("fail") >= calls.count("session"):
            raise ConnectionError("no session")
        return Session(Pool())

    s = ServiceCollection()
    s.add_scoped(Session, factory=session)
    s.add_scoped(Repo)
    return s


@pytest.mark.parametrize(
    ("first", "then"),
    [(Repo, Session), (Session, Repo)],
    ids=[
        "a task asks for a service another is making inside its graph",
        "a graph reaches a service another task is making",
    ],
)
async def test_a_scoped_service_being_made_is_the_one_another_task_gets(
    first: type, then: type
) -> None:
    gate, entered, calls = asyncio.Event(), asyncio.Event(), []
    provider = gated_graph(gate, entered, calls).build()
    async with provider.create_scope() as scope:
        making = asyncio.create_task(scope.aget(first))  # makes Session, waiting at the gate
        await entered.wait()
        asking = asyncio.create_task(scope.aget(then))
        gate.set()
        got = {first: await making, then: await asking}
    assert got[Repo].session is got[Session]
    assert calls == ["session"]


async def test_a_failure_inside_a_graph_reaches_the_task_waiting_for_that_service() -> None:
    gate, entered, calls = asyncio.Event(), asyncio.Event(), ["fail"]
    provider = gated_graph(gate, entered, calls).build()
    async with provider.create_scope() as scope:
        repo = asyncio.create_task(scope.aget(Repo))
        await entered.wait()
        session = asyncio.create_task(scope.aget(Session))
        gate.set()
        results = await asyncio.gather(repo, session, return_exceptions=True)
        assert [type(r) for r in results] == [ConnectionError, ConnectionError]
        again = await scope.aget(Repo)  # nothing half-made was kept: it tries again
        assert again.session is await scope.aget(Session)
    assert calls == ["fail", "session", "session"]


async def test_cancelling_a_task_inside_its_graph_lets_the_waiting_task_make_the_service() -> None:
    gate, entered, calls = asyncio.Event(), asyncio.Event(), []
    provider = gated_graph(gate, entered, calls).build()
    async with provider.create_scope() as scope:
        repo = asyncio.create_task(scope.aget(Repo))
        await entered.wait()
        session = asyncio.create_task(scope.aget(Session))
        repo.cancel()
        with pytest.raises(asyncio.CancelledError):
            await repo
        gate.set()
        asked = await session
        assert (await scope.aget(Repo)).session is asked
    assert calls == ["session", "session"]
