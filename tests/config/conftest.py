"""Providers and files for configuration tests."""

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from portside.config import Provider, ProviderRegistry
from portside.di import Module


class SqlSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "sqlite+aiosqlite:///var/app.db"
    password: SecretStr | None = None
    pool_size: int = 5
    echo: bool = False


class Engine:
    def __init__(self, settings: SqlSettings) -> None:
        self.settings = settings


def sql_module(settings: SqlSettings) -> Module:
    return Module("storage.sql").add_singleton(Engine)


SQL = Provider("storage", "sql", sql_module, SqlSettings, default=True, extra="postgres")
MEMORY = Provider("storage", "memory", lambda settings: Module("storage.memory"))
RABBIT = Provider(
    "messaging",
    "rabbitmq",
    lambda settings: Module("messaging.rabbitmq"),
    extra="rabbitmq",
    requires=("portside_test_missing_driver",),
)
BUS = Provider("messaging", "memory", lambda settings: Module("messaging.memory"))


@pytest.fixture
def registry() -> ProviderRegistry:
    return ProviderRegistry([SQL, MEMORY, RABBIT, BUS])


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "portside.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
