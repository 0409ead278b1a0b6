"""Checked by mypy --strict in `make lint`: the container's API infers the right types."""

from abc import ABC, abstractmethod
from typing import Protocol, assert_type

from portside.di import Scope, ServiceCollection, ServiceProvider


class Config:
    pass


class Session:
    pass


def open_session() -> Session:
    return Session()


services = ServiceCollection()
services.add_singleton(Config).add_scoped(Session, factory=open_session)
provider = services.build()
assert_type(provider, ServiceProvider)
assert_type(provider.get(Config), Config)
assert_type(provider.get(Config, key="primary"), Config)
assert_type(provider.get_all(Config), list[Config])
with provider.create_scope() as scope:
    assert_type(scope, Scope)
    assert_type(scope.get(Session), Session)


async def resolve_async() -> None:
    async with provider.create_scope() as scope:
        assert_type(await scope.aget(Session), Session)
    assert_type(await provider.aget(Config), Config)


# Ports are Protocols or ABCs: registering and resolving them needs no type: ignore.
class UserPort(Protocol):
    def name(self) -> str: ...


class AbstractClock(ABC):
    @abstractmethod
    def now(self) -> float: ...


class SqlUsers:
    def name(self) -> str:
        return "sql"


class SystemClock(AbstractClock):
    def now(self) -> float:
        return 0.0


ports = ServiceCollection()
ports.add_scoped(UserPort, SqlUsers).add_singleton(AbstractClock, SystemClock)
port_provider = ports.build()
assert_type(port_provider.get(AbstractClock), AbstractClock)
with port_provider.create_scope() as port_scope:
    assert_type(port_scope.get(UserPort), UserPort)
    assert_type(port_scope.get_all(UserPort), list[UserPort])
with port_provider.override(UserPort, instance=SqlUsers()):
    pass
