"""The host: one container per service, ordered hooks, health, drain, and the start-up line."""

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from portside.config import Config, Provider, ProviderRegistry, load_config
from portside.di import Module
from portside.host import Host, Lifecycle, Service, ServiceInfo, ShuttingDown, StartError


class Events(list[str]):
    pass


EVENTS = Events()


class Database:
    """A component that registers its hooks when it is built."""

    def __init__(self, lifecycle: Lifecycle, info: ServiceInfo) -> None:
        self.name = info.name
        lifecycle.append(on_start=self.start, on_stop=self.stop)

    async def start(self) -> None:
        EVENTS.append(f"{self.name}: start database")

    async def stop(self) -> None:
        EVENTS.append(f"{self.name}: stop database")


class Server:
    """Depends on the database, so its hooks come after the database's."""

    def __init__(self, lifecycle: Lifecycle, db: Database, info: ServiceInfo) -> None:
        self.name = info.name
        self.db = db
        lifecycle.append(on_start=self.start, on_stop=self.stop)
        info.addresses.append(f"http://127.0.0.1/{info.name}")

    async def start(self) -> None:
        EVENTS.append(f"{self.name}: start server")

    async def stop(self) -> None:
        EVENTS.append(f"{self.name}: stop server")


class Pool:
    pass


def pool() -> Iterator[Pool]:
    yield Pool()
    EVENTS.append("pool closed")


class UsersSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    greeting: str = "hello"


class Greeter:
    def __init__(self, settings: UsersSettings) -> None:
        self.greeting = settings.greeting


def users_service() -> Service:
    module = Module("users").add_singleton(Database).add_singleton(Server)
    module.add_singleton(Pool, factory=pool).add_singleton(Greeter)
    return Service("users", modules=[module], settings=UsersSettings, start=[Pool, Server])


def billing_service(*, fail: bool = False) -> Service:
    class Broken:
        def __init__(self, lifecycle: Lifecycle) -> None:
            lifecycle.on_start(self.start)

        async def start(self) -> None:
            raise RuntimeError("billing cannot start")

    module = Module("billing").add_singleton(Database)
    if fail:
        module.add_singleton(Broken)
    return Service("billing", modules=[module], start=[Database, *([Broken] if fail else [])])


@pytest.fixture(autouse=True)
def clear_events() -> None:
    EVENTS.clear()


def config(tmp_path: Path, text: str = "", registry: ProviderRegistry | None = None) -> Config:
    path = tmp_path / "portside.toml"
    path.write_text(text)
    return load_config(path, environ={}, registry=registry or ProviderRegistry())


async def test_services_start_in_order_and_stop_in_reverse_with_containers_closed_last(
    tmp_path: Path,
) -> None:
    host = Host(config(tmp_path), [users_service(), billing_service()])
    await host.start()
    assert host.state == "running"
    assert await host.stop()
    assert EVENTS == [
        "users: start database",
        "users: start server",
        "billing: start database",
        "billing: stop database",
        "users: stop server",
        "users: stop database",
        "pool closed",
    ]
    assert host.state == "stopped"


async def test_each_service_has_its_own_container(tmp_path: Path) -> None:
    host = Host(config(tmp_path), [users_service(), billing_service()])
    await host.start()
    users, billing = host.providers["users"], host.providers["billing"]
    assert users.get(Database) is not billing.get(Database)
    assert users.get(ServiceInfo).name == "users"
    assert billing.graph().node(Database).module == "billing"
    assert [n.label for n in billing.graph().nodes if n.label == "Server"] == []
    await host.stop()


async def test_a_failed_start_stops_everything_already_started(tmp_path: Path) -> None:
    host = Host(config(tmp_path), [users_service(), billing_service(fail=True)])
    with pytest.raises(StartError, match="billing cannot start"):
        await host.start()
    assert host.state == "failed"
    assert EVENTS == [
        "users: start database",
        "users: start server",
        "billing: start database",
        "billing: stop database",
        "users: stop server",
        "users: stop database",
        "pool closed",
    ]
    assert host.liveness().status == "down"


async def test_service_settings_come_from_its_section(tmp_path: Path) -> None:
    text = '[services.users]\napp = "tests:unused"\ngreeting = "hej"\n'
    host = Host(config(tmp_path, text), [users_service()])
    await host.start()
    assert host.providers["users"].get(Greeter).greeting == "hej"
    await host.stop()


async def test_the_chosen_providers_modules_are_in_the_service_container(tmp_path: Path) -> None:
    class Store:
        pass

    registry = ProviderRegistry(
        [
            Provider(
                "storage",
                "memory",
                lambda s: Module("storage.memory").add_singleton(Store),
                default=True,
            )
        ]
    )
    service = Service("orders", requires=["storage"])
    host = Host(config(tmp_path, registry=registry), [service])
    await host.start()
    assert isinstance(host.providers["orders"].get(Store), Store)
    assert host.providers["orders"].get(ServiceInfo).providers == {"storage": "memory"}
    await host.stop()


async def test_the_start_up_line_names_service_providers_addresses_and_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="portside.host")
    host = Host(config(tmp_path), [users_service()])
    await host.start()
    lines = [r.getMessage() for r in caplog.records if "ready in" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("users ready in ")
    assert lines[0].endswith(" ms · no providers · http://127.0.0.1/users")
    await host.stop()


class Probe:
    name = "probe"

    def __init__(self) -> None:
        self.healthy = True

    async def check(self) -> None:
        if not self.healthy:
            raise ConnectionError("down")


async def test_readiness_follows_state_and_checks(tmp_path: Path) -> None:
    from portside.host import HealthCheck

    probe = Probe()
    service = Service(
        "users", modules=[Module("health").add_singleton(HealthCheck, instance=probe)]
    )
    host = Host(config(tmp_path), [service])
    assert (await host.readiness()).reason == "host is created"
    running = asyncio.create_task(host.running())
    await host.start()
    await running  # set once every service started
    report = await host.readiness()
    assert report.ok
    assert [c.name for c in report.checks] == ["probe"]
    probe.healthy = False
    assert not (await host.readiness()).ok
    assert host.liveness().ok  # liveness never looks at resources
    probe.healthy = True
    host.begin_shutdown()
    report = await host.readiness()
    assert report.reason == "host is stopping"
    await host.stop()


async def test_shutdown_refuses_new_work_and_drains_in_flight_work_before_stop_hooks(
    tmp_path: Path,
) -> None:
    host = Host(config(tmp_path), [users_service()])
    with pytest.raises(ShuttingDown):
        async with host.work():
            pass
    await host.start()
    release = asyncio.Event()
    entered = asyncio.Event()
    seen_ready: list[bool] = []

    async def request() -> None:
        async with host.work():
            entered.set()
            await release.wait()
            seen_ready.append((await host.readiness()).ok)
            EVENTS.append("request finished")

    task = asyncio.create_task(request())
    await entered.wait()
    host.begin_shutdown()  # what the first stop signal does, before the drain begins
    stopping = asyncio.create_task(host.stop())
    assert host.state == "stopping"
    assert not (await host.readiness()).ok
    with pytest.raises(ShuttingDown):
        async with host.work():
            pass
    release.set()
    assert await stopping
    await task
    assert seen_ready == [False]
    assert EVENTS.index("request finished") < EVENTS.index("users: stop server")


async def test_work_is_tracked_by_a_plain_with_block_too(tmp_path: Path) -> None:
    host = Host(config(tmp_path), [users_service()])
    with pytest.raises(ShuttingDown), host.work():
        pass
    assert host.in_flight == 0
    await host.start()
    seen: list[int] = []

    def fail_while_tracked() -> None:
        with host.work():
            seen.append(host.in_flight)
            raise RuntimeError

    with host.work():
        seen.append(host.in_flight)
        with pytest.raises(RuntimeError):
            fail_while_tracked()
        seen.append(host.in_flight)
    assert seen == [1, 2, 1]
    assert host.in_flight == 0
    assert await host.stop()


async def test_drain_gives_up_after_the_shutdown_timeout(tmp_path: Path) -> None:
    host = Host(config(tmp_path, "[host]\nshutdown_timeout = 0.05\n"), [users_service()])
    await host.start()
    never = asyncio.Event()
    entered = asyncio.Event()

    async def stuck() -> None:
        async with host.work():
            entered.set()
            await never.wait()

    task = asyncio.create_task(stuck())
    await entered.wait()
    assert await host.stop()
    assert "users: stop server" in EVENTS
    assert host.in_flight == 1
    task.cancel()
