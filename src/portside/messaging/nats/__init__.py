"""The ``nats`` messaging provider (nats-py, JetStream).

One stream per namespace; a durable pull consumer per consumer group and topic with
explicit acks; retries by ``nak`` with a delay; a dead-letter subject in the same stream;
publisher acknowledgements and de-duplication by message id. Per-key ordering holds within
one consumer.
"""

from ._transport import NatsTransport

__all__ = ["NatsTransport"]
