"""The ``memory`` cache provider: a least-recently-used cache in the service's process.

```toml
[cache]
provider = "memory"
ttl = 300               # seconds, when the caller names none
max_entries = 10000
```
"""

from ._cache import MemoryCache

__all__ = ["MemoryCache"]
