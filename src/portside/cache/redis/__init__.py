"""The ``redis`` cache provider (redis-py): entries expire by Redis's own clock.

```toml
[cache]
provider = "redis"                  # pip install 'portside[redis]'
url = "redis://127.0.0.1:6379/0"
prefix = "shop"                     # keys are shop:cache:<key>
ttl = 300
```
"""

try:
    from ._cache import RedisCache, RedisCacheHealth, open_redis_cache
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    if exc.name is None or not exc.name.startswith("redis"):
        raise
    raise ImportError(
        "the redis cache needs redis-py: pip install 'portside[redis]'", name=exc.name
    ) from exc

__all__ = ["RedisCache", "RedisCacheHealth", "open_redis_cache"]
