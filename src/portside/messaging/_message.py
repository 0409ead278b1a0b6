"""Messages and their envelope.

```python
@message("users.UserRegistered", version=1)
@dataclass(frozen=True)
class UserRegistered:
    user_id: str
```

A message class is a dataclass or a pydantic model with a stable name and a version. It
travels inside an :class:`Envelope` whose fields are the same on every broker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

__all__ = ["Envelope", "message", "message_key", "message_name", "message_version"]

T = TypeVar("T")

KNOWN: dict[str, type] = {}
"""Every message class defined in this process, by name (replies are decoded with it)."""


def message(name: str, *, version: int = 1) -> Callable[[type[T]], type[T]]:
    """Give a message class its stable name and version."""
    if not name or not isinstance(name, str):
        raise ValueError(f"a message needs a non-empty name, got {name!r}")
    if version < 1:
        raise ValueError(f"a message version starts at 1, got {version}")

    def mark(cls: type[T]) -> type[T]:
        cls.__message_name__ = name  # type: ignore[attr-defined]
        cls.__message_version__ = version  # type: ignore[attr-defined]
        KNOWN[name] = cls
        return cls

    return mark


def message_name(cls: type) -> str:
    name = getattr(cls, "__message_name__", None)
    if not isinstance(name, str):
        raise TypeError(
            f"{cls.__qualname__} is not a message: decorate it with "
            f"@message('context.{cls.__name__}', version=1)"
        )
    return name


def message_version(cls: type) -> int:
    message_name(cls)
    return int(cls.__message_version__)  # type: ignore[attr-defined]


def message_key(event: object) -> str | None:
    """The ordering key of a message: its ``message_key`` attribute or method, if any."""
    key = getattr(event, "message_key", None)
    if callable(key):
        key = key()
    return None if key is None else str(key)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Envelope:
    """What travels on the wire: the payload and everything needed to handle it."""

    type: str
    version: int
    payload: Mapping[str, Any]
    message_id: str = field(default_factory=lambda: os.urandom(16).hex())
    occurred_at: datetime = field(default_factory=_now)
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    key: str | None = None
    reply_to: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "message_id": self.message_id,
                "type": self.type,
                "version": self.version,
                "occurred_at": self.occurred_at.isoformat(),
                "correlation_id": self.correlation_id,
                "causation_id": self.causation_id,
                "traceparent": self.traceparent,
                "key": self.key,
                "reply_to": self.reply_to,
                "headers": dict(self.headers),
                "payload": self.payload,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        """Parse an envelope; ``ValueError`` says what is wrong with a malformed one."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            occurred = datetime.fromisoformat(data["occurred_at"])
            if occurred.tzinfo is None:
                raise ValueError("occurred_at has no time zone")
            return cls(
                type=str(data["type"]),
                version=int(data["version"]),
                payload=dict(data["payload"]),
                message_id=str(data["message_id"]),
                occurred_at=occurred,
                correlation_id=data.get("correlation_id"),
                causation_id=data.get("causation_id"),
                traceparent=data.get("traceparent"),
                key=data.get("key"),
                reply_to=data.get("reply_to"),
                headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
            )
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from exc
