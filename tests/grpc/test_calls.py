"""Every call runs on a servicer resolved from its own DI scope, with its correlation id
bound and echoed, within the server's time limit."""

import re

import grpc
import pytest
from grpc_status import rpc_status

from portside.host import ServiceInfo

from .conftest import Ledger, Serve


async def test_each_call_gets_its_own_scope_whose_clean_up_runs_even_when_it_fails(
    serve: Serve,
) -> None:
    app = await serve()
    ledger = await app.provider.aget(Ledger)

    first = await app.stub.Echo(app.request("hello"))
    second = await app.stub.Echo(app.request("again"))

    assert (first.text, second.text) == ("hello", "again")
    assert first.resource != second.resource
    assert ledger.opened == ledger.closed == [first.resource, second.resource]
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await app.stub.Fail(app.request(fail="internal"))
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert len(ledger.opened) == 3
    assert ledger.closed == ledger.opened  # the failed call's resource was cleaned up too


async def test_the_bound_address_is_announced(serve: Serve) -> None:
    app = await serve()
    info = await app.provider.aget(ServiceInfo)
    assert app.server.port
    assert info.addresses == [f"grpc://127.0.0.1:{app.server.port}"]
    assert app.server.services == ("portside.tests.v1.Probe",)


async def test_streams_of_every_kind_run_in_one_scope_per_call(serve: Serve) -> None:
    app = await serve()
    ledger = await app.provider.aget(Ledger)

    counted = [reply async for reply in app.stub.Count(app.request(count=3))]
    collected = await app.stub.Collect(app.request(text) for text in ("a", "b", "c"))
    chat = app.stub.Chat(app.request(text) for text in ("x", "y"))
    chatted = [reply async for reply in chat]

    assert [r.text for r in counted] == ["0", "1", "2"]
    assert len({r.resource for r in counted}) == 1
    assert collected.text == "a,b,c"
    assert [r.text for r in chatted] == ["X", "Y"]
    assert len({r.resource for r in chatted}) == 1
    resources = [counted[0].resource, collected.resource, chatted[0].resource]
    assert ledger.opened == ledger.closed == resources


async def test_an_error_ends_a_stream_with_its_status_after_the_responses_sent(
    serve: Serve,
) -> None:
    app = await serve()
    call = app.stub.Count(app.request(count=2, fail="not_found"))
    assert [(await call.read()).text, (await call.read()).text] == ["0", "1"]
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call.read()
    assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    ledger = await app.provider.aget(Ledger)
    assert ledger.closed == ledger.opened


async def test_the_correlation_id_in_the_metadata_is_bound_and_echoed(serve: Serve) -> None:
    app = await serve()
    call = app.stub.Echo(app.request(), metadata=(("x-correlation-id", "order-42"),))
    reply = await call
    assert reply.correlation_id == "order-42"
    assert dict(await call.trailing_metadata())["x-correlation-id"] == "order-42"


async def test_the_trace_id_of_a_traceparent_is_the_correlation_id(serve: Serve) -> None:
    app = await serve()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    call = app.stub.Echo(app.request(), metadata=(("traceparent", traceparent),))
    assert (await call).correlation_id == trace_id
    assert dict(await call.trailing_metadata())["x-correlation-id"] == trace_id


@pytest.mark.parametrize("metadata", [(), (("x-correlation-id", "no spaces allowed"),)])
async def test_a_correlation_id_is_generated_when_none_usable_was_sent(
    serve: Serve, metadata: tuple[tuple[str, str], ...]
) -> None:
    app = await serve()
    first = app.stub.Echo(app.request(), metadata=metadata)
    second = app.stub.Echo(app.request(), metadata=metadata)
    ids = [(await c).correlation_id for c in (first, second)]
    echoed = [dict(await c.trailing_metadata())["x-correlation-id"] for c in (first, second)]
    assert ids == echoed
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("fail", "code"),
    [
        ("conflict", grpc.StatusCode.ALREADY_EXISTS),
        ("invalid", grpc.StatusCode.INVALID_ARGUMENT),  # with rich details
        ("abort", grpc.StatusCode.PERMISSION_DENIED),  # the servicer's own status
    ],
)
async def test_the_correlation_id_is_echoed_on_a_failed_call_too(
    serve: Serve, fail: str, code: grpc.StatusCode
) -> None:
    app = await serve()
    call = app.stub.Fail(app.request(fail=fail), metadata=(("x-correlation-id", "c-1"),))
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call
    assert failed.value.code() == code
    assert dict(await call.trailing_metadata())["x-correlation-id"] == "c-1"
    # The id rides beside the rich details, which still decode.
    status = rpc_status.from_call(failed.value)
    assert (status is not None) == (fail != "abort")


async def test_the_correlation_id_comes_after_a_streams_responses(serve: Serve) -> None:
    app = await serve()
    call = app.stub.Count(app.request(count=2), metadata=(("x-correlation-id", "s-1"),))
    assert [reply.correlation_id async for reply in call] == ["s-1", "s-1"]
    assert dict(await call.trailing_metadata())["x-correlation-id"] == "s-1"


async def test_a_call_over_the_servers_time_limit_is_cancelled_with_deadline_exceeded(
    serve: Serve,
) -> None:
    app = await serve("[grpc]\nport = 0\ncall_timeout = 0.2\n")
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await app.stub.Fail(app.request(fail="hang"))  # the client sets no deadline
    assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "0.2 s" in str(failed.value.details())
    assert dict(failed.value.trailing_metadata())["x-correlation-id"]
    ledger = await app.provider.aget(Ledger)
    assert ledger.closed == ledger.opened
