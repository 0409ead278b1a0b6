"""The port use cases depend on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ._transport import RetryPolicy

__all__ = ["EventBus"]


class EventBus(Protocol):
    """Publish events, subscribe handlers in consumer groups, and request replies."""

    async def publish(
        self, event: object, *, key: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None: ...

    async def subscribe(
        self,
        event_type: type,
        handler: Any,
        *,
        group: str,
        prefetch: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> Any: ...

    async def unsubscribe(self, handle: Any, *, drain_seconds: float = 10.0) -> None: ...

    async def request(
        self,
        command: object,
        *,
        timeout: float,  # noqa: ASYNC109 - the port's signature
        key: str | None = None,
    ) -> object: ...
