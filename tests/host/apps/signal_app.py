"""Services run by tests/host/test_run.py in a real `portside run` process.

They print what happens, one line at a time, on stdout; the test reads those lines.
"""

import asyncio
import sys

from portside.di import Module
from portside.host import Host, Lifecycle, Service


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Worker:
    """Holds one unit of in-flight work open until a shutdown begins, then finishes it."""

    def __init__(self, lifecycle: Lifecycle, host: Host) -> None:
        self.host = host
        self.task: asyncio.Task[None] | None = None
        lifecycle.append(on_start=self.start, on_stop=self.stop, name="worker")

    async def start(self) -> None:
        self.task = asyncio.create_task(self.job())

    async def job(self) -> None:
        async with self.host.work():
            say("work begun")
            await self.host.shutdown_started()
            report = await self.host.readiness()
            say(f"readiness during drain: {report.status}")
            say("work done")

    async def stop(self) -> None:
        say(f"stop hook ran; in flight: {self.host.in_flight}")


class Stubborn:
    """A stop hook that never returns: only a second signal ends the process."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        lifecycle.on_stop(self.stop, name="stubborn")
        lifecycle.on_start(lambda: say("stubborn started"), name="announce")

    async def stop(self) -> None:
        say("stubborn stop hook entered")
        await asyncio.Event().wait()


class Failing:
    def __init__(self, lifecycle: Lifecycle) -> None:
        lifecycle.append(on_start=self.start, on_stop=lambda: say("rolled back"), name="fails")

    async def start(self) -> None:
        raise RuntimeError("cannot reach the database")


def graceful() -> Service:
    return Service("graceful", modules=[Module("worker").add_singleton(Worker)], start=[Worker])


def stubborn() -> Service:
    return Service(
        "stubborn", modules=[Module("stubborn").add_singleton(Stubborn)], start=[Stubborn]
    )


failing = Service("failing", modules=[Module("failing").add_singleton(Failing)], start=[Failing])
