"""The Redis unit of work: staged writes, applied in one MULTI/EXEC under WATCH."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from portside.config import mask_url
from portside.storage._errors import ConcurrencyError, Conflict, StorageUnavailable
from portside.storage._outbox import AlreadyProcessed, Claimed, EventEncoder
from portside.storage._staged import StagedUnitOfWork, Write

__all__ = ["RedisUnitOfWork", "translate"]

ATTEMPTS = 5  # a WATCH race is retried: the checks then see the other commit
Keys = dict[str, dict[str, str]]  # {"unique": {field: value}, "indexed": {field: value}}


def translate(exc: BaseException) -> BaseException:
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError)):
        return StorageUnavailable(f"redis is unavailable: {mask_url(str(exc))}")
    return exc


class RedisUnitOfWork(StagedUnitOfWork):
    """A unit of work over a Redis client; it is a document store."""

    def __init__(
        self, client: Redis, prefix: str = "portside", encoder: EventEncoder | None = None
    ) -> None:
        super().__init__(encoder)
        self._client = client
        self._prefix = prefix

    def _inbox_key(self, group: str, message_id: str) -> str:
        return f"{self._prefix}:inbox:{group}:{message_id}"

    async def has_processed(self, group: str, message_id: str) -> bool:
        try:
            return bool(await self._client.exists(self._inbox_key(group, message_id)))
        except RedisError as exc:
            raise translate(exc) from exc

    def _doc(self, collection: str, key: str) -> str:
        return f"{self._prefix}:doc:{collection}:{key}"

    def _uniq(self, collection: str, name: str, value: str) -> str:
        return f"{self._prefix}:uniq:{collection}:{name}:{value}"

    def _idx(self, collection: str, name: str, value: str) -> str:
        return f"{self._prefix}:idx:{collection}:{name}:{value}"

    async def load(self, collection: str, key: str) -> tuple[dict[str, Any], int] | None:
        self.require_active()
        try:
            row = await self._client.hmget(self._doc(collection, key), ["body", "version"])
        except RedisError as exc:
            raise translate(exc) from exc
        if row[0] is None:
            return None
        return json.loads(row[0]), int(str(row[1]))

    async def find(self, collection: str, field: str, value: str) -> list[str]:
        self.require_active()
        try:
            owner = await self._client.get(self._uniq(collection, field, value))
            if owner is not None:
                return [_text(owner)]
            members = await self._client.smembers(self._idx(collection, field, value))
        except RedisError as exc:
            raise translate(exc) from exc
        return sorted(_text(m) for m in members)

    async def _apply(self, writes: list[Write]) -> None:
        try:
            for _ in range(ATTEMPTS):
                try:
                    await self._transaction(writes)
                except WatchError:
                    continue
                return
        except RedisError as exc:
            raise translate(exc) from exc
        raise ConcurrencyError("the data kept changing under this unit of work; try again")

    async def _transaction(self, writes: list[Write]) -> None:
        """Check every write under WATCH, then apply them all in one MULTI/EXEC."""
        watched = {self._doc(w.collection, w.key) for w in writes}
        watched |= {self._uniq(w.collection, n, v) for w in writes for n, v in w.unique.items()}
        inbox = None if self._inbox is None else self._inbox_key(*self._inbox)
        if inbox is not None:
            watched.add(inbox)
        async with self._client.pipeline(transaction=True) as pipe:
            if watched:
                await pipe.watch(*sorted(watched))
            if inbox is not None and await pipe.exists(inbox):
                group, message_id = self._inbox  # type: ignore[misc]
                raise AlreadyProcessed(f"group {group!r} already processed {message_id}")
            plan = await self._check(pipe, writes)
            pipe.multi()  # type: ignore[no-untyped-call]
            for write, version, old_keys in plan:
                self._queue(pipe, write, version, old_keys)
            if inbox is not None:
                pipe.set(inbox, "1")
            now = f"{time.time():.6f}"
            for record in self._records:
                fields = {
                    "message_id": record.message_id,
                    "topic": record.topic,
                    "key": record.key or "",
                    "body": record.body,
                    "created": now,
                }
                pipe.xadd(f"{self._prefix}:outbox", fields)  # type: ignore[arg-type]
            await pipe.execute()

    async def _check(self, pipe: Any, writes: list[Write]) -> list[tuple[Write, int, Keys]]:
        """Versions and unique values, read under WATCH; each write with its new version
        and the keys its document held before."""
        state: dict[str, tuple[int, Keys] | None] = {}  # doc key -> as this commit goes
        plan: list[tuple[Write, int, Keys]] = []
        claimed: dict[str, str] = {}
        for write in writes:
            doc = self._doc(write.collection, write.key)
            if doc not in state:
                body, version, held = await pipe.hmget(doc, ["body", "version", "keys"])
                state[doc] = None if body is None else (int(str(version)), json.loads(held or "{}"))
            found = state[doc]
            if write.kind == "insert" and found is not None:
                raise Conflict(f"{write.collection} {write.key!r} already exists")
            if write.kind != "insert" and (found is None or found[0] != write.expected):
                raise ConcurrencyError(
                    f"{write.collection} {write.key!r} changed since it was loaded "
                    f"(expected version {write.expected})"
                )
            for name, value in write.unique.items():
                unique_key = self._uniq(write.collection, name, value)
                owner = claimed.get(unique_key)
                if owner is None:
                    stored = await pipe.get(unique_key)
                    owner = None if stored is None else _text(stored)
                if owner is not None and owner != write.key:
                    raise Conflict(f"{write.collection} {name} {value!r} is already taken")
                claimed[unique_key] = write.key
            new_version = (0 if found is None else found[0]) + 1
            plan.append((write, new_version, {} if found is None else found[1]))
            new_keys: Keys = {"unique": dict(write.unique), "indexed": dict(write.indexed)}
            state[doc] = None if write.kind == "delete" else (new_version, new_keys)
        return plan

    def _queue(self, pipe: Any, write: Write, version: int, old_keys: Keys) -> None:
        doc = self._doc(write.collection, write.key)
        for name, value in old_keys.get("unique", {}).items():
            pipe.delete(self._uniq(write.collection, name, value))
        for name, value in old_keys.get("indexed", {}).items():
            pipe.srem(self._idx(write.collection, name, value), write.key)
        if write.kind == "delete":
            pipe.delete(doc)
            return
        keys = json.dumps({"unique": dict(write.unique), "indexed": dict(write.indexed)})
        pipe.hset(doc, mapping={"body": write.body, "version": version, "keys": keys})
        for name, value in write.unique.items():
            pipe.set(self._uniq(write.collection, name, value), write.key)
        for name, value in write.indexed.items():
            pipe.sadd(self._idx(write.collection, name, value), write.key)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


RELAYS = "relays"  # the consumer group relays read the outbox stream with

# One claim, run atomically: entries whose lease ended (or was given back) are taken over
# first, then entries no relay has read yet; each is leased before another claim can look.
_CLAIM = """
local stream, leases, attempts = KEYS[1], KEYS[2], KEYS[3]
local group, owner = ARGV[1], ARGV[2]
local limit, now, lease_until = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local entries = {}
for _, item in ipairs(redis.call('XPENDING', stream, group, '-', '+', limit * 4)) do
  if #entries >= limit then break end
  local lease = redis.call('HGET', leases, item[1])
  if not lease or tonumber(lease) < now then
    for _, entry in ipairs(redis.call('XCLAIM', stream, group, owner, 0, item[1])) do
      if entry then table.insert(entries, entry) end
    end
  end
end
if #entries < limit then
  local fresh = redis.call(
    'XREADGROUP', 'GROUP', group, owner, 'COUNT', limit - #entries, 'STREAMS', stream, '>')
  if fresh then
    for _, entry in ipairs(fresh[1][2]) do table.insert(entries, entry) end
  end
end
local claimed = {}
for _, entry in ipairs(entries) do
  redis.call('HSET', leases, entry[1], lease_until)
  table.insert(claimed, {entry[1], entry[2], redis.call('HGET', attempts, entry[1])})
end
return claimed
"""


class RedisOutbox:
    """The relay's view of the outbox stream: a consumer group of relays, leases kept in a
    hash so that an entry whose relay crashed is claimed again once its lease ends."""

    def __init__(self, client: Redis, prefix: str = "portside") -> None:
        self._client: Any = client  # decode_responses=True: every reply is text
        self._stream = f"{prefix}:outbox"
        self._leases = f"{prefix}:outbox:leases"
        self._attempts = f"{prefix}:outbox:attempts"
        self._claim = client.register_script(_CLAIM)
        self._ready = False

    async def _group(self) -> None:
        if self._ready:
            return
        try:
            await self._client.xgroup_create(self._stream, RELAYS, id="0", mkstream=True)
        except RedisError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._ready = True

    async def claim(self, *, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        try:
            await self._group()
            now = time.time()
            rows = await self._claim(
                keys=[self._stream, self._leases, self._attempts],
                args=[RELAYS, owner, limit, repr(now), repr(now + lease_seconds)],
            )
        except RedisError as exc:
            raise translate(exc) from exc
        claimed = []
        for entry_id, flat, attempts in rows:
            fields = dict(zip(flat[::2], flat[1::2], strict=True))
            claimed.append(
                Claimed(
                    entry_id,
                    fields["message_id"],
                    fields["topic"],
                    fields["key"] or None,
                    fields["body"],
                    int(attempts or 0),
                )
            )
        return claimed

    async def mark_sent(self, entries: Sequence[Claimed]) -> None:
        if not entries:
            return
        ids = [e.id for e in entries]
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, RELAYS, *ids)
                pipe.xdel(self._stream, *ids)
                pipe.hdel(self._leases, *ids)
                pipe.hdel(self._attempts, *ids)
                await pipe.execute()
        except RedisError as exc:
            raise translate(exc) from exc

    async def release(self, entries: Sequence[Claimed], *, error: str) -> None:
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for entry in entries:
                    pipe.hset(self._leases, entry.id, "0")
                    pipe.hincrby(self._attempts, entry.id, 1)
                await pipe.execute()
        except RedisError as exc:
            raise translate(exc) from exc

    async def pending(self) -> tuple[int, float | None]:
        try:
            count = await self._client.xlen(self._stream)
            first = await self._client.xrange(self._stream, "-", "+", count=1)
        except RedisError as exc:
            raise translate(exc) from exc
        if not first:
            return 0, None
        return int(count), time.time() - float(first[0][1]["created"])
