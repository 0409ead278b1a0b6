"""The users service's gRPC entry adapter: ``users.v1.UserService`` over the use cases.

The servicer is built once; each method receives its use case from the call's DI scope,
so each call has its own unit of work. Errors come from portside's interceptor: an
invalid field is INVALID_ARGUMENT with ``google.rpc.BadRequest`` violations, an unknown
user NOT_FOUND, a taken name ALREADY_EXISTS.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.empty_pb2 import Empty

from portside.errors import Invalid
from portside.grpc import GrpcService, Inject
from users.application import (
    GetUser,
    ListCourses,
    ListUsers,
    ModifyUser,
    RegisterUser,
    UnregisterUser,
)
from users.contract.convert import course_to_pb, user_to_pb
from users.contract.proto import users_pb2 as pb
from users.contract.proto import users_pb2_grpc
from users.domain import User

from ._kept import keep
from .wire import UserKey, course_dto, user_dto, user_key

__all__ = ["MESSAGES_MAX", "UserServicer", "grpc_service", "user_message"]

Context = Any  # grpc.aio.ServicerContext; unused by these methods

MESSAGES_MAX = 4096
"""User messages kept by :func:`user_message`, by the user's fields."""

_sent: dict[UserKey, pb.User] = {}


def user_message(user: User) -> pb.User:
    """``user`` as a reply message, made from its DTO.

    The last :data:`MESSAGES_MAX` made are kept by the user's fields and handed out again,
    as :func:`~users.adapters.wire.user_dto` keeps DTOs: a user read again is not built into
    a message again (its timestamp above all, most of what a cached ``GetUser`` cost in
    this adapter). A kept message is shared, so it is only ever returned to grpc, which
    serialises it; a message that holds it (``ListUsersResponse``) holds a copy.
    """
    key = user_key(user)
    message = _sent.get(key)
    if message is None:
        message = keep(_sent, key, user_to_pb(user_dto(user)), MESSAGES_MAX)
    return message


class UserServicer:
    """Built once. Each method takes its use case from the call's scope, so a call builds
    only the use case it runs, with a unit of work of its own. It does not subclass the
    generated ``UserServiceServicer``: its methods take more parameters than that base's,
    and the server checks at start that every RPC of the service has one."""

    async def RegisterUser(  # noqa: N802 - the RPC's name
        self, request: pb.RegisterUserRequest, context: Context, register: Inject[RegisterUser]
    ) -> pb.User:
        department = request.department if request.HasField("department") else None
        return user_message(await register(request.name, department))

    async def GetUser(  # noqa: N802
        self, request: pb.GetUserRequest, context: Context, get: Inject[GetUser]
    ) -> pb.User:
        return user_message(await get(request.id))

    async def ListUsers(  # noqa: N802
        self, request: pb.ListUsersRequest, context: Context, list_users: Inject[ListUsers]
    ) -> pb.ListUsersResponse:
        page = await list_users(request.limit or None, request.cursor or None)
        return pb.ListUsersResponse(
            items=[user_message(u) for u in page.items],
            next_cursor=page.next_cursor or "",
        )

    async def ModifyUser(  # noqa: N802
        self, request: pb.ModifyUserRequest, context: Context, modify: Inject[ModifyUser]
    ) -> pb.User:
        department = request.department if request.HasField("department") else None
        return user_message(await modify(request.id, request.name, department))

    async def UnregisterUser(  # noqa: N802
        self,
        request: pb.UnregisterUserRequest,
        context: Context,
        unregister: Inject[UnregisterUser],
    ) -> Empty:
        target = request.WhichOneof("target")
        if target == "id":
            await unregister.by_id(request.id)
        elif target == "name":
            await unregister.by_name(request.name)
        else:
            raise Invalid.field("target", "set either id or name")
        return Empty()

    async def ListCourses(  # noqa: N802
        self, request: pb.ListCoursesRequest, context: Context, list_courses: Inject[ListCourses]
    ) -> pb.ListCoursesResponse:
        courses = await list_courses()
        return pb.ListCoursesResponse(items=[course_to_pb(course_dto(c)) for c in courses])


def grpc_service() -> GrpcService:
    """The declaration the composition root registers."""
    return GrpcService(
        users_pb2_grpc.add_UserServiceServicer_to_server, UserServicer, name="users.v1.UserService"
    )
