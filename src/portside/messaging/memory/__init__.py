"""The ``memory`` messaging provider: an in-process broker for the embedded mode and tests.

It is faithful: envelopes and headers preserved, durable consumer groups, redelivery on
failure, delayed retries, dead letters, request/reply, per-key ordering within a group.
It passes the same conformance suite as the brokers.
"""

from ._broker import MemoryBroker, MemoryTransport

__all__ = ["MemoryBroker", "MemoryTransport"]
