"""Acknowledgements of one AMQP channel, coalesced.

The acks handlers make in one pass of the event loop go out together, one pass later: one
``basic.ack`` with ``multiple`` for every delivery up to the newest one below the oldest
delivery still being handled, and one ``basic.ack`` per delivery acknowledged ahead of
that one (held back, it would occupy the prefetch window until the slow one finished).
With handlers finishing in order, that is one frame for a whole pass instead of one per
delivery.

Delivery tags belong to a channel: after a reconnect the subscription starts a new
:class:`ChannelAcks` for the new channel, and acks still owed on the old one fail as a
plain ack would (the broker redelivers those messages).
"""

from __future__ import annotations

import asyncio

import aiormq.abc

__all__ = ["ChannelAcks"]


class ChannelAcks:
    def __init__(self, channel: aiormq.abc.AbstractChannel) -> None:
        self.channel = channel
        self._unsettled: set[int] = set()
        self._acked: list[int] = []
        self._flush: asyncio.Task[None] | None = None

    def delivered(self, tag: int) -> None:
        """``tag`` arrived and is being handled: no ``multiple`` ack may cover it yet."""
        self._unsettled.add(tag)

    def settled_elsewhere(self, tag: int) -> None:
        """``tag`` is being rejected or requeued: it no longer holds back other acks."""
        self._unsettled.discard(tag)

    async def ack(self, tag: int) -> None:
        """Acknowledge ``tag``; returns once the frame that does is queued for writing."""
        self._unsettled.discard(tag)
        self._acked.append(tag)
        flush = self._flush
        if flush is None:
            flush = self._flush = asyncio.ensure_future(self._send())
        # Shielded: a cancelled handler must not cancel the acks of the others in its pass.
        await asyncio.shield(flush)

    async def _send(self) -> None:
        # A task runs one pass of the loop after it is created: by now every handler that
        # finished in that pass has added its tag.
        batch, self._acked, self._flush = self._acked, [], None
        oldest = min(self._unsettled, default=None)
        if oldest is None:
            below, ahead = batch, []
        else:
            below = [tag for tag in batch if tag < oldest]
            ahead = [tag for tag in batch if tag > oldest]
        if below:
            await self.channel.basic_ack(max(below), multiple=len(below) > 1)
        for tag in ahead:
            await self.channel.basic_ack(tag)
