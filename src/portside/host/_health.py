"""Health: liveness never looks at external resources; readiness asks every registered
:class:`HealthCheck`, each bounded by a timeout, and is false while starting or stopping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from portside.config import mask_url

__all__ = ["CheckResult", "HealthCheck", "HealthReport", "run_checks"]

Status = Literal["up", "down"]


@runtime_checkable
class HealthCheck(Protocol):
    """A cheap round trip to one resource, registered where the resource is registered::

        module.add_singleton(HealthCheck, DatabasePing)

    ``check`` raises when the resource is unusable; it may return details to report
    (e.g. ``{"lag_seconds": 1.5}``).
    """

    name: str

    async def check(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: Status
    latency_ms: float
    error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
        }
        if self.error is not None:
            out["error"] = self.error
        if self.details:
            out["details"] = dict(self.details)
        return out


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: Status
    checks: tuple[CheckResult, ...] = ()
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "up"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "checks": [c.as_dict() for c in self.checks]}
        if self.reason:
            out["reason"] = self.reason
        return out


async def _one(check: HealthCheck, seconds: float) -> CheckResult:
    name = str(getattr(check, "name", type(check).__name__))
    started = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            details = await check.check()
    except TimeoutError:
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult(name, "down", elapsed, f"timed out after {seconds:g} s")
    except Exception as exc:  # noqa: BLE001 - a failing check is a result, not a crash
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult(name, "down", elapsed, mask_url(f"{type(exc).__name__}: {exc}"))
    elapsed = (time.perf_counter() - started) * 1000
    return CheckResult(name, "up", elapsed, None, dict(details or {}))


async def run_checks(checks: Sequence[HealthCheck], *, check_seconds: float) -> HealthReport:
    """Run every check concurrently, each within ``check_seconds``."""
    results = tuple(await asyncio.gather(*(_one(c, check_seconds) for c in checks)))
    status: Status = "up" if all(r.status == "up" for r in results) else "down"
    return HealthReport(status, results)
