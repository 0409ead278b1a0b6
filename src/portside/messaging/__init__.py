"""Messaging: an event bus with a transactional outbox, idempotent consumers, retries and
dead letters, over an in-memory broker, RabbitMQ, NATS or Redis.

```python
@message("orders.OrderPlaced", version=1)
@dataclass(frozen=True)
class OrderPlaced:
    order_id: str

await bus.subscribe(OrderPlaced, ReserveStock, group="shipping")

async def notify(event: OrderPlaced, mailer: Inject[Mailer]) -> None:   # from the
    await mailer.order_placed(event.order_id)                           # delivery's scope

await bus.subscribe(OrderPlaced, notify, group="mail")
async with uow:
    ...
    await bus.publish(OrderPlaced("o1"))     # written to the outbox with the changes
    await uow.commit()
```
"""

from portside.di import Inject

from ._bus import Bus, Handle
from ._codec import Codec
from ._errors import BrokerUnavailable, MessagingError, PoisonMessage, RequestTimeout
from ._message import Envelope, message, message_key, message_name, message_version
from ._module import Handler, Messaging, MessagingSettings
from ._port import EventBus
from ._relay import OutboxRelay
from ._transport import (
    DeadLetter,
    Delivery,
    InProcessTransport,
    RetryPolicy,
    Subscription,
    Transport,
)

__all__ = [
    "BrokerUnavailable",
    "Bus",
    "Codec",
    "DeadLetter",
    "Delivery",
    "Envelope",
    "EventBus",
    "Handle",
    "Handler",
    "InProcessTransport",
    "Inject",
    "Messaging",
    "MessagingError",
    "MessagingSettings",
    "OutboxRelay",
    "PoisonMessage",
    "RequestTimeout",
    "RetryPolicy",
    "Subscription",
    "Transport",
    "message",
    "message_key",
    "message_name",
    "message_version",
]
