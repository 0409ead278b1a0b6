"""``grpc.health.v1`` follows the host's readiness; reflection lists what is served."""

import asyncio
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from .conftest import PROBE, Gate, Serve, Switch

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def next_status(watch: Any, wanted: int) -> None:
    """Read the Watch stream until it reports ``wanted`` (statuses change about once a
    second, as readiness is refreshed)."""
    while True:
        response = await watch.read()
        assert response is not grpc.aio.EOF, "the Watch stream ended"
        if response.status == wanted:
            return


async def check(stub: Any, service: str = "") -> int:
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    return int(response.status)


async def test_health_follows_readiness_and_turns_not_serving_once_shutdown_begins(
    serve: Serve,
) -> None:
    app = await serve()
    health = health_pb2_grpc.HealthStub(app.channel)
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
    await next_status(watch, SERVING)
    assert await check(health) == await check(health, PROBE) == SERVING
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await check(health, "no.such.Service")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    switch = await app.provider.aget(Switch)
    switch.up = False  # a readiness check fails
    await next_status(watch, NOT_SERVING)
    switch.up = True
    await next_status(watch, SERVING)

    gate = await app.provider.aget(Gate)
    held = asyncio.ensure_future(app.stub.Hold(app.request()))
    await gate.entered.wait()
    stopping = asyncio.create_task(app.host.stop())
    await next_status(watch, NOT_SERVING)
    # A call is still in flight, so the host is draining and the stop hooks have not run:
    # the server still answers, NOT_SERVING.
    assert app.host.in_flight == 1
    assert await check(health, PROBE) == NOT_SERVING
    gate.release.set()
    assert (await held).text == "released"
    assert await stopping is True
    assert await watch.read() is grpc.aio.EOF  # watchers are let go, not kept to the grace


async def test_a_check_right_after_start_up_or_a_failure_is_never_stale(serve: Serve) -> None:
    app = await serve()
    health = health_pb2_grpc.HealthStub(app.channel)
    assert await check(health) == await check(health, PROBE) == SERVING
    switch = await app.provider.aget(Switch)
    switch.up = False
    assert await check(health) == NOT_SERVING  # asked now, not at the next refresh
    switch.up = True
    assert await check(health, PROBE) == SERVING


async def reflected_services(channel: grpc.aio.Channel) -> list[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    responses = [r async for r in stub.ServerReflectionInfo(requests)]
    return sorted(s.name for s in responses[0].list_services_response.service)


async def test_reflection_lists_and_describes_the_services(serve: Serve) -> None:
    app = await serve()
    assert await reflected_services(app.channel) == [
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        PROBE,
    ]
    stub = reflection_pb2_grpc.ServerReflectionStub(app.channel)
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=PROBE)
    (response,) = [r async for r in stub.ServerReflectionInfo(iter([request]))]
    assert response.file_descriptor_response.file_descriptor_proto


async def test_a_service_table_overrides_the_grpc_table_key_by_key(serve: Serve) -> None:
    app = await serve(
        "[grpc]\nport = 0\nreflection = false\n"
        '[services.probe]\napp = "tests.grpc.conftest:probe_service"\n'
        "[services.probe.grpc]\ncall_timeout = 5\n"
    )
    assert app.server.settings.call_timeout == 5
    assert app.server.settings.reflection is False
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await reflected_services(app.channel)
    assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED
