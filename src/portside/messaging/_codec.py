"""From messages to envelopes and back, with upcasters for older versions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from portside.observability import get_correlation_id, new_id
from portside.storage import OutboxRecord

from ._errors import PoisonMessage
from ._message import (
    KNOWN,
    Envelope,
    envelope_json,
    message_key,
    message_name,
    message_version,
)

__all__ = ["Codec", "OutboxEncoder", "Outgoing", "current_causation"]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

current_causation: ContextVar[Envelope | None] = ContextVar(
    "portside_current_causation", default=None
)
"""The envelope being handled: what is published meanwhile was caused by it."""


class Outgoing:
    """A message with its ordering key and headers, as published inside a unit of work."""

    __slots__ = ("event", "headers", "key")

    def __init__(self, event: object, key: str | None, headers: Mapping[str, str]) -> None:
        self.event, self.key, self.headers = event, key, dict(headers)


class Codec:
    """Knows the message classes and upcasters of one bus."""

    def __init__(self) -> None:
        self._classes: dict[str, type] = {}
        self._adapters: dict[type, TypeAdapter[Any]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._names: dict[type, tuple[str, int]] = {}

    def register(self, cls: type) -> None:
        if cls in self._names:
            return
        name = message_name(cls)
        existing = self._classes.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"two classes claim message name {name!r}: {existing} and {cls}")
        self._classes[name] = cls
        self._names[cls] = (name, message_version(cls))

    def upcaster(self, name: str, from_version: int, fn: Upcaster) -> None:
        """``fn`` turns a version ``from_version`` payload of ``name`` into the next one."""
        self._upcasters[(name, from_version)] = fn

    def _adapter(self, cls: type) -> TypeAdapter[Any]:
        adapter = self._adapters.get(cls)
        if adapter is None:
            adapter = self._adapters[cls] = TypeAdapter(cls)
        return adapter

    def envelope(
        self,
        event: object,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        reply_to: str | None = None,
    ) -> Envelope:
        """``event`` in a new envelope, caused by the envelope being handled (if any).

        The correlation id is the one bound, else the cause's; a message that starts a
        flow is its own correlation id.
        """
        return Envelope._from_fields(self._fields(event, key, headers, reply_to))

    def _fields(
        self,
        event: object,
        key: str | None,
        headers: Mapping[str, str] | None,
        reply_to: str | None,
    ) -> dict[str, Any]:
        """The fields of :meth:`envelope`'s envelope, for those who only serialize it."""
        cls = type(event)
        known = self._names.get(cls)
        if known is None:
            self.register(cls)
            known = self._names[cls]
        adapter = self._adapters.get(cls) or self._adapter(cls)
        cause = current_causation.get()
        message_id = new_id()
        return {
            "type": known[0],
            "version": known[1],
            "payload": adapter.serializer.to_python(event, mode="json"),
            "message_id": message_id,
            "occurred_at": datetime.now(UTC),
            "correlation_id": get_correlation_id()
            or (cause.correlation_id if cause else None)
            or message_id,
            "causation_id": cause.message_id if cause else None,
            "traceparent": cause.traceparent if cause else None,
            "key": key if key is not None else message_key(event),
            "reply_to": reply_to,
            "headers": dict(headers) if headers else {},
        }

    def decode(self, envelope: Envelope, expected: type | None = None) -> object:
        """The message in ``envelope``, upcast to its class's version.

        Raises :class:`PoisonMessage` naming what is wrong: an unknown type, a version
        with no upcaster path, or a payload the class rejects.
        """
        cls = expected or self._classes.get(envelope.type) or KNOWN.get(envelope.type)
        if cls is None:
            raise PoisonMessage(f"unknown message type {envelope.type!r}")
        name, target = self._names.get(cls) or (message_name(cls), message_version(cls))
        if name != envelope.type:
            raise PoisonMessage(f"unknown message type {envelope.type!r}")
        payload = envelope.payload
        version = envelope.version
        if version > target:
            raise PoisonMessage(
                f"{envelope.type} version {version} is newer than this service knows ({target})"
            )
        while version < target:
            step = self._upcasters.get((envelope.type, version))
            if step is None:
                raise PoisonMessage(
                    f"no upcaster from {envelope.type} version {version} to {version + 1}"
                )
            payload = step(dict(payload))
            version += 1
        try:
            adapter = self._adapters.get(cls) or self._adapter(cls)
            return adapter.validator.validate_python(
                payload if isinstance(payload, dict) else dict(payload)
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(payload)'}: {e['msg']}" for e in exc.errors()
            )
            raise PoisonMessage(f"invalid {envelope.type} payload: {problems}") from exc

    def encoder(self, topic_of: Callable[[str], str]) -> OutboxEncoder:
        """An :class:`~portside.storage.EventEncoder` for units of work."""
        return OutboxEncoder(self, topic_of)


class OutboxEncoder:
    """Turns a commit's events into outbox records (an
    :class:`~portside.storage.EventEncoder`); after a commit that wrote some, calls each of
    ``listeners`` (the relay's wake-up) so they go out at once."""

    def __init__(self, codec: Codec, topic_of: Callable[[str], str]) -> None:
        self.codec, self.topic_of = codec, topic_of
        self.listeners: list[Callable[[], None]] = []

    def __call__(self, events: Sequence[object], /) -> list[OutboxRecord]:
        fields_of, topic_of = self.codec._fields, self.topic_of
        records = []
        for item in events:
            if isinstance(item, Outgoing):
                fields = fields_of(item.event, item.key, item.headers, None)
            else:
                fields = fields_of(item, None, None, None)
            records.append(
                OutboxRecord(
                    fields["message_id"],
                    topic_of(fields["type"]),
                    fields["key"],
                    envelope_json(fields),
                )
            )
        return records

    def committed(self) -> None:
        for listener in self.listeners:
            listener()
