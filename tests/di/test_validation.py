"""build() rejects broken graphs before constructing anything, with errors that help."""

from typing import Any, Protocol

import pytest

from portside.di import (
    AsyncResolutionError,
    CircularDependencyError,
    DIError,
    LifetimeError,
    MissingServiceError,
    Module,
    RegistrationError,
    ScopeClosedError,
    ServiceCollection,
)

constructed: list[str] = []


class Session:
    def __init__(self) -> None:
        constructed.append("Session")


class UserRepo:
    def __init__(self, session: Session) -> None:
        constructed.append("UserRepo")


class UserService:
    def __init__(self, repo: UserRepo) -> None:
        constructed.append("UserService")


class OrderService:
    def __init__(self, users: UserService) -> None:
        constructed.append("OrderService")


def chain_modules() -> ServiceCollection:
    users = Module("users").add_scoped(UserService).add_scoped(UserRepo)
    orders = Module("orders").add_scoped(OrderService)
    return ServiceCollection().add_module(orders).add_module(users)


def test_a_missing_dependency_names_the_chain_the_modules_and_a_suggestion() -> None:
    constructed.clear()
    with pytest.raises(MissingServiceError) as info:
        chain_modules().build()
    message = str(info.value)
    assert "chain: OrderService -> UserService -> UserRepo -> Session" in message
    assert "UserRepo needs Session for parameter 'session', which is not registered" in message
    assert "OrderService (scoped, module 'orders')" in message
    assert "UserService (scoped, module 'users')" in message
    assert "UserRepo (scoped, module 'users')" in message
    assert "suggestion: register Session" in message
    assert info.value.service is OrderService
    assert info.value.chain == (OrderService, UserService, UserRepo)
    assert constructed == []  # nothing was built


def test_a_missing_dependency_suggests_a_close_name() -> None:
    class Sessions:
        pass

    with pytest.raises(MissingServiceError, match="did you mean Sessions"):
        chain_modules().add_scoped(Sessions).build()


def test_a_parameter_without_a_type_hint_is_a_missing_dependency() -> None:
    class Untyped:
        def __init__(self, thing) -> None:  # type: ignore[no-untyped-def]
            self.thing = thing

    with pytest.raises(MissingServiceError) as info:
        ServiceCollection().add_singleton(Untyped).build()
    message = str(info.value)
    assert "parameter 'thing' of Untyped.__init__ has no type hint" in message
    assert "annotate parameter 'thing'" in message


def test_an_unregistered_builtin_without_default_is_a_missing_dependency() -> None:
    class Pool:
        def __init__(self, size: int) -> None:
            self.size = size

    with pytest.raises(MissingServiceError) as info:
        ServiceCollection().add_singleton(Pool).build()
    message = str(info.value)
    assert "Pool needs int for parameter 'size', which is a builtin type" in message
    assert "settings class" in message


def test_a_factory_with_a_missing_dependency_is_reported() -> None:
    def make(session: Session) -> UserRepo:
        return UserRepo(session)

    with pytest.raises(MissingServiceError, match="UserRepo needs Session"):
        ServiceCollection().add_scoped(UserRepo, factory=make).build()


def test_an_unresolvable_forward_reference_is_reported() -> None:
    class Late:
        def __init__(self, other: "NotDefinedAnywhere") -> None:  # type: ignore[name-defined] # noqa: F821
            self.other = other

    with pytest.raises(MissingServiceError, match=r"cannot read the type hints of Late\.__init__"):
        ServiceCollection().add_singleton(Late).build()


class A:
    def __init__(self, b: "B") -> None:
        pass


class B:
    def __init__(self, c: "C") -> None:
        pass


class C:
    def __init__(self, a: A) -> None:
        pass


def test_a_cycle_is_printed() -> None:
    services = ServiceCollection().add_scoped(A).add_scoped(B).add_transient(C)
    with pytest.raises(CircularDependencyError) as info:
        services.build()
    message = str(info.value)
    assert "circular dependency: A -> B -> C -> A" in message
    assert "C (transient, module 'root')" in message
    assert info.value.chain == (A, B, C, A)


def test_a_self_dependency_is_a_cycle() -> None:
    class Loop:
        def __init__(self, other: "Loop") -> None:
            pass

    with pytest.raises(CircularDependencyError, match="Loop -> Loop"):
        ServiceCollection().add_singleton(Loop).build()


class Cache:
    def __init__(self, session: Session) -> None:
        pass


class Helper:
    def __init__(self, session: Session) -> None:
        pass


class Registry:
    def __init__(self, helper: Helper) -> None:
        pass


def test_a_singleton_depending_on_a_scoped_service_is_a_captive_dependency() -> None:
    services = ServiceCollection().add_scoped(Session).add_singleton(Cache)
    with pytest.raises(LifetimeError) as info:
        services.build()
    message = str(info.value)
    assert "captive dependency: singleton Cache depends on scoped service Session" in message
    assert "chain: Cache -> Session" in message
    assert "register Cache as scoped" in message


def test_a_captive_dependency_through_transients_is_found() -> None:
    services = ServiceCollection().add_scoped(Session).add_transient(Helper)
    services.add_singleton(Registry)
    with pytest.raises(LifetimeError, match=r"chain: Registry -> Helper -> Session"):
        services.build()


def test_a_singleton_depending_on_a_context_value_is_captive() -> None:
    class Request:
        pass

    class Holder:
        def __init__(self, request: Request) -> None:
            pass

    services = ServiceCollection().add_context(Request).add_singleton(Holder)
    with pytest.raises(LifetimeError, match="depends on context value Request"):
        services.build()


def test_a_scoped_service_from_the_root_provider_is_a_lifetime_error() -> None:
    provider = ServiceCollection().add_scoped(Session).add_transient(UserRepo).build()
    with pytest.raises(LifetimeError, match=r"Session cannot be resolved from the root provider"):
        provider.get(Session)
    with pytest.raises(LifetimeError, match=r"depends on scoped Session \(UserRepo -> Session\)"):
        provider.get(UserRepo)
    with provider.create_scope() as scope:
        assert isinstance(scope.get(UserRepo), UserRepo)


async def test_get_of_a_service_with_an_async_factory_says_to_use_aget() -> None:
    async def open_session() -> Session:
        return Session()

    provider = (
        ServiceCollection()
        .add_scoped(Session, factory=open_session)
        .add_scoped(UserRepo)
        .add_scoped(UserService)
        .build()
    )
    async with provider.create_scope() as scope:
        with pytest.raises(AsyncResolutionError) as info:
            scope.get(UserService)
        assert "UserService -> UserRepo -> Session" in str(info.value)
        assert "await scope.aget(UserService)" in str(info.value)
        assert isinstance(await scope.aget(UserService), UserService)


def test_a_closed_scope_and_a_closed_provider_refuse_every_use() -> None:
    provider = ServiceCollection().add_scoped(Session).add_singleton(UserService, lambda: 1).build()
    with provider.create_scope() as scope:
        scope.get(Session)
    for attempt in (lambda: scope.get(Session), lambda: scope.get_all(Session)):
        with pytest.raises(ScopeClosedError, match="scope is closed"):
            attempt()
    provider.close()
    for attempt in (
        lambda: provider.get(UserService),
        lambda: provider.get_all(UserService),
        provider.create_scope,
    ):
        with pytest.raises(ScopeClosedError, match="provider is closed"):
            attempt()


async def test_aget_on_a_closed_scope_is_refused() -> None:
    async def make() -> Session:
        return Session()

    provider = ServiceCollection().add_scoped(Session, factory=make).build()
    async with provider.create_scope() as scope:
        await scope.aget(Session)
    with pytest.raises(ScopeClosedError):
        await scope.aget(Session)


def test_every_error_derives_from_dierror() -> None:
    for error in (
        MissingServiceError,
        CircularDependencyError,
        LifetimeError,
        ScopeClosedError,
        RegistrationError,
        AsyncResolutionError,
    ):
        assert issubclass(error, DIError)


# -- registration mistakes fail at the add_* call -------------------------------------------


class Port(Protocol):
    def run(self) -> None: ...


class Unrelated:
    pass


@pytest.mark.parametrize(
    ("register", "message"),
    [
        (
            lambda s: s.add_scoped(Session, instance=Session()),  # type: ignore[call-arg]
            "unexpected keyword",
        ),
        (
            lambda s: s.add_singleton(Session, Unrelated),
            "Unrelated: it is not a subclass of Session",
        ),
        (lambda s: s.add_singleton(Session, 42), "neither a class nor a callable"),
        (
            lambda s: s.add_singleton(Session, instance=Unrelated()),
            "it is a Unrelated, not a Session",
        ),
        (lambda s: s.add_singleton(Port), "Port is abstract"),
        (lambda s: s.add_singleton(Session, Session, factory=Session), "at most one of"),
        (lambda s: s.add_singleton(Session, factory=Session), "factory= takes a function"),
        (lambda s: s.add_singleton("Session"), "must be a type"),
        (lambda s: s.add_singleton(Session, key=""), "key must be a non-empty string"),
        (lambda s: s.add_module(Module("m")).add_module(Module("m")), "already added"),
    ],
)
def test_registration_mistakes_raise_at_the_call(register: Any, message: str) -> None:
    with pytest.raises((RegistrationError, TypeError), match=message):
        register(ServiceCollection())


def test_instance_on_a_scoped_registration_is_refused_with_advice() -> None:
    from portside.di._markers import Lifetime
    from portside.di._registration import make_registration

    with pytest.raises(RegistrationError, match=r"only add_singleton\(\.\.\., instance=\.\.\.\)"):
        make_registration(
            Session, None, None, Session(), lifetime=Lifetime.SCOPED, key=None, module="m"
        )
