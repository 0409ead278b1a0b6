"""Checked by mypy --strict in `make lint`: the container's API infers the right types."""

from typing import assert_type

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
