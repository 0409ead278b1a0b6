"""The service as the host runs it: chosen by configuration, seeded at start, its events
delivered to another service through the outbox; the repositories follow the store."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from portside.config import ConfigError, load_config
from portside.di import Module
from portside.host import Host, Service
from portside.http import HttpServer
from portside.messaging import Envelope, Handler
from portside.testing.messaging import Seen
from portside.testing.servers import require_server
from users.adapters.documents import DocumentUsers
from users.adapters.sql import SqlUsers
from users.application import (
    GetUser,
    ListCourses,
    ListUsers,
    RegisterUser,
    UserRepository,
)
from users.composition import UsersSettings, service
from users.domain import UserRegistered

APP = '[services.users]\napp = "users.composition:service"\n'


def host_for(tmp_path: Path, text: str, *others: Service) -> Host:
    path = tmp_path / "portside.toml"
    path.write_text(f"{text}\n[http]\nport = 0\n[grpc]\nport = 0\n")
    return Host(load_config(path, environ={}), [service(), *others])


async def course_names(host: Host) -> list[str]:
    async with host.providers["users"].create_scope() as scope:
        return [c.name for c in await (await scope.aget(ListCourses))()]


@dataclass
class Audit:
    """Another service's handler of UserRegistered."""

    seen: Seen

    async def __call__(self, event: UserRegistered) -> None:
        await self.seen.add((event.user_id, event.name))


def test_the_service_declares_what_it_needs() -> None:
    users = service()
    assert users.name == "users"
    assert set(users.requires) == {"storage", "messaging", "cache", "http", "grpc"}
    assert users.settings is UsersSettings
    assert users.migrations == "users.migrations"
    assert set(users.tables.tables) == {"users", "courses"}


async def test_on_memory_it_seeds_serves_and_publishes_to_another_service(
    tmp_path: Path,
) -> None:
    seen = Seen()
    group = f"audit-{uuid.uuid4().hex[:8]}"  # the in-process broker outlives this test
    audit_module = Module("audit").add_singleton(
        Handler, instance=Handler(UserRegistered, Audit(seen), group=group)
    )
    audit = Service("audit", modules=[audit_module], requires=["storage", "messaging"])
    host = host_for(
        tmp_path,
        '[storage]\nprovider = "memory"\n[messaging]\nprovider = "memory"\n'
        'relay_poll_seconds = 0.05\n[cache]\nprovider = "memory"\n'
        f'{APP}seed_courses = ["Rust", "Go"]\npage_size = 2\n',
        audit,
    )
    await host.start()
    try:
        assert await course_names(host) == ["Go", "Rust"]
        provider = host.providers["users"]
        async with provider.create_scope() as scope:
            assert isinstance(await scope.aget(UserRepository), DocumentUsers)
            ada = await (await scope.aget(RegisterUser))("ada", "R&D")
        async with provider.create_scope() as scope:
            assert (await (await scope.aget(GetUser))(ada.id)).name == "ada"
        async with provider.create_scope() as scope:
            for name in ("grace", "edsger"):
                await (await scope.aget(RegisterUser))(name)
        async with provider.create_scope() as scope:
            page = await (await scope.aget(ListUsers))()
            assert len(page.items) == 2  # page_size from [services.users]
        assert (await seen.wait_for(3))[0] == (ada.id, "ada")
        report = await host.readiness()
        assert report.ok
        assert {c.name for c in report.checks} >= {"storage.memory", "messaging.memory"}
    finally:
        await host.stop()


async def test_on_sqlite_it_migrates_seeds_once_and_keeps_its_data(tmp_path: Path) -> None:
    storage = (
        f'[storage]\nprovider = "sql"\nurl = "sqlite+aiosqlite:///{tmp_path / "users.db"}"\n'
        'migrate_on_start = true\n[messaging]\nprovider = "memory"\n'
    )
    first = host_for(tmp_path, storage + APP + 'seed_courses = ["Go", "Python"]\n')
    await first.start()
    try:
        assert await course_names(first) == ["Go", "Python"]
        async with first.providers["users"].create_scope() as scope:
            assert isinstance(await scope.aget(UserRepository), SqlUsers)
            ada = await (await scope.aget(RegisterUser))("ada", None)
        assert {c.name for c in (await first.readiness()).checks} >= {"storage.sql"}
    finally:
        await first.stop()
    second = host_for(tmp_path, storage + APP + 'seed_courses = ["Go", "Python", "Rust"]\n')
    await second.start()
    try:
        assert await course_names(second) == ["Go", "Python", "Rust"]  # only Rust was added
        async with second.providers["users"].create_scope() as scope:
            stored = await (await scope.aget(GetUser))(ada.id)
        assert (stored.name, stored.created) == ("ada", ada.created)
    finally:
        await second.stop()


@pytest.mark.redis
async def test_on_redis_documents_and_the_cache_live_under_their_prefixes(
    tmp_path: Path,
) -> None:
    require_server("Redis", "127.0.0.1", 6379)
    storage_prefix, cache_prefix = f"t{uuid.uuid4().hex[:12]}", f"t{uuid.uuid4().hex[:12]}"
    host = host_for(
        tmp_path,
        f'[storage]\nprovider = "redis"\nkey_prefix = "{storage_prefix}"\n'
        f'[cache]\nprovider = "redis"\nprefix = "{cache_prefix}"\n'
        '[messaging]\nprovider = "memory"\n' + APP,
    )
    client = Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    await host.start()
    try:
        provider = host.providers["users"]
        async with provider.create_scope() as scope:
            assert isinstance(await scope.aget(UserRepository), DocumentUsers)
            ada = await (await scope.aget(RegisterUser))("ada", None)
        async with provider.create_scope() as scope:
            assert (await (await scope.aget(GetUser))(ada.id)).created == ada.created
        assert await client.exists(f"{storage_prefix}:doc:users:{ada.id}")
        assert await client.exists(f"{cache_prefix}:cache:user:v2:{ada.id}")
        assert await course_names(host) == ["Go", "Python", "Rust"]
        checks = {c.name: c.status for c in (await host.readiness()).checks}
        assert (checks["storage.redis"], checks["cache.redis"]) == ("up", "up")
    finally:
        await host.stop()
        for prefix in (storage_prefix, cache_prefix):
            keys = [key async for key in client.scan_iter(f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
        await client.aclose()


def test_settings_are_validated_from_the_service_table(tmp_path: Path) -> None:
    path = tmp_path / "portside.toml"
    path.write_text(APP + "page_size = 500\nseed_course = []\n")
    config = load_config(path, environ={})
    with pytest.raises(ConfigError) as caught:
        config.for_service("users", settings=UsersSettings)
    assert "page_size" in str(caught.value)
    assert "seed_course" in str(caught.value)


def test_building_the_service_imports_no_database_or_broker_driver() -> None:
    probe = (
        "import sys, users.composition as c; "
        "before = {m.split('.')[0] for m in sys.modules}; c.service(); "
        "after = {m.split('.')[0] for m in sys.modules}; "
        "print(' '.join(sorted(before)), '|', ' '.join(sorted(after)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = (set(part.split()) for part in result.stdout.split("|"))
    # The entry adapters (FastAPI, grpc) are part of the service and load with it; which
    # store, cache and broker run is configuration, so their drivers load only when chosen.
    drivers = {"aiosqlite", "asyncpg", "aiomysql", "redis", "aio_pika", "nats"}
    assert "sqlalchemy" not in before  # importing the composition root imports no adapter
    assert after & drivers == set()  # the tables come with SQLAlchemy, never with a driver


AUDITED = Seen()


class CorrelatedAudit:
    """A handler that reads the envelope of the event it handles."""

    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope

    async def __call__(self, event: UserRegistered) -> None:
        await AUDITED.add((event.name, self.envelope.correlation_id))


async def test_the_correlation_id_of_a_request_travels_with_its_events(tmp_path: Path) -> None:
    group = f"audit-{uuid.uuid4().hex[:8]}"
    audit_module = Module("audit").add_scoped(CorrelatedAudit)
    audit_module.add_singleton(
        Handler, instance=Handler(UserRegistered, CorrelatedAudit, group=group)
    )
    audit = Service("audit", modules=[audit_module], requires=["storage", "messaging"])
    name = f"corr-{uuid.uuid4().hex[:8]}"
    host = host_for(
        tmp_path,
        '[storage]\nprovider = "memory"\n[messaging]\nprovider = "memory"\n'
        f'relay_poll_seconds = 0.05\n[cache]\nprovider = "memory"\n{APP}',
        audit,
    )
    await host.start()
    try:
        url = (await host.providers["users"].aget(HttpServer)).url
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post(
                "/users", json={"name": name}, headers={"X-Correlation-ID": "signup-77"}
            )
        assert response.status_code == 201
        handled = await AUDITED.wait_for(1)
    finally:
        await host.stop()
    assert handled == [(name, "signup-77")]
