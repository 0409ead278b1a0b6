"""The system clock."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SystemClock"]


class SystemClock:
    """The current time in UTC (never a naive time)."""

    def now(self) -> datetime:
        return datetime.now(UTC)
