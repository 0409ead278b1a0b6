"""The server starts and stops with the host: calls in flight drain, new calls are refused,
and a bad port, key or declaration fails start-up saying what is wrong."""

import asyncio
import socket
from pathlib import Path
from typing import Any

import grpc
import pytest

from portside.config import ConfigError
from portside.host import StartError

from .conftest import Gate, Protos, Serve, host_for, probe_service


async def test_a_call_in_flight_completes_and_a_call_after_shutdown_begins_is_refused(
    serve: Serve,
) -> None:
    app = await serve()
    gate = await app.provider.aget(Gate)
    held = asyncio.ensure_future(app.stub.Hold(app.request()))
    await gate.entered.wait()

    stopping = asyncio.create_task(app.host.stop())
    await app.host.shutdown_started()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await app.stub.Echo(app.request("too late"))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "the host is stopping" in str(refused.value.details())
    assert not stopping.done()  # the host waits for the held call

    gate.release.set()
    assert (await held).text == "released"
    assert await stopping is True
    assert app.host.state == "stopped"


async def test_start_fails_naming_the_address_when_the_port_is_taken(
    tmp_path: Path, protos: Protos
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        host = host_for(tmp_path, probe_service(protos), f"[grpc]\nport = {port}\n")
        with pytest.raises(StartError) as failed:
            await host.start()
    assert f"127.0.0.1:{port}" in str(failed.value.__cause__)
    assert "cannot listen for gRPC" in str(failed.value.__cause__)
    assert host.state == "failed"


async def test_start_fails_when_another_grpc_server_has_the_port(
    serve: Serve, tmp_path: Path, protos: Protos
) -> None:
    # grpc shares ports between its servers by default (SO_REUSEPORT); ours must not.
    first = await serve()
    config = f"[grpc]\nport = {first.server.port}\n"
    second = host_for(tmp_path / "second", probe_service(protos), config)
    try:
        with pytest.raises(StartError) as failed:
            await second.start()
    finally:
        await second.stop()
    assert f"127.0.0.1:{first.server.port}" in str(failed.value.__cause__)


def test_an_unknown_key_in_the_grpc_table_is_a_configuration_error(
    tmp_path: Path, protos: Protos
) -> None:
    with pytest.raises(ConfigError) as failed:
        host_for(tmp_path, probe_service(protos), "[grpc]\nprot = 1\n")
    (problem,) = failed.value.problems
    assert problem.key == "[grpc] prot"
    assert problem.reason.startswith("unknown key (known keys: call_timeout, grace, host,")


async def test_an_unknown_key_in_a_service_grpc_table_fails_start_up(
    tmp_path: Path, protos: Protos
) -> None:
    config = '[services.probe]\napp = "tests.grpc.conftest:probe_service"\n'
    config += "[services.probe.grpc]\nprot = 1\n"
    host = host_for(tmp_path, probe_service(protos), config)
    with pytest.raises(ConfigError) as failed:
        await host.start()
    (problem,) = failed.value.problems
    assert problem.key == "[services.probe] grpc.prot"
    assert problem.reason.startswith("unknown key")


class Incomplete:
    """Serves the probe service but has only one of its methods."""

    def __init__(self, protos: Protos) -> None:
        self.reply = protos.pb2.ProbeReply

    async def Echo(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return self.reply(text=request.text)


@pytest.mark.parametrize(
    ("service", "problem"),
    [
        (
            {"servicer": Incomplete},
            "Incomplete serves portside.tests.v1.Probe but has no method Chat, Collect, Count",
        ),
        (
            {"name": "users.v1.UserService"},
            "is named 'users.v1.UserService' but registers portside.tests.v1.Probe",
        ),
    ],
)
async def test_a_declaration_that_does_not_match_the_registration_fails_start_up(
    tmp_path: Path, protos: Protos, service: dict[str, Any], problem: str
) -> None:
    host = host_for(tmp_path, probe_service(protos, **service), "[grpc]\nport = 0\n")
    with pytest.raises(StartError) as failed:
        await host.start()
    assert problem in str(failed.value.__cause__)
