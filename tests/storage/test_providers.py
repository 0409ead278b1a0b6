"""Choosing a store is one line of configuration: the same service runs on each."""

import uuid
from pathlib import Path

import pytest

from portside.config import ConfigError, load_config
from portside.di import Module
from portside.host import Host, Service
from portside.storage import UnitOfWork
from portside.testing.storage import DocumentNotes, Note

from ..conftest import require_server


def notes_service() -> Service:
    module = Module("notes").add_scoped(DocumentNotes)
    return Service("notes", modules=[module], requires=["storage"])


async def round_trip(host: Host) -> None:
    provider = host.providers["notes"]
    async with provider.create_scope() as scope:
        uow = await scope.aget(UnitOfWork)
        notes = await scope.aget(DocumentNotes)
        async with uow:
            await notes.add(Note("n1", "hello"))
            await uow.commit()
    async with provider.create_scope() as scope:
        uow = await scope.aget(UnitOfWork)
        notes = await scope.aget(DocumentNotes)
        async with uow:
            assert (await notes.require("n1")).title == "hello"


def configured(tmp_path: Path, storage: str) -> Host:
    path = tmp_path / "portside.toml"
    path.write_text(f"[storage]\n{storage}\n")
    return Host(load_config(path, environ={}), [notes_service()])


@pytest.mark.parametrize(
    ("name", "storage"),
    [
        ("memory", 'provider = "memory"'),
        (
            "sqlite",
            'provider = "sql"\nurl = "sqlite+aiosqlite:///{tmp}/notes.db"\ncreate_tables = true',
        ),
    ],
)
async def test_the_same_service_runs_on_each_embedded_store(
    tmp_path: Path, name: str, storage: str
) -> None:
    host = configured(tmp_path, storage.format(tmp=tmp_path))
    await host.start()
    try:
        await round_trip(host)
        report = await host.readiness()
        assert report.ok
        assert [c.name for c in report.checks] == [f"storage.{'sql' if name == 'sqlite' else name}"]
    finally:
        await host.stop()


@pytest.mark.redis
async def test_the_same_service_runs_on_redis(tmp_path: Path) -> None:
    require_server("Redis", "127.0.0.1", 6379)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    host = configured(tmp_path, f'provider = "redis"\nkey_prefix = "{prefix}"')
    await host.start()
    try:
        await round_trip(host)
        assert (await host.readiness()).ok
    finally:
        from redis.asyncio import Redis

        client = await host.providers["notes"].aget(Redis)
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        await client.delete(*keys)
        await host.stop()


async def test_the_embedded_default_is_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "portside.toml"
    path.write_text("")
    config = load_config(path, environ={})
    choice = config.for_service("notes", requires=["storage"]).choices["storage"]
    assert choice.provider.name == "sql"
    assert choice.settings.url.startswith("sqlite+aiosqlite://")  # type: ignore[attr-defined]


def test_a_url_without_an_async_driver_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "portside.toml"
    path.write_text('[storage]\nprovider = "sql"\nurl = "postgresql://db/shop"\n')
    with pytest.raises(ConfigError, match=r"\[storage\] url = .*name an async driver"):
        load_config(path, environ={})
