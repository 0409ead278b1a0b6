"""The ``redis`` storage provider: a document store on Redis.

One hash per aggregate (JSON body and version), a key per unique value, a set per
indexed value. A unit of work stages its writes and applies them in one MULTI/EXEC after
checking versions and unique values under WATCH, so a commit is all or nothing and a
stale update is a :class:`~portside.storage.ConcurrencyError`.

```toml
[storage]
provider = "redis"
url = "redis://127.0.0.1:6379/0"
key_prefix = "shop"
```
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from portside.config import Provider
from portside.di import Module

__all__ = ["RedisSettings", "provider"]


class RedisSettings(BaseModel):
    """``[storage]`` keys of the ``redis`` provider."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^rediss?://")
    password: SecretStr | None = None
    key_prefix: str = Field(default="portside", pattern=r"^[A-Za-z0-9_.:-]+$")
    """Every key starts with this, so services (and tests) never collide."""
    connect_timeout: float = Field(default=5.0, gt=0)
    socket_timeout: float = Field(default=5.0, gt=0)


def _module(settings: Any) -> Module:
    from ._provider import redis_module

    return redis_module(settings)


provider = Provider(
    "storage",
    "redis",
    _module,
    RedisSettings,
    extra="redis",
    requires=("redis",),
    description="Redis document store (JSON per aggregate, MULTI/EXEC commits)",
)
