"""Observability: correlation ids, service names and structured logging.

```python
configure_logging(level="INFO", format="json", levels={"asyncio": "WARNING"})
with bind_service_name("users"), bind_correlation_id(request_id):
    log.info("order placed", extra={"order_id": order.id})
```

Every record handled by :func:`configure_logging`'s handler carries the correlation id
and service name bound in the current context; asyncio tasks inherit them.
"""

from ._correlation import (
    bind_correlation_id,
    bind_service_name,
    get_correlation_id,
    get_service_name,
    incoming_correlation_id,
    new_correlation_id,
    reset_correlation_id,
    reset_service_name,
    set_correlation_id,
    set_service_name,
)
from ._ids import new_id
from ._logging import (
    CorrelationFilter,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    reset_logging,
)

__all__ = [
    "CorrelationFilter",
    "JsonFormatter",
    "TextFormatter",
    "bind_correlation_id",
    "bind_service_name",
    "configure_logging",
    "get_correlation_id",
    "get_service_name",
    "incoming_correlation_id",
    "new_correlation_id",
    "new_id",
    "reset_correlation_id",
    "reset_logging",
    "reset_service_name",
    "set_correlation_id",
    "set_service_name",
]
