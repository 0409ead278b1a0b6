"""The messaging providers portside ships, as entry points name them. This module imports
no broker client: each ``make`` imports its driver when the provider is selected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field, SecretStr

from portside.config import Provider
from portside.di import Module

from ._module import MessagingSettings, messaging_module
from ._transport import Transport

__all__ = [
    "NatsSettings",
    "RabbitSettings",
    "RedisStreamsSettings",
    "memory_provider",
    "nats_provider",
    "rabbitmq_provider",
    "redis_provider",
    "shared_memory_broker",
]

_BROKER: Any = None


def shared_memory_broker() -> Any:
    """The process's in-memory broker: services in one process talk through it."""
    global _BROKER  # noqa: PLW0603 - one broker per process, made on first use
    if _BROKER is None:
        from .memory import MemoryBroker

        _BROKER = MemoryBroker()
    return _BROKER


class RabbitSettings(MessagingSettings):
    url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/", pattern=r"^amqps?://")
    password: SecretStr | None = None
    exchange: str = Field(default="portside", pattern=r"^[A-Za-z0-9_.:-]+$")
    connect_timeout: float = Field(default=5.0, gt=0)


class NatsSettings(MessagingSettings):
    url: str = Field(default="nats://127.0.0.1:4222", pattern=r"^(nats|tls)://")
    namespace: str = Field(default="portside", pattern=r"^[A-Za-z0-9_-]+$")
    connect_timeout: float = Field(default=5.0, gt=0)


class RedisStreamsSettings(MessagingSettings):
    url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^rediss?://")
    namespace: str = Field(default="portside", pattern=r"^[A-Za-z0-9_.:-]+$")
    claim_idle: float = Field(default=30.0, gt=0)
    """Seconds before a crashed consumer's pending entries are claimed by another."""


def _memory_transport(settings: Any) -> Transport:
    from .memory import MemoryTransport

    return MemoryTransport(shared_memory_broker())


def _rabbitmq_transport(settings: Any) -> Transport:
    from .rabbitmq import RabbitTransport

    url = settings.url
    if settings.password is not None:
        from urllib.parse import quote, urlsplit, urlunsplit

        parts = urlsplit(url)
        user = parts.username or "guest"
        secret = quote(settings.password.get_secret_value(), safe="")
        netloc = f"{user}:{secret}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    return RabbitTransport(
        url, exchange=settings.exchange, connect_timeout=settings.connect_timeout
    )


def _nats_transport(settings: Any) -> Transport:
    from .nats import NatsTransport

    return NatsTransport(
        settings.url, namespace=settings.namespace, connect_timeout=settings.connect_timeout
    )


def _redis_transport(settings: Any) -> Transport:
    from .redis import RedisTransport

    return RedisTransport(
        settings.url, namespace=settings.namespace, claim_idle=settings.claim_idle
    )


TRANSPORTS: dict[str, Callable[[Any], Transport]] = {
    "memory": _memory_transport,
    "rabbitmq": _rabbitmq_transport,
    "nats": _nats_transport,
    "redis": _redis_transport,
}


def make_transport(provider: str, settings: Any) -> Transport:
    """A transport for one of portside's messaging providers (used by ``portside dlq``)."""
    try:
        return TRANSPORTS[provider](settings)
    except KeyError:
        raise LookupError(
            f"portside dlq does not know the messaging provider {provider!r}"
        ) from None


def _module_for(name: str) -> Callable[[Any], Module]:
    def module(settings: Any) -> Module:
        return messaging_module(settings, lambda: TRANSPORTS[name](settings), name)

    return module


memory_provider = Provider(
    "messaging",
    "memory",
    _module_for("memory"),
    MessagingSettings,
    default=True,
    description="in-process broker, for one process and tests",
)
rabbitmq_provider = Provider(
    "messaging",
    "rabbitmq",
    _module_for("rabbitmq"),
    RabbitSettings,
    extra="rabbitmq",
    requires=("aio_pika",),
    description="RabbitMQ (aio-pika)",
)
nats_provider = Provider(
    "messaging",
    "nats",
    _module_for("nats"),
    NatsSettings,
    extra="nats",
    requires=("nats",),
    description="NATS JetStream (nats-py)",
)
redis_provider = Provider(
    "messaging",
    "redis",
    _module_for("redis"),
    RedisStreamsSettings,
    extra="redis",
    requires=("redis",),
    description="Redis Streams (redis-py)",
)
