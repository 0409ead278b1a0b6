"""The ``rabbitmq`` messaging provider (aio-pika).

A durable topic exchange; a durable queue per consumer group and topic; publisher
confirms; delayed retries through per-delay queues whose TTL dead-letters the message back
to its queue (no plugin); one dead-letter queue per exchange. Per-key ordering holds within
one consumer (deliveries with the same key are handled one at a time, in order).
"""

from ._transport import RabbitTransport

__all__ = ["RabbitTransport"]
