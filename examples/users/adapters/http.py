"""The users service's REST entry adapter: FastAPI routes over the use cases.

The request and response bodies are the contract's DTOs, so ``/openapi.json`` is the
contract the typed clients follow. Errors come from portside as problem+json: an invalid
field 422, an unknown user 404, a taken name 409.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict

from portside.host import Lifecycle, Startup
from portside.http import HttpServer, Inject, Routes, problem_responses
from users.application import (
    MAX_PAGE,
    GetUser,
    ListCourses,
    ListUsers,
    ModifyUser,
    RegisterUser,
    UnregisterUser,
)
from users.contract import dtos

from .wire import course_dto, user_dto

__all__ = ["CourseList", "FirstRequestHint", "http_routes", "router"]

log = logging.getLogger("users")

router = APIRouter(tags=["users"])

UserId = Annotated[str, Path(min_length=1, max_length=64, description="the user's id")]


class CourseList(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[dtos.Course]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409),
    summary="Register a user",
)
async def register_user(
    body: dtos.NewUser, response: Response, register: Inject[RegisterUser]
) -> dtos.User:
    user = await register(body.name, body.department)
    response.headers["Location"] = f"/users/{user.id}"
    return user_dto(user)


@router.get("/users", summary="List users, oldest first, a page at a time")
async def list_users(
    list_users: Inject[ListUsers],
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="default 20")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> dtos.UserPage:
    page = await list_users(limit, cursor)
    return dtos.UserPage(items=[user_dto(u) for u in page.items], next_cursor=page.next_cursor)


@router.get("/users/{user_id}", responses=problem_responses(404), summary="Get a user")
async def get_user(user_id: UserId, get: Inject[GetUser]) -> dtos.User:
    return user_dto(await get(user_id))


@router.put("/users/{user_id}", responses=problem_responses(404, 409), summary="Change a user")
async def modify_user(
    user_id: UserId, body: dtos.UserChanges, modify: Inject[ModifyUser]
) -> dtos.User:
    return user_dto(await modify(user_id, body.name, body.department))


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
    summary="Unregister a user",
)
async def unregister_user(user_id: UserId, unregister: Inject[UnregisterUser]) -> Response:
    await unregister.by_id(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/courses", summary="List the courses")
async def list_courses(list_courses: Inject[ListCourses]) -> CourseList:
    return CourseList(items=[course_dto(c) for c in await list_courses()])


def http_routes() -> Routes:
    """The declaration the composition root registers: ``Routes(router)``."""
    return Routes(router)


class FirstRequestHint(Startup):
    """Logs a first request to try, once the HTTP server listens (its start hook runs
    after the server's, because this component is built after it)."""

    def __init__(self, server: HttpServer, lifecycle: Lifecycle) -> None:
        self.server = server
        lifecycle.on_start(self.show, name="users: first request hint")

    async def show(self) -> None:
        body = '{"name": "Ada Lovelace", "department": "R&D"}'
        log.info(
            "try: curl -si %s/users -H 'content-type: application/json' -d '%s'  "
            "(API docs: %s/docs)",
            self.server.url,
            body,
            self.server.url,
        )
