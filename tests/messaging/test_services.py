"""Two services in one process talk through events: the outbox, the relay and the
subscriptions start and stop with the host, chosen by configuration."""

from dataclasses import dataclass
from pathlib import Path

from portside.config import load_config
from portside.di import Module
from portside.host import Host, Service, Startup
from portside.messaging import EventBus, Handler, Messaging, message
from portside.storage import Aggregate, DocumentRepository, UnitOfWork
from portside.testing.messaging import Seen


@message("tests.OrderPlaced")
@dataclass(frozen=True)
class OrderPlaced:
    order_id: str


class Order(Aggregate):
    def __init__(self, id: str) -> None:
        self.id = id

    @classmethod
    def place(cls, order_id: str) -> "Order":
        order = cls(order_id)
        order.record(OrderPlaced(order_id))
        return order


class Orders(DocumentRepository[Order]):
    collection = "orders"

    def to_document(self, aggregate: Order) -> dict[str, str]:
        return {"id": aggregate.id}

    def from_document(self, document: dict[str, str]) -> Order:
        return Order(document["id"])


SHIPPED = Seen()


class Ship:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def __call__(self, event: OrderPlaced) -> None:
        async with self.uow:
            await self.uow.commit()
        await SHIPPED.add(event.order_id)


def ordering() -> Service:
    return Service(
        "ordering",
        modules=[Module("ordering").add_scoped(Orders)],
        requires=["storage", "messaging"],
    )


def shipping() -> Service:
    module = Module("shipping").add_scoped(Ship)
    module.add_singleton(Handler, instance=Handler(OrderPlaced, Ship, group="shipping"))
    return Service("shipping", modules=[module], requires=["storage", "messaging"])


async def test_an_event_committed_in_one_service_is_handled_in_another(tmp_path: Path) -> None:
    path = tmp_path / "portside.toml"
    path.write_text(
        '[storage]\nprovider = "memory"\n'
        # The relay polls hourly: a commit that writes to the outbox wakes it at once.
        '[messaging]\nprovider = "memory"\nrelay_poll_seconds = 3600\n'
    )
    host = Host(load_config(path, environ={}), [ordering(), shipping()])
    await host.start()
    try:
        provider = host.providers["ordering"]
        messaging = next(s for s in await provider.aget_all(Startup) if isinstance(s, Messaging))
        assert messaging.relay is not None
        await messaging.relay.until_idle()  # it looked, found nothing, and waits an hour
        async with provider.create_scope() as scope:
            uow = await scope.aget(UnitOfWork)
            orders = await scope.aget(Orders)
            async with uow:
                await orders.add(Order.place("o-1"))
                await uow.commit()  # the event goes to the outbox with the order
        assert await SHIPPED.wait_for(1) == ["o-1"]
        report = await host.readiness()
        assert report.ok
        assert {c.name for c in report.checks} >= {"messaging.memory", "storage.memory"}
        bus = await provider.aget(EventBus)
        await bus.publish(OrderPlaced("o-2"))  # outside a unit of work: straight to the broker
        assert await SHIPPED.wait_for(2) == ["o-1", "o-2"]
    finally:
        await host.stop()
    assert host.state == "stopped"
