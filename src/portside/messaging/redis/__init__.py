"""The ``redis`` messaging provider (redis-py, Streams).

A stream per topic and a consumer group per group; retries wait in a sorted set and come
back on the group's own retry stream; entries left pending by a crashed consumer are
claimed after ``claim_idle`` seconds; dead letters go to a dead-letter stream. Per-key
ordering holds within one consumer.
"""

from ._transport import RedisTransport

__all__ = ["RedisTransport"]
