"""The cache port: bytes by key with a time to live, over memory or Redis.

```python
class Profiles:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def get(self, user_id: str) -> bytes | None:
        try:
            return await self.cache.get(f"profile:{user_id}")
        except CacheError:
            return None                  # a cache is an optimisation: fall back
```

Providers (``[cache] provider = ...``): ``memory`` (the default; ``max_entries``) and
``redis`` (``url``, ``prefix``); both take ``ttl``, the seconds an entry lives when the
caller names none. This package imports no driver.
"""

from ._port import Cache, CacheError, CacheUnavailable
from ._settings import CacheSettings, MemoryCacheSettings, RedisCacheSettings

__all__ = [
    "Cache",
    "CacheError",
    "CacheSettings",
    "CacheUnavailable",
    "MemoryCacheSettings",
    "RedisCacheSettings",
]
