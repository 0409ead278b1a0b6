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

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pydantic_core
from pydantic_core import core_schema

from portside.observability import new_id

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
    message_id: str = field(default_factory=new_id)
    occurred_at: datetime = field(default_factory=_now)
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    key: str | None = None
    reply_to: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Envelope:
        """An envelope whose attributes are ``fields`` (all of them, already checked)."""
        envelope = object.__new__(cls)
        object.__setattr__(envelope, "__dict__", fields)
        return envelope

    def to_json(self) -> str:
        """A JSON object whose keys are the field names."""
        return envelope_json(vars(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        """Parse an envelope; ``ValueError`` says what is wrong with a malformed one."""
        try:  # the common case in one pass: every field as this version writes it
            data = _WELL_FORMED.validate_json(text)
            occurred = datetime.fromisoformat(data["occurred_at"])
        except ValueError:  # anything else is read, or refused with a reason, below
            return cls._parse(text)
        if occurred.tzinfo is None:
            raise ValueError("occurred_at has no time zone")
        data["occurred_at"] = occurred
        if data["headers"] is None:
            data["headers"] = {}
        return cls._from_fields(data)

    @classmethod
    def _parse(cls, text: str | bytes) -> Envelope:
        """:meth:`from_json` for every body, field by field, naming what is wrong."""
        try:
            data = pydantic_core.from_json(text, cache_strings="keys")
        except ValueError:  # malformed, or what only the standard parser reads
            try:  # (escaped lone surrogates, deep nesting, UTF-16/32 bytes)
                data = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            occurred = datetime.fromisoformat(data["occurred_at"])
            if occurred.tzinfo is None:
                raise ValueError("occurred_at has no time zone")
            data["type"] = str(data["type"])
            data["version"] = int(data["version"])
            payload = data["payload"]
            data["payload"] = payload if isinstance(payload, dict) else dict(payload)
            data["message_id"] = str(data["message_id"])
            data["occurred_at"] = occurred
            headers = data.get("headers")
            if headers and not isinstance(headers, dict):
                raise ValueError("headers is not a JSON object")
            data["headers"] = {str(k): str(v) for k, v in headers.items()} if headers else {}
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from exc
        if data.keys() != _FIELD_NAMES:  # a field left out, or one this version does not know
            data = {f.name: data.get(f.name) for f in dataclasses.fields(cls)}
        return cls._from_fields(data)


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Envelope))


def _optional(schema: core_schema.CoreSchema) -> core_schema.TypedDictField:
    return core_schema.typed_dict_field(
        core_schema.with_default_schema(core_schema.nullable_schema(schema), default=None)
    )


_WELL_FORMED = pydantic_core.SchemaValidator(
    core_schema.typed_dict_schema(
        {
            "type": core_schema.typed_dict_field(core_schema.str_schema()),
            "version": core_schema.typed_dict_field(core_schema.int_schema(strict=True)),
            "payload": core_schema.typed_dict_field(
                core_schema.dict_schema(core_schema.str_schema(), core_schema.any_schema())
            ),
            "message_id": core_schema.typed_dict_field(core_schema.str_schema()),
            "occurred_at": core_schema.typed_dict_field(core_schema.str_schema()),
            "correlation_id": _optional(core_schema.str_schema()),
            "causation_id": _optional(core_schema.str_schema()),
            "traceparent": _optional(core_schema.str_schema()),
            "key": _optional(core_schema.str_schema()),
            "reply_to": _optional(core_schema.str_schema()),
            "headers": _optional(
                core_schema.dict_schema(core_schema.str_schema(), core_schema.str_schema())
            ),
        },
        extra_behavior="ignore",
    ),
    core_schema.CoreConfig(cache_strings="keys"),
)
"""Reads, in one pass, an envelope whose fields all have the types :meth:`Envelope.to_json`
writes: what it gives equals what :meth:`Envelope._parse` gives for the same body."""


def envelope_json(fields: Mapping[str, Any]) -> str:
    """An envelope's fields as its JSON body, in ASCII as ``json.dumps`` writes it."""
    try:
        text = pydantic_core.to_json(fields).decode()
        if text.isascii():
            return text
    except pydantic_core.PydanticSerializationError:
        pass  # lone surrogates, or headers of another mapping type than dict
    escaped = {
        **fields,
        "occurred_at": fields["occurred_at"].isoformat(),
        "headers": dict(fields["headers"]),
    }
    return json.dumps(escaped, separators=(",", ":"))
