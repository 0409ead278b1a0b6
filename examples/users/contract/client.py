"""Typed HTTP clients of the users service: :class:`UsersClient` (blocking) and
:class:`AsyncUsersClient`, with the same methods, DTOs and errors as
:class:`~users.contract.grpc_client.UsersGrpcClient`.

```python
with UsersClient("http://127.0.0.1:8000") as users:
    ada = users.register_user("Ada", department="R&D")
    assert users.get_user(ada.id) == ada
```

Every call sends ``X-Correlation-ID`` (the client's own, else the one bound for logging,
else a new one), runs under a timeout, and is retried with backoff only when retrying
cannot apply it twice: idempotent calls after a timeout or a 502/503/504, any call when the
connection could not be made.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Self, TypeVar

import httpx

from . import _calls
from ._calls import Call, Retry
from .dtos import Course, User, UserPage

__all__ = ["AsyncUsersClient", "UsersClient"]

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"


class UsersClient:
    """Blocking client; one connection pool per client (use it as a context manager)."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = 5.0,
        retry: Retry | None = None,
        correlation_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retry = retry or Retry()
        self.correlation_id = correlation_id
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def register_user(self, name: str, department: str | None = None) -> User:
        return self._run(_calls.register_user(name, department))

    def get_user(self, user_id: str) -> User:
        return self._run(_calls.get_user(user_id))

    def list_users(self, *, limit: int = 20, cursor: str | None = None) -> UserPage:
        return self._run(_calls.list_users(limit, cursor))

    def modify_user(self, user_id: str, *, name: str, department: str | None = None) -> User:
        return self._run(_calls.modify_user(user_id, name, department))

    def unregister_user(self, user_id: str) -> None:
        self._run(_calls.unregister_user(user_id))

    def list_courses(self) -> list[Course]:
        return self._run(_calls.list_courses())

    def _run(self, call: Call[T]) -> T:
        cid = _calls.correlation_id(self.correlation_id)
        headers = {"X-Correlation-ID": cid}
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts or not _calls.retryable(call, exc, None):
                    raise _calls.unreachable(call, exc, cid) from exc
            else:
                status = response.status_code
                if attempt >= self.retry.attempts or not _calls.retryable(call, None, status):
                    return _calls.outcome(call, response, cid)
            time.sleep(self.retry.delay(attempt))
            attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncUsersClient:
    """The asyncio client; ``async with AsyncUsersClient(url) as users: ...``."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = 5.0,
        retry: Retry | None = None,
        correlation_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retry = retry or Retry()
        self.correlation_id = correlation_id
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def register_user(self, name: str, department: str | None = None) -> User:
        return await self._run(_calls.register_user(name, department))

    async def get_user(self, user_id: str) -> User:
        return await self._run(_calls.get_user(user_id))

    async def list_users(self, *, limit: int = 20, cursor: str | None = None) -> UserPage:
        return await self._run(_calls.list_users(limit, cursor))

    async def modify_user(self, user_id: str, *, name: str, department: str | None = None) -> User:
        return await self._run(_calls.modify_user(user_id, name, department))

    async def unregister_user(self, user_id: str) -> None:
        await self._run(_calls.unregister_user(user_id))

    async def list_courses(self) -> list[Course]:
        return await self._run(_calls.list_courses())

    async def _run(self, call: Call[T]) -> T:
        cid = _calls.correlation_id(self.correlation_id)
        headers = {"X-Correlation-ID": cid}
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts or not _calls.retryable(call, exc, None):
                    raise _calls.unreachable(call, exc, cid) from exc
            else:
                status = response.status_code
                if attempt >= self.retry.attempts or not _calls.retryable(call, None, status):
                    return _calls.outcome(call, response, cid)
            await asyncio.sleep(self.retry.delay(attempt))
            attempt += 1

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
