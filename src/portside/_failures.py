"""What an exception means to a caller: one classification that the HTTP and gRPC entry
adapters translate into status codes, so the two never disagree."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from portside.errors import FieldViolation, Invalid
from portside.host import ShuttingDown
from portside.storage import ConcurrencyError, Conflict, NotFound, StorageUnavailable

__all__ = ["Failure", "classify", "violations_of"]

Kind = Literal[
    "invalid", "not_found", "conflict", "concurrency", "unavailable", "shutting_down", "internal"
]

log = logging.getLogger("portside.errors")

#: Seconds a client is asked to wait before retrying when a dependency is unavailable.
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True, slots=True)
class Failure:
    """An exception as the caller sees it: a kind, a message safe to show, the invalid
    fields, and for ``internal`` the opaque id that was logged next to the traceback."""

    kind: Kind
    message: str
    violations: tuple[FieldViolation, ...] = ()
    error_id: str | None = None
    retry_after: int | None = None


def violations_of(error: ValidationError) -> tuple[FieldViolation, ...]:
    """A pydantic ``ValidationError`` as field violations (``loc`` joined with dots)."""
    out: list[FieldViolation] = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "(root)"
        out.append(FieldViolation(path, str(item["msg"])))
    return tuple(out)


#: Exceptions with a fixed kind: (type, kind, message shown when the exception has none,
#: whether the exception's own text may be shown to the caller).
_KNOWN: tuple[tuple[type[BaseException], Kind, str, bool], ...] = (
    (NotFound, "not_found", "not found", True),
    (Conflict, "conflict", "conflict", True),
    (ConcurrencyError, "concurrency", "the resource changed; reload and retry", True),
    # The text of these may name hosts or URLs: the caller gets a fixed message.
    (StorageUnavailable, "unavailable", "a dependency is unavailable; retry later", False),
    # "the host is starting" or "... stopping": which one matters to the caller.
    (ShuttingDown, "shutting_down", "the service is not accepting work", True),
)


def classify(exc: BaseException, *, where: str = "") -> Failure:
    """Map ``exc`` to a :class:`Failure`; an unexpected exception is logged here, with its
    traceback and a fresh opaque id that the caller receives instead of any detail."""
    if isinstance(exc, Invalid):
        return Failure("invalid", str(exc), exc.violations)
    if isinstance(exc, ValidationError):
        violations = violations_of(exc)
        return Failure("invalid", f"{len(violations)} invalid field(s)", violations)
    for exc_type, kind, fallback, shown in _KNOWN:
        if isinstance(exc, exc_type):
            message = (str(exc) if shown else "") or fallback
            retry = RETRY_AFTER_SECONDS if kind in ("unavailable", "shutting_down") else None
            return Failure(kind, message, retry_after=retry)
    error_id = uuid.uuid4().hex
    log.error("unexpected error %s%s", error_id, f" in {where}" if where else "", exc_info=exc)
    return Failure("internal", f"internal error; quote id {error_id}", error_id=error_id)
