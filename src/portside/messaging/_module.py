"""Messaging in a service: the DI module a messaging provider contributes, and the
component that starts consumers and the outbox relay with the service and stops them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from portside.di import Module
from portside.host import HealthCheck, Host, Lifecycle, ServiceInfo, Startup
from portside.storage import EventEncoder, Outbox

from ._bus import Bus
from ._codec import OutboxEncoder
from ._message import Envelope
from ._port import EventBus
from ._relay import OutboxRelay
from ._transport import RetryPolicy, Transport

__all__ = ["Handler", "Messaging", "MessagingSettings", "messaging_module"]


class MessagingSettings(BaseModel):
    """``[messaging]`` keys every provider shares."""

    model_config = ConfigDict(extra="forbid")

    prefetch: int = Field(default=16, ge=1)
    """Deliveries handled at once per subscription."""
    max_attempts: int = Field(default=5, ge=1)
    """Deliveries of a failing message before it is dead-lettered."""
    retry_delay: float = Field(default=0.5, gt=0)
    """Seconds before the first redelivery; doubled each time, with jitter."""
    max_retry_delay: float = Field(default=60.0, gt=0)
    topic_prefix: str = ""
    drain_seconds: float = Field(default=10.0, gt=0)
    """Seconds in-flight handlers may take to finish when the service stops."""
    relay: bool = True
    """Run the outbox relay in this service (when its store has an outbox)."""
    relay_batch: int = Field(default=100, ge=1)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    """Seconds between looks at the outbox when nothing woke the relay. A commit in this
    service wakes it at once; the poll finds what others left: entries of a process that
    runs no relay, or whose relay stopped holding their lease."""
    relay_min_interval_seconds: float = Field(default=0.05, ge=0)
    """Least seconds from the start of a relay pass that found less than a full batch to
    the start of the next. Every pass costs two transactions (claim, mark sent) however
    many entries it holds: under a steady stream of commits, those of this interval go out
    together. A commit after a quiet spell goes out at once; 0 gives every commit a pass
    of its own when the relay keeps up."""


@dataclass(frozen=True)
class Handler:
    """A subscription, declared in a service's module::

    module.add_singleton(Handler, instance=Handler(UserRegistered, SendWelcome, group="mail"))
    """

    event_type: type
    handler: Any
    group: str
    prefetch: int | None = None
    retry: RetryPolicy | None = None


class Messaging(Startup):
    """Starts the transport, the subscriptions and the outbox relay with the service;
    stops them, draining in-flight handlers, when it stops."""

    def __init__(
        self,
        bus: Bus,
        *,
        lifecycle: Lifecycle,
        host: Host,
        info: ServiceInfo,
        settings: MessagingSettings,
        outbox: Outbox | None = None,
        encoder: EventEncoder | None = None,
    ) -> None:
        self.bus, self.host, self.info, self.settings = bus, host, info, settings
        self.outbox, self.encoder = outbox, encoder
        self.relay: OutboxRelay | None = None
        lifecycle.append(on_start=self.start, on_stop=self.stop, name="messaging")

    async def start(self) -> None:
        await self.bus.transport.start()
        provider = self.host.providers[self.info.name]
        self.bus.provider = provider
        for handler in await provider.aget_all(Handler):
            await self.bus.subscribe(
                handler.event_type,
                handler.handler,
                group=handler.group,
                prefetch=handler.prefetch,
                retry=handler.retry,
            )
        if self.outbox is not None and self.settings.relay:
            self.relay = OutboxRelay(
                self.outbox,
                self.bus.transport,
                batch=self.settings.relay_batch,
                idle_seconds=self.settings.relay_poll_seconds,
                min_interval=self.settings.relay_min_interval_seconds,
            )
            if isinstance(self.encoder, OutboxEncoder):  # commits wake the relay
                self.encoder.listeners.append(self.relay.kick)
            await self.relay.start()

    async def stop(self) -> None:
        await self.bus.close(drain_seconds=self.settings.drain_seconds)
        if self.relay is not None:
            if isinstance(self.encoder, OutboxEncoder):
                self.encoder.listeners.remove(self.relay.kick)
            await self.relay.stop()
        await self.bus.transport.close()


class MessagingHealth:
    """The broker answers; with an outbox, how far the relay lags behind."""

    def __init__(self, bus: Bus, outbox: Outbox | None = None) -> None:
        self.name = f"messaging.{bus.transport.name}"
        self.bus, self.outbox = bus, outbox

    async def check(self) -> Mapping[str, Any] | None:
        await self.bus.transport.ping()
        if self.outbox is None:
            return None
        pending, oldest = await self.outbox.pending()
        return {"outbox_pending": pending, "outbox_oldest_seconds": oldest}


def messaging_module(
    settings: MessagingSettings, make_transport: Callable[[], Transport], name: str
) -> Module:
    """The module a messaging provider contributes to each service's container."""

    def transport() -> Transport:
        return make_transport()

    def bus(transport: Transport) -> Bus:
        retry = RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay=settings.retry_delay,
            max_delay=settings.max_retry_delay,
        )
        return Bus(
            transport, retry=retry, prefetch=settings.prefetch, topic_prefix=settings.topic_prefix
        )

    def event_bus(bus: Bus) -> EventBus:
        return bus

    def encoder(bus: Bus) -> EventEncoder:
        return bus.codec.encoder(bus.topic)

    module = Module(f"messaging.{name}")
    module.add_singleton(Transport, factory=transport)
    module.add_singleton(Bus, factory=bus)
    module.add_singleton(EventBus, factory=event_bus)
    module.add_singleton(EventEncoder, factory=encoder)
    module.add_context(Envelope)
    module.add_singleton(Startup, Messaging)
    module.add_singleton(HealthCheck, MessagingHealth)
    return module
