"""provider.override: a temporary replacement in a built provider."""

from collections.abc import Iterator
from typing import Protocol

import pytest

from portside.di import (
    LifetimeError,
    MissingServiceError,
    RegistrationError,
    ServiceCollection,
)


class UserPort(Protocol):
    def name(self) -> str: ...


class RealUsers:
    def name(self) -> str:
        return "real"


class FakeUsers:
    def name(self) -> str:
        return "fake"


class Session:
    pass


class Config:
    pass


class UserService:
    def __init__(self, users: UserPort, session: Session) -> None:
        self.users = users
        self.session = session


class Directory:
    """A singleton that depends on the overridden port."""

    def __init__(self, users: UserPort) -> None:
        self.users = users


class Unrelated:
    def __init__(self, config: Config) -> None:
        self.config = config


def build() -> ServiceCollection:
    s = ServiceCollection()
    s.add_singleton(UserPort, RealUsers)
    s.add_scoped(Session)
    s.add_scoped(UserService)
    s.add_singleton(Directory)
    s.add_singleton(Config)
    s.add_singleton(Unrelated)
    return s


def test_an_override_replaces_the_service_and_what_depends_on_it_then_restores() -> None:
    provider = build().build()
    directory = provider.get(Directory)
    unrelated = provider.get(Unrelated)
    fake = FakeUsers()
    with provider.override(UserPort, instance=fake):
        assert provider.get(UserPort) is fake
        assert provider.get(Directory).users is fake  # a dependent singleton built anew
        assert provider.get(Directory) is provider.get(Directory)  # and shared meanwhile
        assert provider.get(Unrelated) is unrelated  # untouched singletons stay
        with provider.create_scope() as scope:
            assert scope.get(UserService).users is fake
    assert provider.get(Directory) is directory
    assert provider.get(UserPort).name() == "real"
    with provider.create_scope() as scope:
        assert scope.get(UserService).users.name() == "real"


def test_an_override_applies_to_scopes_opened_before_it() -> None:
    provider = build().build()
    with provider.create_scope() as scope:
        with provider.override(UserPort, FakeUsers):
            assert scope.get(UserService).users.name() == "fake"
        assert scope.get(UserPort).name() == "real"


def test_an_override_with_a_factory_is_auto_wired_and_cleaned_up_when_it_ends() -> None:
    log: list[str] = []

    def fake(config: Config) -> Iterator[UserPort]:
        log.append("open")
        yield FakeUsers()
        log.append("close")

    provider = build().build()
    with provider.override(UserPort, factory=fake):
        assert provider.get(UserPort).name() == "fake"
        assert log == ["open"]
    assert log == ["open", "close"]


def test_overrides_nest_and_unwind_in_order() -> None:
    provider = build().build()
    with provider.override(UserPort, FakeUsers):
        with provider.override(Config, instance=Config()) as inner:
            assert provider.get(UserPort).name() == "fake"
            assert provider.get(Unrelated).config is provider.get(Config)
        assert inner is not None
        assert provider.get(UserPort).name() == "fake"
    assert provider.get(UserPort).name() == "real"


def test_overriding_an_unregistered_service_is_an_error() -> None:
    with pytest.raises(RegistrationError, match="Session: it is not registered"):
        ServiceCollection().build().override(Session, instance=Session())


def test_an_override_is_validated_like_a_registration() -> None:
    class NeedsMissing(Config):
        def __init__(self, missing: Session) -> None:
            pass

    provider = ServiceCollection().add_singleton(Config).build()
    with (
        pytest.raises(MissingServiceError, match="Config needs Session"),
        provider.override(Config, NeedsMissing),
    ):
        pass
    assert type(provider.get(Config)) is Config  # nothing changed
    with pytest.raises(RegistrationError, match="not a subclass of Config"):
        provider.override(Config, Session)  # type: ignore[arg-type]


def test_an_override_that_captures_a_scoped_service_is_refused() -> None:
    class Captive(Config):
        def __init__(self, session: Session) -> None:
            pass

    provider = build().build()
    with pytest.raises(LifetimeError), provider.override(Config, Captive):
        pass
