"""Messaging errors."""

from __future__ import annotations

__all__ = [
    "BrokerUnavailable",
    "MessagingError",
    "PoisonMessage",
    "RequestTimeout",
]


class MessagingError(Exception):
    """Base class of messaging errors."""


class BrokerUnavailable(MessagingError):  # noqa: N818 - the broker cannot be reached
    """The broker cannot be reached or refused the message; the outbox will retry."""


class RequestTimeout(MessagingError, TimeoutError):  # noqa: N818 - reads as the outcome
    """No reply arrived within the request's timeout."""


class PoisonMessage(MessagingError):  # noqa: N818 - the message, not an error in handling
    """A message that can never be handled (unknown type or version, invalid payload)."""
