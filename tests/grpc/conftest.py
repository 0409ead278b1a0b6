"""A service that serves the test proto, started by a host from a configuration file.

The proto is compiled once per session into a temporary directory and imported from
there. The servicer records what happens per call (the scoped resource it got, the
correlation id bound) so that tests can assert on the server's side of a call.
"""

import asyncio
import contextlib
import importlib
import sys
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from grpc_tools import protoc
from pydantic import BaseModel

from portside.config import load_config
from portside.di import Module, ServiceProvider
from portside.errors import FieldViolation, Invalid
from portside.grpc import GrpcServer, GrpcService
from portside.host import HealthCheck, Host, Service
from portside.observability import get_correlation_id
from portside.storage import ConcurrencyError, Conflict, NotFound, StorageUnavailable

from ..support.scoped import Ledger, Resource, open_resource

HERE = Path(__file__).parent
PROBE = "portside.tests.v1.Probe"
DEFAULT_CONFIG = "[grpc]\nport = 0\n"


@dataclass(frozen=True)
class Protos:
    """The modules generated from portside_probe.proto."""

    pb2: ModuleType
    pb2_grpc: ModuleType


@pytest.fixture(scope="session")
def protos(tmp_path_factory: pytest.TempPathFactory) -> Protos:
    out = tmp_path_factory.mktemp("protos")
    args = [
        "grpc_tools.protoc",
        f"-I{HERE}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        str(HERE / "portside_probe.proto"),
    ]
    assert protoc.main(args) == 0, "protoc failed to compile portside_probe.proto"
    sys.path.insert(0, str(out))
    try:  # the generated _grpc module imports its _pb2 module by its top-level name
        pb2 = importlib.import_module("portside_probe_pb2")
        pb2_grpc = importlib.import_module("portside_probe_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    return Protos(pb2, pb2_grpc)


class Gate:
    """Holds ``Hold`` calls until the test releases them."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()


class Switch:
    """A readiness check the test turns up and down."""

    name = "switch"

    def __init__(self) -> None:
        self.up = True

    async def check(self) -> None:
        if not self.up:
            raise ConnectionError("switched off")


def switch_check(switch: Switch) -> HealthCheck:
    return switch


class Person(BaseModel):
    name: str
    age: int


def fail(kind: str) -> None:
    """Raise the error a use case would raise for ``kind``."""
    if kind == "invalid":
        raise Invalid(
            [
                FieldViolation("name", "must not be empty"),
                FieldViolation("department", "must be at most 32 characters"),
            ]
        )
    if kind == "validation":
        Person.model_validate({"age": "old"})
    if kind == "not_found":
        raise NotFound("no user u-1")
    if kind == "conflict":
        raise Conflict("the name ada is taken")
    if kind == "concurrency":
        raise ConcurrencyError("user u-1 changed since it was read")
    if kind == "unavailable":
        raise StorageUnavailable("connection refused")
    raise RuntimeError("secret detail: password=hunter2")


class ProbeServicer:
    """Serves portside_probe.proto; built per call from the call's scope."""

    def __init__(self, protos: Protos, resource: Resource, gate: Gate) -> None:
        self.reply = protos.pb2.ProbeReply
        self.resource = resource
        self.gate = gate

    def _reply(self, text: str) -> Any:
        return self.reply(
            text=text, resource=self.resource.id, correlation_id=get_correlation_id() or ""
        )

    async def Echo(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return self._reply(request.text)

    async def Fail(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if request.fail == "hang":
            await asyncio.Event().wait()  # until the server's time limit cancels it
        if request.fail == "abort":  # the servicer sets the status itself
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")
        fail(request.fail)
        return self._reply("unreachable")

    async def Hold(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self.gate.entered.set()
        await self.gate.release.wait()
        return self._reply("released")

    async def Count(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        for number in range(request.count):
            yield self._reply(str(number))
        if request.fail:
            fail(request.fail)

    async def Collect(self, requests: AsyncIterable[Any], context: grpc.aio.ServicerContext) -> Any:
        return self._reply(",".join([request.text async for request in requests]))

    async def Chat(self, requests: AsyncIterable[Any], context: grpc.aio.ServicerContext) -> None:
        async for request in requests:  # writes its responses itself
            await context.write(self._reply(request.text.upper()))


def probe_service(protos: Protos, *, servicer: type = ProbeServicer, name: str = PROBE) -> Service:
    module = Module("probe")
    module.add_singleton(Protos, instance=protos)
    module.add_singleton(Ledger).add_singleton(Gate).add_singleton(Switch)
    module.add_singleton(HealthCheck, factory=switch_check)
    module.add_scoped(Resource, factory=open_resource)
    module.add_scoped(servicer)
    module.add_singleton(
        GrpcService,
        instance=GrpcService(protos.pb2_grpc.add_ProbeServicer_to_server, servicer, name=name),
    )
    return Service("probe", modules=[module], requires=["grpc"])


def host_for(tmp_path: Path, service: Service, config: str = DEFAULT_CONFIG) -> Host:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "portside.toml"
    path.write_text(config)
    return Host(load_config(path, environ={}), [service])


@dataclass
class Running:
    """A started host serving the probe service, and a channel to it."""

    host: Host
    provider: ServiceProvider
    server: GrpcServer
    channel: grpc.aio.Channel
    stub: Any
    protos: Protos

    def request(self, text: str = "", **fields: Any) -> Any:
        return self.protos.pb2.ProbeRequest(text=text, **fields)


Serve = Callable[..., Awaitable[Running]]


@contextlib.asynccontextmanager
async def serving(host: Host, protos: Protos) -> AsyncIterator[Running]:
    await host.start()
    try:
        provider = host.providers["probe"]
        server = await provider.aget(GrpcServer)
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = protos.pb2_grpc.ProbeStub(channel)
            yield Running(host, provider, server, channel, stub, protos)
    finally:
        await host.stop()


@pytest.fixture
async def serve(tmp_path: Path, protos: Protos) -> AsyncIterator[Serve]:
    """Start the probe service with a configuration; stopped when the test ends."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(config: str = DEFAULT_CONFIG) -> Running:
            host = host_for(tmp_path, probe_service(protos), config)
            return await stack.enter_async_context(serving(host, protos))

        yield start
