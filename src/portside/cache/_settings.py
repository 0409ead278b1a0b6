"""``[cache]`` keys, shared and per provider."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["CacheSettings", "MemoryCacheSettings", "RedisCacheSettings"]


class CacheSettings(BaseModel):
    """``[cache]`` keys every provider shares."""

    model_config = ConfigDict(extra="forbid")

    ttl: float = Field(default=300.0, gt=0)
    """Seconds an entry lives when the caller names no time to live."""


class MemoryCacheSettings(CacheSettings):
    """``[cache]`` keys of the ``memory`` provider."""

    max_entries: int = Field(default=10_000, ge=1)
    """Entries kept; the least recently used one is dropped to make room."""


class RedisCacheSettings(CacheSettings):
    """``[cache]`` keys of the ``redis`` provider."""

    url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^rediss?://")
    password: SecretStr | None = None
    prefix: str = Field(default="portside", pattern=r"^[A-Za-z0-9_.:-]+$")
    """Every key starts with ``<prefix>:cache:``, so services (and tests) never collide."""
    connect_timeout: float = Field(default=2.0, gt=0)
    # A cache that answers slowly costs more than a miss: callers fall back to the store.
    socket_timeout: float = Field(default=1.0, gt=0)
    """Seconds to wait for an answer before the cache counts as unavailable."""
