"""Generator factories: the value is what they yield; the rest runs when the owner closes."""

from collections.abc import AsyncIterator, Iterator

import pytest

from portside.di import DIError, ServiceCollection


class Log(list[str]):
    pass


class Engine:
    pass


class Session:
    pass


class Repo:
    def __init__(self, session: Session) -> None:
        self.session = session


class Tracer:
    pass


def build(log: Log) -> ServiceCollection:
    def engine() -> Iterator[Engine]:
        log.append("open engine")
        yield Engine()
        log.append("close engine")

    def session(engine: Engine) -> Iterator[Session]:
        log.append("open session")
        yield Session()
        log.append("close session")

    def repo(session: Session) -> Iterator[Repo]:
        log.append("open repo")
        yield Repo(session)
        log.append("close repo")

    def tracer() -> Iterator[Tracer]:
        log.append("open tracer")
        yield Tracer()
        log.append("close tracer")

    services = ServiceCollection()
    services.add_singleton(Engine, factory=engine)
    services.add_scoped(Session, factory=session)
    services.add_scoped(Repo, factory=repo)
    services.add_transient(Tracer, factory=tracer)
    return services


def test_clean_up_runs_when_the_scope_closes_in_reverse_creation_order() -> None:
    log = Log()
    provider = build(log).build()
    with provider.create_scope() as scope:
        scope.get(Repo)
        scope.get(Tracer)
        assert log == ["open engine", "open session", "open repo", "open tracer"]
    assert log[4:] == ["close tracer", "close repo", "close session"]
    provider.close()
    assert log[-1] == "close engine"


def test_every_scope_cleans_up_its_own() -> None:
    log = Log()
    provider = build(log).build()
    with provider.create_scope() as one:
        one.get(Session)
        with provider.create_scope() as two:
            two.get(Session)
        assert log.count("close session") == 1
    assert log.count("close session") == 2
    assert log.count("open engine") == 1


def test_a_transient_from_the_root_is_cleaned_up_by_the_provider() -> None:
    log = Log()
    with build(log).build() as provider:
        provider.get(Tracer)
        provider.get(Tracer)
    assert log.count("close tracer") == 2


def test_class_implementations_that_are_context_managers_are_not_entered() -> None:
    class Resource:
        entered = False

        def __enter__(self) -> "Resource":
            self.entered = True
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    with ServiceCollection().add_singleton(Resource).build() as provider:
        assert provider.get(Resource).entered is False


def test_every_finalizer_runs_and_failures_are_raised_together() -> None:
    log = Log()

    def first() -> Iterator[Engine]:
        yield Engine()
        log.append("first closed")

    def failing_one() -> Iterator[Session]:
        yield Session()
        raise RuntimeError("session close failed")

    def failing_two(session: Session) -> Iterator[Repo]:
        yield Repo(session)
        raise ValueError("repo close failed")

    services = ServiceCollection()
    services.add_scoped(Engine, factory=first)
    services.add_scoped(Session, factory=failing_one)
    services.add_scoped(Repo, factory=failing_two)
    provider = services.build()
    scope = provider.create_scope()
    scope.get(Engine)
    scope.get(Repo)
    with pytest.raises(ExceptionGroup) as info:
        scope.close()
    assert [type(e) for e in info.value.exceptions] == [ValueError, RuntimeError]
    assert "2 error(s) while closing the scope" in str(info.value)
    assert log == ["first closed"]
    assert scope.closed


def test_closing_twice_is_harmless() -> None:
    log = Log()
    provider = build(log).build()
    scope = provider.create_scope()
    scope.get(Session)
    scope.close()
    scope.close()
    assert log.count("close session") == 1


def test_a_generator_factory_that_never_yields_is_an_error() -> None:
    def broken() -> Iterator[Session]:
        return
        yield Session()  # pragma: no cover

    provider = ServiceCollection().add_scoped(Session, factory=broken).build()
    with provider.create_scope() as scope, pytest.raises(DIError, match="without yielding"):
        scope.get(Session)


def test_a_generator_factory_that_yields_twice_is_reported_on_close() -> None:
    def twice() -> Iterator[Session]:
        yield Session()
        yield Session()

    provider = ServiceCollection().add_scoped(Session, factory=twice).build()
    scope = provider.create_scope()
    scope.get(Session)
    with pytest.raises(ExceptionGroup) as info:
        scope.close()
    assert "yielded more than once" in str(info.value.exceptions[0])


async def test_async_generators_are_closed_by_aclose_in_reverse_order() -> None:
    log = Log()

    async def engine() -> AsyncIterator[Engine]:
        log.append("open engine")
        yield Engine()
        log.append("close engine")

    def session(engine: Engine) -> Iterator[Session]:
        log.append("open session")
        yield Session()
        log.append("close session")

    async def repo(session: Session) -> AsyncIterator[Repo]:
        log.append("open repo")
        yield Repo(session)
        log.append("close repo")

    services = ServiceCollection()
    services.add_scoped(Engine, factory=engine)
    services.add_scoped(Session, factory=session)
    services.add_scoped(Repo, factory=repo)
    async with services.build() as provider, provider.create_scope() as scope:
        await scope.aget(Repo)
    assert log == [
        "open engine",
        "open session",
        "open repo",
        "close repo",
        "close session",
        "close engine",
    ]


async def test_singletons_with_async_clean_up_close_with_the_provider() -> None:
    log = Log()

    async def engine() -> AsyncIterator[Engine]:
        yield Engine()
        log.append("closed")

    provider = ServiceCollection().add_singleton(Engine, factory=engine).build()
    async with provider:
        await provider.aget(Engine)
        assert log == []
    assert log == ["closed"]


async def test_a_sync_close_with_async_clean_up_pending_says_to_use_aclose() -> None:
    async def engine() -> AsyncIterator[Engine]:
        yield Engine()

    provider = ServiceCollection().add_scoped(Engine, factory=engine).build()
    scope = provider.create_scope()
    await scope.aget(Engine)
    with pytest.raises(ExceptionGroup) as info:
        scope.close()
    assert "needs async clean-up" in str(info.value.exceptions[0])
