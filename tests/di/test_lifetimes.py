"""Lifetimes, auto-wiring, factories, keys, multi-bindings and context values."""

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Protocol

import pytest

from portside.di import (
    DIError,
    Key,
    Lifetime,
    MissingContextError,
    MissingServiceError,
    Module,
    ServiceCollection,
    service_key,
)


class Config:
    pass


class Clock:
    pass


class Session:
    def __init__(self, config: Config) -> None:
        self.config = config


class UserRepo:
    def __init__(self, session: Session) -> None:
        self.session = session


class OrderRepo:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock


class OrderService:
    def __init__(self, users: UserRepo, orders: OrderRepo) -> None:
        self.users = users
        self.orders = orders


def layered() -> ServiceCollection:
    services = ServiceCollection()
    services.add_singleton(Config)
    services.add_transient(Clock)
    services.add_scoped(Session)
    services.add_scoped(UserRepo)
    services.add_scoped(OrderRepo)
    services.add_scoped(OrderService)
    return services


def test_singleton_is_created_once_per_provider() -> None:
    provider = layered().build()
    with provider.create_scope() as a, provider.create_scope() as b:
        assert a.get(Config) is b.get(Config) is provider.get(Config)
    other = layered().build()
    assert other.get(Config) is not provider.get(Config)


def test_scoped_is_shared_within_a_scope_and_fresh_across_scopes() -> None:
    provider = layered().build()
    with provider.create_scope() as scope:
        service = scope.get(OrderService)
        assert service.users.session is service.orders.session
        assert scope.get(Session) is service.users.session
        assert scope.get(OrderService) is service
    with provider.create_scope() as scope:
        assert scope.get(OrderService).users.session is not service.users.session


def test_scoped_services_asked_one_by_one_share_the_same_instances() -> None:
    provider = layered().build()
    with provider.create_scope() as scope:
        session = scope.get(Session)  # the leaf first, then what depends on it
        service = scope.get(OrderService)
        assert service.users.session is session
        assert service.orders.session is session


def test_transient_is_new_every_time_it_is_needed() -> None:
    provider = layered().build()
    with provider.create_scope() as scope:
        first = scope.get(OrderRepo).clock
        assert scope.get(Clock) is not scope.get(Clock)
        assert scope.get(Clock) is not first
    assert provider.get(Clock) is not provider.get(Clock)


def test_a_transient_is_new_at_every_injection_point() -> None:
    class Two:
        def __init__(self, a: Clock, b: Clock) -> None:
            self.a, self.b = a, b

    services = ServiceCollection().add_transient(Clock).add_scoped(Two)
    with services.build().create_scope() as scope:
        two = scope.get(Two)
        assert two.a is not two.b


class UserPort(Protocol):
    def name(self) -> str: ...


class SqlUsers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def name(self) -> str:
        return "sql"


def test_a_port_is_bound_to_an_implementation_class() -> None:
    services = layered().add_scoped(UserPort, SqlUsers)
    with services.build().create_scope() as scope:
        users = scope.get(UserPort)
        assert isinstance(users, SqlUsers)
        assert users.session is scope.get(Session)


def test_factory_parameters_are_auto_wired() -> None:
    seen: list[Config] = []

    def open_session(config: Config) -> Session:
        seen.append(config)
        return Session(config)

    services = ServiceCollection().add_singleton(Config)
    services.add_scoped(Session, factory=open_session)
    provider = services.build()
    with provider.create_scope() as scope:
        assert scope.get(Session).config is provider.get(Config)
    assert seen == [provider.get(Config)]


def test_an_instance_is_returned_as_given() -> None:
    config = Config()
    provider = (
        ServiceCollection().add_singleton(Config, instance=config).add_scoped(Session).build()
    )
    assert provider.get(Config) is config
    with provider.create_scope() as scope:
        assert scope.get(Session).config is config


def test_a_callable_implementation_works_like_a_factory() -> None:
    provider = ServiceCollection().add_singleton(Config, lambda: Config()).build()  # noqa: PLW0108
    assert isinstance(provider.get(Config), Config)


def test_dataclasses_are_auto_wired() -> None:
    @dataclasses.dataclass
    class Handler:
        config: Config
        retries: int = 3

    provider = ServiceCollection().add_singleton(Config).add_singleton(Handler).build()
    handler = provider.get(Handler)
    assert handler.config is provider.get(Config)
    assert handler.retries == 3


def test_keyword_only_and_positional_only_parameters_are_filled() -> None:
    class Mixed:
        def __init__(self, a: Config, /, b: Clock, *, c: Session) -> None:
            self.a, self.b, self.c = a, b, c

    services = layered().add_scoped(Mixed)
    with services.build().create_scope() as scope:
        mixed = scope.get(Mixed)
        assert (type(mixed.a), type(mixed.b), type(mixed.c)) == (Config, Clock, Session)


class Notifier:
    pass


class Email(Notifier):
    pass


class Sms(Notifier):
    pass


class Push(Notifier):
    pass


def test_the_last_registration_wins_and_get_all_returns_every_one_in_order() -> None:
    services = ServiceCollection()
    services.add_singleton(Notifier, Email)
    services.add_singleton(Notifier, Sms)
    services.add_transient(Notifier, Push)
    provider = services.build()
    assert isinstance(provider.get(Notifier), Push)
    assert [type(n) for n in provider.get_all(Notifier)] == [Email, Sms, Push]
    assert provider.get_all(Notifier)[0] is provider.get_all(Notifier)[0]  # singletons stay
    with provider.create_scope() as scope:
        assert [type(n) for n in scope.get_all(Notifier)] == [Email, Sms, Push]


def test_get_all_of_an_unregistered_type_is_empty() -> None:
    assert ServiceCollection().build().get_all(Notifier) == []


def test_sequence_and_list_parameters_receive_every_registration() -> None:
    class Fanout:
        def __init__(self, seq: Sequence[Notifier], lst: list[Notifier]) -> None:
            self.seq, self.lst = seq, lst

    services = ServiceCollection().add_singleton(Notifier, Email).add_singleton(Notifier, Sms)
    provider = services.add_singleton(Fanout).build()
    fanout = provider.get(Fanout)
    assert [type(n) for n in fanout.seq] == [Email, Sms]
    assert fanout.lst == list(fanout.seq)


def test_a_registered_list_type_is_injected_as_itself() -> None:
    names = ["a", "b"]

    class UsesList:
        def __init__(self, names: list[str]) -> None:
            self.names = names

    provider = (
        ServiceCollection().add_singleton(list[str], instance=names).add_singleton(UsesList).build()
    )
    assert provider.get(UsesList).names is names


def test_keyed_registrations_are_chosen_by_key_and_annotated_key() -> None:
    class Sender:
        def __init__(self, email: Annotated[Notifier, Key("email")], any_: Notifier) -> None:
            self.email, self.any = email, any_

    services = ServiceCollection()
    services.add_singleton(Notifier, Email, key="email")
    services.add_singleton(Notifier, Sms, key="sms")
    services.add_singleton(Notifier, Push)
    services.add_singleton(Sender)
    provider = services.build()
    assert isinstance(provider.get(Notifier, key="email"), Email)
    assert isinstance(provider.get(Notifier, key="sms"), Sms)
    assert isinstance(provider.get(Notifier), Push)
    sender = provider.get(Sender)
    assert sender.email is provider.get(Notifier, key="email")
    assert isinstance(sender.any, Push)
    assert [type(n) for n in provider.get_all(Notifier)] == [Push]
    assert [type(n) for n in provider.get_all(Notifier, key="sms")] == [Sms]


def test_service_key_reads_the_service_and_key_an_annotation_names() -> None:
    """What entry adapters use to resolve ``Inject[Annotated[T, Key(...)]]``."""
    assert service_key(Annotated[Notifier, Key("email")]) == (Notifier, "email")
    assert service_key(Annotated[Notifier, "doc", Key("sms")]) == (Notifier, "sms")
    assert service_key(Annotated[Notifier, "doc"]) == (Notifier, None)
    assert service_key(Notifier) == (Notifier, None)


def test_an_unknown_key_names_the_keys_that_exist() -> None:
    services = ServiceCollection().add_singleton(Notifier, Email, key="email")
    with pytest.raises(MissingServiceError, match=r"no registration with key 'fax'.*'email'"):
        services.build().get(Notifier, key="fax")


def test_a_parameter_with_a_default_keeps_it_when_its_type_is_not_registered() -> None:
    class Tuned:
        def __init__(self, config: Config, retries: int = 5, clock: Clock | None = None) -> None:
            self.retries, self.clock = retries, clock

    provider = ServiceCollection().add_singleton(Config).add_singleton(Tuned).build()
    assert provider.get(Tuned).retries == 5
    assert provider.get(Tuned).clock is None


def test_optional_gets_the_service_when_it_is_registered_and_none_otherwise() -> None:
    class Maybe:
        def __init__(self, clock: Clock | None = None, config: Config | None = None) -> None:
            self.clock, self.config = clock, config

    provider = ServiceCollection().add_singleton(Clock).add_singleton(Maybe).build()
    assert provider.get(Maybe).clock is provider.get(Clock)
    assert provider.get(Maybe).config is None


def test_context_values_are_handed_in_per_scope() -> None:
    class Request:
        def __init__(self, path: str) -> None:
            self.path = path

    class Handler:
        def __init__(self, request: Request, session: Session) -> None:
            self.request = request

    services = layered().add_context(Request).add_scoped(Handler)
    provider = services.build()
    first, second = Request("/a"), Request("/b")
    with provider.create_scope(context={Request: first}) as scope:
        assert scope.get(Handler).request is first
        assert scope.get(Request) is first
    with provider.create_scope(context={Request: second}) as scope:
        assert scope.get(Handler).request is second


def test_a_missing_context_value_is_a_clear_error() -> None:
    class Request:
        pass

    class Handler:
        def __init__(self, request: Request) -> None:
            self.request = request

    provider = ServiceCollection().add_context(Request).add_scoped(Handler).build()
    with provider.create_scope() as scope, pytest.raises(MissingContextError) as info:
        scope.get(Handler)
    assert "Request is a context value" in str(info.value)
    assert "create_scope(context=" in str(info.value)


def test_a_lazy_context_value_is_made_when_first_needed_and_kept_for_the_scope() -> None:
    class Request:
        def __init__(self, path: str) -> None:
            self.path = path

    class Handler:
        def __init__(self, request: Request) -> None:
            self.request = request

    class Other:
        pass

    provider = (
        ServiceCollection().add_context(Request).add_scoped(Handler).add_scoped(Other).build()
    )
    made: list[object] = []

    def lazy(service: object) -> Request:
        made.append(service)
        return Request("/lazy")

    with provider.create_scope(lazy_context=lazy) as scope:
        scope.get(Other)
        assert made == []  # nothing asked for the request: it is never made
        handler = scope.get(Handler)
        assert handler.request.path == "/lazy"
        assert scope.get(Request) is handler.request  # made once, kept for the scope
    assert made == [Request]
    with provider.create_scope(lazy_context=lazy) as scope:
        assert scope.get(Request) is not handler.request  # each scope makes its own
    given = Request("/given")
    with provider.create_scope(context={Request: given}, lazy_context=lazy) as scope:
        assert scope.get(Handler).request is given  # a value handed in wins
    assert made == [Request, Request]


async def test_a_lazy_context_value_reaches_async_resolution() -> None:
    class Request:
        pass

    class Handler:
        def __init__(self, request: Request) -> None:
            self.request = request

    async def make_handler(request: Request) -> Handler:
        return Handler(request)

    provider = ServiceCollection().add_context(Request).add_scoped(Handler, factory=make_handler)
    made = Request()
    async with provider.build().create_scope(lazy_context=lambda _: made) as scope:
        assert (await scope.aget(Handler)).request is made


def test_a_lazy_context_that_has_no_value_leaves_the_usual_error() -> None:
    class Request:
        pass

    def nothing(service: object) -> object:
        raise LookupError(service)

    provider = ServiceCollection().add_context(Request).build()
    with (
        provider.create_scope(lazy_context=nothing) as scope,
        pytest.raises(MissingContextError, match="Request is a context value"),
    ):
        scope.get(Request)


def test_an_undeclared_context_value_is_rejected_when_the_scope_is_created() -> None:
    class Request:
        pass

    with pytest.raises(DIError, match=r"Request .* not declared as a context value.*add_context"):
        ServiceCollection().build().create_scope(context={Request: Request()})


def test_modules_group_registrations() -> None:
    users = Module("users")
    users.add_scoped(UserRepo)
    orders = Module("orders").add_scoped(OrderRepo).add_scoped(OrderService)
    services = ServiceCollection().add_singleton(Config).add_transient(Clock).add_scoped(Session)
    services.add_module(users).add_module(orders)
    provider = services.build()
    with provider.create_scope() as scope:
        assert isinstance(scope.get(OrderService), OrderService)
    modules = {n.label: n.module for n in provider.graph().nodes}
    assert modules == {
        "Config": "root",
        "Clock": "root",
        "Session": "root",
        "UserRepo": "users",
        "OrderRepo": "orders",
        "OrderService": "orders",
    }


def test_nested_modules_keep_their_own_names() -> None:
    inner = Module("inner").add_singleton(Config)
    outer = Module("outer").add_module(inner).add_singleton(Clock)
    provider = ServiceCollection().add_module(outer).build()
    assert provider.graph().node(Config).module == "inner"
    assert provider.graph().node(Clock).module == "outer"


def test_lifetime_is_recorded_in_the_graph() -> None:
    graph = layered().build().graph()
    assert graph.node(Config).lifetime == Lifetime.SINGLETON.value
    assert graph.node(Session).lifetime == "scoped"
    assert graph.node(Clock).lifetime == "transient"


def test_unregistered_service_names_a_close_match() -> None:
    class Sesion:
        pass

    provider = layered().build()
    with provider.create_scope() as scope, pytest.raises(MissingServiceError) as info:
        scope.get(Sesion)
    assert "Sesion is not registered" in str(info.value)
    assert "did you mean Session" in str(info.value)
