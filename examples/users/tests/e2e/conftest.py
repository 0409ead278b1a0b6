"""The users service in its own process (``portside run``), on SQLite or PostgreSQL, with
free ports; the tests reach it only through its typed clients and raw HTTP/gRPC."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from portside.testing.process import ServiceProcess
from portside.testing.servers import require_server
from portside.testing.sql import SERVERS, create_schema, drop_schema

POSTGRES_URL = SERVERS["postgres"].url


def users_config(directory: Path, storage: str) -> Path:
    """A configuration of the users service on ``storage`` with free ports."""
    path = directory / "portside.toml"
    path.write_text(
        '[services.users]\napp = "users.composition:service"\n'
        'seed_courses = ["Go", "Python", "Rust"]\n'
        f"[storage]\n{storage}migrate_on_start = true\n"
        '[messaging]\nprovider = "memory"\n'
        '[cache]\nprovider = "memory"\n'
        "[http]\nport = 0\n"
        "[grpc]\nport = 0\n"
        '[logging]\nlevel = "INFO"\n'
    )
    return path


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def users_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """One service process per store for the module's tests; stopped with SIGTERM after,
    and its exit code checked."""
    directory = tmp_path_factory.mktemp(f"users-{request.param}")
    schema = None
    if request.param == "sqlite":
        storage = f'provider = "sql"\nurl = "sqlite+aiosqlite:///{directory / "users.db"}"\n'
    else:
        require_server("PostgreSQL", "127.0.0.1", 5432)
        schema = f"e2e_{uuid.uuid4().hex[:12]}"
        asyncio.run(create_schema("postgres", schema))
        storage = f'provider = "sql"\nurl = "{POSTGRES_URL}"\nschema_name = "{schema}"\n'
    process = ServiceProcess(users_config(directory, storage))
    try:
        with process:
            yield process
        assert process.returncode == 0, process.output
    finally:
        if schema is not None:
            asyncio.run(drop_schema("postgres", schema))


def unique(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
