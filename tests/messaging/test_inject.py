"""``Inject[T]`` on a message handler: the handler receives ``T`` from the DI scope of the
delivery it runs for, as a gRPC servicer method does from its call's. A handler that
injects what the bus's container cannot give fails when it subscribes, not on every
delivery."""

from collections.abc import AsyncIterator
from typing import Annotated

import pytest

from portside.di import Key, MissingServiceError, ServiceCollection, ServiceProvider
from portside.messaging import Bus, Envelope, Inject, MessagingError
from portside.messaging.memory import MemoryBroker, MemoryTransport
from portside.testing.messaging import Ping, Seen

from ..support.scoped import Ledger, Resource, open_resource


class Greeting:
    def __init__(self, text: str) -> None:
        self.text = text


async def open_greeting() -> AsyncIterator[Greeting]:
    yield Greeting("hello")


def provider(*handlers: type) -> ServiceProvider:
    services = ServiceCollection()
    services.add_singleton(Ledger).add_singleton(Seen)
    services.add_scoped(Resource, factory=open_resource)
    services.add_scoped(Greeting, factory=open_greeting)
    services.add_singleton(str, instance="+", key="sign")
    services.add_context(Envelope)
    for handler in handlers:
        services.add_scoped(handler)
    return services.build()


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = Bus(MemoryTransport(MemoryBroker()), provider=provider())
    yield bus
    await bus.close()


class Count:
    """A class handler: built per delivery, and its call injects too."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def __call__(self, event: Ping, resource: Inject[Resource]) -> None:
        await self.seen.add((event.n, resource.id))


async def test_a_function_handler_receives_services_from_each_deliverys_scope(bus: Bus) -> None:
    seen = Seen()

    async def handle(event: Ping, resource: Inject[Resource], greeting: Inject[Greeting]) -> None:
        await seen.add((event.n, resource.id, greeting.text))

    await bus.subscribe(Ping, handle, group="g")
    await bus.publish(Ping(1))
    await bus.publish(Ping(2))
    items = sorted(await seen.wait_for(2))
    await bus.close()  # in-flight deliveries finish, their scopes close

    ledger = bus.provider.get(Ledger)
    assert [(n, text) for n, _, text in items] == [(1, "hello"), (2, "hello")]
    assert items[0][1] != items[1][1]  # a resource per delivery
    assert sorted(ledger.opened) == sorted(ledger.closed) == sorted(i[1] for i in items)


async def test_a_handler_that_takes_the_envelope_still_gets_it(bus: Bus) -> None:
    seen = Seen()

    async def handle(
        event: Ping,
        envelope: Envelope,
        *,
        sign: Inject[Annotated[str, Key("sign")]],
        scoped_envelope: Inject[Envelope],
    ) -> None:
        await seen.add((event.n, envelope.message_id, sign, scoped_envelope is envelope))

    await bus.subscribe(Ping, handle, group="g")
    await bus.publish(Ping(7))
    ((n, message_id, sign, same),) = await seen.wait_for(1)
    assert (n, sign, same) == (7, "+", True)
    assert message_id


async def test_a_class_handler_can_inject_into_its_call() -> None:
    services = provider(Count)
    bus = Bus(MemoryTransport(MemoryBroker()), provider=services)
    await bus.subscribe(Ping, Count, group="g")
    await bus.publish(Ping(3))
    ((n, resource),) = await services.get(Seen).wait_for(1)
    await bus.close()
    assert n == 3
    assert services.get(Ledger).closed == [resource]


class Unregistered:
    pass


async def test_a_handler_that_injects_what_the_container_cannot_give_fails_to_subscribe(
    bus: Bus,
) -> None:
    async def handle(event: Ping, missing: Inject[Unregistered]) -> None: ...

    with pytest.raises(MissingServiceError) as failed:
        await bus.subscribe(Ping, handle, group="g")
    assert "handle injects missing: Unregistered is not registered" in str(failed.value)


async def test_a_handler_that_injects_needs_a_bus_with_a_provider() -> None:
    bus = Bus(MemoryTransport(MemoryBroker()))

    async def handle(event: Ping, resource: Inject[Resource]) -> None: ...

    with pytest.raises(MessagingError) as failed:
        await bus.subscribe(Ping, handle, group="g")
    assert "handle injects services: give the bus a provider" in str(failed.value)


async def test_a_handler_whose_annotations_cannot_be_read_still_subscribes(bus: Bus) -> None:
    """As before injection existed: a name only imported for type checkers is no error."""
    seen = Seen()

    async def handle(event: "Ping", note: "OnlyForTypeCheckers" = None) -> None:  # type: ignore[name-defined,assignment]  # noqa: F821
        await seen.add(event.n)

    await bus.subscribe(Ping, handle, group="g")
    await bus.publish(Ping(5))
    assert await seen.wait_for(1) == [5]


async def test_an_injection_whose_annotation_cannot_be_read_fails_to_subscribe(bus: Bus) -> None:
    async def handle(event: Ping, missing: "Inject[NoSuchName]") -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError) as failed:
        await bus.subscribe(Ping, handle, group="g")
    assert "the annotations of" in str(failed.value)
    assert "name 'NoSuchName' is not defined" in str(failed.value)
