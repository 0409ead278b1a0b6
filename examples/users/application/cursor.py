"""Page cursors: an opaque, URL-safe token for a :class:`Position`."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from portside.errors import Invalid

from .ports import Position

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(position: Position) -> str:
    raw = json.dumps([position.created.isoformat(), position.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position of a cursor :func:`encode_cursor` made; anything else is
    :class:`~portside.errors.Invalid` on the field ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_text, user_id = json.loads(raw)
        created = datetime.fromisoformat(created_text)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise Invalid.field("cursor", "is not a cursor this service issued") from exc
    if created.utcoffset() is None or not isinstance(user_id, str):
        raise Invalid.field("cursor", "is not a cursor this service issued")
    return Position(created, user_id)
