"""The outbox relay: publishes committed outbox entries, marks them sent, and retries with
backoff while the broker is down. Several relays may run at once: leases keep them from
publishing one entry twice (beyond at-least-once after a crash).

Each pass claims a batch and marks it sent: two transactions however many entries it
holds. A commit wakes the relay at once, but a pass that found less than a full batch is
followed by the next one no sooner than ``min_interval`` after it began: under a steady
stream of commits the entries of that interval go out in one pass instead of a pass each,
while a commit after a quiet spell still goes out at once, and a backlog (full batches)
is worked off without a pause."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from portside.storage import Claimed, Outbox, StorageError

from ._errors import BrokerUnavailable
from ._transport import RetryPolicy, Transport

__all__ = ["OutboxRelay"]

log = logging.getLogger("portside.messaging.relay")


class OutboxRelay:
    """A host component: ``start`` and ``stop`` are its lifecycle hooks; ``min_interval``
    spaces passes that found less than a full batch (see the module docstring)."""

    def __init__(
        self,
        outbox: Outbox,
        transport: Transport,
        *,
        batch: int = 100,
        lease_seconds: float = 30.0,
        idle_seconds: float = 1.0,
        min_interval: float = 0.0,
        backoff: RetryPolicy | None = None,
    ) -> None:
        if min_interval < 0:
            raise ValueError(f"min_interval is at least 0, got {min_interval}")
        self.outbox = outbox
        self.transport = transport
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.idle_seconds = idle_seconds
        self.min_interval = min_interval
        self.backoff = backoff or RetryPolicy(max_attempts=1_000_000, base_delay=0.1, max_delay=5)
        self.owner = f"relay-{uuid.uuid4().hex[:12]}"
        self.published = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._failures = 0

    async def run_once(self) -> int:
        """Publish one batch; return how many entries were published.

        The batch goes out concurrently: the entries of one key one after another, in the
        order they were committed, and every other key (and each entry without one) at the
        same time. When a publish fails, the entries published are marked sent, the failed
        one and those after it of its key are released for a later attempt, and the error
        is raised.
        """
        claimed = await self.outbox.claim(
            owner=self.owner, limit=self.batch, lease_seconds=self.lease_seconds
        )
        if not claimed:
            return 0
        chains: dict[object, list[Claimed]] = {}
        for entry in claimed:
            chains.setdefault(entry.key if entry.key is not None else entry, []).append(entry)
        sent: list[Claimed] = []

        async def publish(chain: list[Claimed]) -> None:
            for entry in chain:
                await self.transport.publish(
                    entry.topic,
                    entry.body,
                    key=entry.key,
                    message_id=entry.message_id,
                    dedupe=True,  # an entry is published again if its lease ran out
                )
                sent.append(entry)

        outcomes = await asyncio.gather(
            *(publish(chain) for chain in chains.values()), return_exceptions=True
        )
        await self.outbox.mark_sent(sent)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            done = {id(entry) for entry in sent}
            error = failures[0]
            await self.outbox.release(
                [e for e in claimed if id(e) not in done], error=f"{type(error).__name__}: {error}"
            )
            raise error
        self.published += len(sent)
        return len(sent)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            self._wake.clear()  # before looking: a kick while it looks is not lost
            try:
                count = await self.run_once()
                self._failures = 0
            except (BrokerUnavailable, StorageError, OSError) as exc:
                self._failures += 1
                delay = self.backoff.delay(self._failures)
                log.warning("outbox relay: %s; retrying in %.2f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            # A batch that was not full took every entry free to take: a commit since kicks
            # the relay, and entries whose lease ended or that another relay released are
            # found at the next poll.
            if count < self.batch:
                self._idle.set()
                try:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.idle_seconds):
                            await self._wake.wait()
                finally:
                    self._idle.clear()
                # Woken (or polling): the next pass waits out the rest of min_interval,
                # so that the commits of a busy spell share it.
                rest = began + self.min_interval - loop.time()
                if rest > 0:
                    await asyncio.sleep(rest)

    async def until_idle(self) -> None:
        """Return once the relay has looked, has nothing left in hand, and waits for more."""
        await self._idle.wait()

    def kick(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.owner)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def lag(self) -> dict[str, float | int | None]:
        """Readiness details: unsent entries and the age of the oldest (seconds)."""
        count, oldest = await self.outbox.pending()
        return {"pending": count, "oldest_seconds": oldest}
