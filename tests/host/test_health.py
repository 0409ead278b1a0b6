"""Readiness runs every check with a timeout and reports each one."""

import asyncio
from collections.abc import Mapping
from typing import Any

from portside.host import HealthCheck, run_checks


class Ok:
    name = "database"

    async def check(self) -> Mapping[str, Any] | None:
        return {"pool": 3}


class Broken:
    name = "broker"

    async def check(self) -> None:
        raise ConnectionError("connection refused to amqp://guest:guest@127.0.0.1:1/")


class Hangs:
    name = "cache"

    def __init__(self) -> None:
        self.never = asyncio.Event()

    async def check(self) -> None:
        await self.never.wait()


async def test_all_checks_up_means_up_with_details_and_latency() -> None:
    report = await run_checks([Ok()], check_seconds=1)
    assert report.ok
    (result,) = report.checks
    assert (result.name, result.status, result.details) == ("database", "up", {"pool": 3})
    assert result.latency_ms >= 0
    assert report.as_dict()["checks"][0]["details"] == {"pool": 3}


async def test_one_failing_or_hanging_check_makes_it_down_and_names_each() -> None:
    report = await run_checks([Ok(), Broken(), Hangs()], check_seconds=0.05)
    assert report.status == "down"
    by_name = {c.name: c for c in report.checks}
    assert by_name["database"].status == "up"
    assert by_name["broker"].status == "down"
    assert by_name["broker"].error is not None
    assert by_name["broker"].error.startswith("ConnectionError: connection refused")
    assert "guest:guest" not in by_name["broker"].error  # credentials in URLs are masked
    assert by_name["cache"].error == "timed out after 0.05 s"


class Meets:
    """Passes only when all its siblings are being checked at the same time."""

    name = "meets"

    def __init__(self, barrier: asyncio.Barrier) -> None:
        self.barrier = barrier

    async def check(self) -> None:
        await self.barrier.wait()


async def test_checks_run_concurrently() -> None:
    barrier = asyncio.Barrier(5)
    report = await run_checks([Meets(barrier) for _ in range(5)], check_seconds=5)
    assert [c.status for c in report.checks] == ["up"] * 5


def test_health_checks_satisfy_the_port() -> None:
    assert isinstance(Ok(), HealthCheck)
