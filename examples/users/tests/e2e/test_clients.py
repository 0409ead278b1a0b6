"""End to end: the users service in its own process, driven by its typed clients over
HTTP (blocking and asyncio) and gRPC, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from portside.testing.process import ServiceProcess
from users.contract.client import AsyncUsersClient, UsersClient
from users.contract.errors import InvalidUser, UserAlreadyExists, UserNotFound
from users.contract.grpc_client import UsersGrpcClient

from .conftest import unique

# -- HTTP, blocking client ------------------------------------------------------------------


def test_register_get_modify_unregister_over_http(users_process: ServiceProcess) -> None:
    name = unique()
    with UsersClient(users_process.address("http")) as users:
        before = datetime.now(UTC)
        ada = users.register_user(name, department="R&D")
        assert (ada.name, ada.department) == (name, "R&D")
        assert ada.created.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=5) <= ada.created <= datetime.now(UTC)
        assert users.get_user(ada.id) == ada
        renamed = users.modify_user(ada.id, name=f"{name}-2", department=None)
        assert (renamed.id, renamed.name, renamed.department) == (ada.id, f"{name}-2", None)
        assert users.get_user(ada.id) == renamed  # the cached copy was invalidated
        users.unregister_user(ada.id)
        with pytest.raises(UserNotFound):
            users.get_user(ada.id)
        with pytest.raises(UserNotFound):
            users.unregister_user(ada.id)


def test_a_duplicate_name_is_a_typed_conflict(users_process: ServiceProcess) -> None:
    name = unique()
    with UsersClient(users_process.address("http")) as users:
        users.register_user(name)
        with pytest.raises(UserAlreadyExists, match=f"duplicate user for {name}"):
            users.register_user(name)


def test_invalid_input_names_each_field(users_process: ServiceProcess) -> None:
    with UsersClient(users_process.address("http")) as users:
        with pytest.raises(InvalidUser) as too_long:
            users.register_user("x" * 65, department="d" * 65)
        assert too_long.value.fields == {"name", "department"}
        with pytest.raises(InvalidUser) as blank:
            users.register_user("   ")  # passes the wire schema; the domain refuses it
        assert blank.value.fields == {"name"}
        with pytest.raises(InvalidUser) as limit:
            users.list_users(limit=101)
        assert limit.value.fields == {"limit"}


def test_created_users_are_listed_page_by_page(users_process: ServiceProcess) -> None:
    url = users_process.address("http")
    with UsersClient(url) as users:
        mine = {users.register_user(unique("page")).id for _ in range(7)}
        seen: list[str] = []
        cursor = None
        while True:
            page = users.list_users(limit=3, cursor=cursor)
            assert len(page.items) <= 3
            seen += [u.id for u in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert len(seen) == len(set(seen))  # no user twice
    assert mine <= set(seen)  # none missing


def test_rest_details_location_courses_and_correlation(users_process: ServiceProcess) -> None:
    url = users_process.address("http")
    created = httpx.post(
        f"{url}/users", json={"name": unique()}, headers={"X-Correlation-ID": "e2e-42"}
    )
    assert created.status_code == 201
    assert created.headers["location"] == f"/users/{created.json()['id']}"
    assert created.headers["x-correlation-id"] == "e2e-42"
    assert created.json()["created"].endswith(("Z", "+00:00"))
    courses = httpx.get(f"{url}/courses").json()["items"]
    assert [c["name"] for c in courses] == ["Go", "Python", "Rust"]
    deleted = httpx.delete(f"{url}/users/{created.json()['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert httpx.get(f"{url}/health/ready").json()["status"] == "up"
    malformed = httpx.post(
        f"{url}/users", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400


# -- HTTP, asyncio client -------------------------------------------------------------------


async def test_the_async_client_sends_its_correlation_id(users_process: ServiceProcess) -> None:
    async with AsyncUsersClient(users_process.address("http"), correlation_id="corr-7") as users:
        created = await asyncio.gather(*(users.register_user(unique("async")) for _ in range(5)))
        fetched = await asyncio.gather(*(users.get_user(u.id) for u in created))
        assert fetched == list(created)
        with pytest.raises(UserNotFound) as missing:
            await users.get_user("no-such-user")
    assert missing.value.correlation_id == "corr-7"


# -- gRPC ----------------------------------------------------------------------------------


async def test_the_same_users_over_grpc(users_process: ServiceProcess) -> None:
    name = unique()
    async with UsersGrpcClient(users_process.host_port("grpc")) as users:
        ada = await users.register_user(name, department="R&D")
        assert await users.get_user(ada.id) == ada
        with UsersClient(users_process.address("http")) as rest:
            assert rest.get_user(ada.id) == ada  # one service behind both entry points
        with pytest.raises(UserAlreadyExists):
            await users.register_user(name)
        with pytest.raises(InvalidUser) as invalid:
            await users.register_user("", department="d" * 65)
        assert invalid.value.fields == {"name", "department"}
        moved = await users.modify_user(ada.id, name=f"{name}-2", department="Ops")
        assert (moved.name, moved.department) == (f"{name}-2", "Ops")
        page = await users.list_users(limit=100)
        assert ada.id in {u.id for u in page.items} or page.next_cursor is not None
        assert [c.name for c in await users.list_courses()] == ["Go", "Python", "Rust"]
        await users.unregister_user_by_name(f"{name}-2")
        with pytest.raises(UserNotFound):
            await users.get_user(ada.id)
        with pytest.raises(UserNotFound):
            await users.unregister_user_by_name(f"{name}-2")


async def test_grpc_health_and_correlation_metadata(users_process: ServiceProcess) -> None:
    async with grpc.aio.insecure_channel(users_process.host_port("grpc")) as channel:
        health = health_pb2_grpc.HealthStub(channel)  # type: ignore[no-untyped-call]
        for service in ("", "users.v1.UserService"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        from users.contract.proto import users_pb2, users_pb2_grpc

        call = users_pb2_grpc.UserServiceStub(channel).ListCourses(
            users_pb2.ListCoursesRequest(), metadata=(("x-correlation-id", "grpc-9"),)
        )
        await call
        assert ("x-correlation-id", "grpc-9") in list(await call.trailing_metadata())
