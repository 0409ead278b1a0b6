"""The typed gRPC client of the users service, with the same methods, DTOs and errors as
the HTTP clients.

```python
async with UsersGrpcClient("127.0.0.1:50051") as users:
    ada = await users.register_user("Ada", department="R&D")
```

Every call sends ``x-correlation-id`` metadata, runs under a deadline, and is retried
with backoff only when it is idempotent (every call but ``register_user``) and the status
was UNAVAILABLE or DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ._calls import Retry, correlation_id
from .convert import course_from_pb, page_from_pb, user_from_pb
from .dtos import Course, User, UserPage
from .errors import (
    FieldProblem,
    InvalidUser,
    ServiceUnavailable,
    UnexpectedResponse,
    UserAlreadyExists,
    UserNotFound,
    UsersError,
)
from .proto import users_pb2 as pb
from .proto import users_pb2_grpc

__all__ = ["UsersGrpcClient"]

T = TypeVar("T")

DEFAULT_TARGET = "127.0.0.1:50051"
# grpcio-status ships without annotations; this is its documented signature.
_status_of: Callable[[grpc.aio.AioRpcError], Any] = rpc_status.from_call
_RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class UsersGrpcClient:
    """An asyncio client over one channel; ``async with`` closes it."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = 5.0,
        retry: Retry | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.retry = retry or Retry()
        self.correlation_id = correlation_id
        self._channel = grpc.aio.insecure_channel(target)
        self._stub = users_pb2_grpc.UserServiceStub(self._channel)

    async def register_user(self, name: str, department: str | None = None) -> User:
        request = pb.RegisterUserRequest(name=name, department=department)
        reply = await self._run(self._stub.RegisterUser, request, idempotent=False)
        return user_from_pb(reply)

    async def get_user(self, user_id: str) -> User:
        reply = await self._run(self._stub.GetUser, pb.GetUserRequest(id=user_id))
        return user_from_pb(reply)

    async def list_users(self, *, limit: int = 20, cursor: str | None = None) -> UserPage:
        request = pb.ListUsersRequest(limit=limit, cursor=cursor or "")
        return page_from_pb(await self._run(self._stub.ListUsers, request))

    async def modify_user(self, user_id: str, *, name: str, department: str | None = None) -> User:
        request = pb.ModifyUserRequest(id=user_id, name=name, department=department)
        return user_from_pb(await self._run(self._stub.ModifyUser, request))

    async def unregister_user(self, user_id: str) -> None:
        await self._run(self._stub.UnregisterUser, pb.UnregisterUserRequest(id=user_id))

    async def unregister_user_by_name(self, name: str) -> None:
        await self._run(self._stub.UnregisterUser, pb.UnregisterUserRequest(name=name))

    async def list_courses(self) -> list[Course]:
        reply = await self._run(self._stub.ListCourses, pb.ListCoursesRequest())
        return [course_from_pb(item) for item in reply.items]

    async def _run(
        self, rpc: Callable[..., Awaitable[T]], request: Any, *, idempotent: bool = True
    ) -> T:
        cid = correlation_id(self.correlation_id)
        metadata = (("x-correlation-id", cid),)
        attempt = 0
        while True:
            try:
                return await rpc(request, timeout=self.timeout, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                retry = idempotent and exc.code() in _RETRY_CODES
                if not retry or attempt >= self.retry.attempts:
                    raise _error(exc, cid) from exc
            await asyncio.sleep(self.retry.delay(attempt))
            attempt += 1

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _error(exc: grpc.aio.AioRpcError, cid: str) -> UsersError:
    code = exc.code()
    detail = f"{code.name}: {exc.details()}"
    if code == grpc.StatusCode.NOT_FOUND:
        return UserNotFound(detail, correlation_id=cid)
    if code in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.ABORTED):
        return UserAlreadyExists(detail, correlation_id=cid)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidUser(detail, _field_problems(exc), correlation_id=cid)
    if code in _RETRY_CODES:
        return ServiceUnavailable(detail, correlation_id=cid)
    return UnexpectedResponse(detail, int(code.value[0]), correlation_id=cid)


def _field_problems(exc: grpc.aio.AioRpcError) -> list[FieldProblem]:
    status = _status_of(exc)
    problems: list[FieldProblem] = []
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            problems.extend(FieldProblem(v.field, v.description) for v in bad.field_violations)
    return problems
