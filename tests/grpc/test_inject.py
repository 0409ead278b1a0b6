"""``Inject[T]`` on a servicer method: the method receives ``T`` from the call's DI scope,
so a servicer built once resolves, per call, only what the called method needs. A method
that names a service the container cannot give fails start-up, not its first call."""

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import grpc
import pytest

from portside.di import Key, Module
from portside.grpc import GrpcService, Inject
from portside.host import Service, StartError

from .conftest import Ledger, Protos, Resource, fail, host_for, open_resource, serving


class Greeting:
    def __init__(self, text: str) -> None:
        self.text = text


async def open_greeting() -> AsyncIterator[Greeting]:
    """An async factory: resolving it needs the scope's async path."""
    yield Greeting("hello")


class InjectingServicer:
    """Built once; each method names what it needs from the call's scope. ``built`` counts
    the instances made."""

    built = 0

    def __init__(self, protos: Protos) -> None:
        type(self).built += 1
        self.reply = protos.pb2.ProbeReply

    async def Echo(
        self, request: Any, context: grpc.aio.ServicerContext, resource: Inject[Resource]
    ) -> Any:
        return self.reply(text=request.text, resource=resource.id)

    async def Fail(
        self, request: Any, context: grpc.aio.ServicerContext, *, resource: Inject[Resource]
    ) -> Any:
        fail(request.fail)
        return self.reply(text="unreachable", resource=resource.id)

    async def Hold(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return self.reply(text="no services")

    async def Count(
        self,
        request: Any,
        context: grpc.aio.ServicerContext,
        resource: Inject[Resource],
        greeting: Inject[Greeting],
    ) -> AsyncIterator[Any]:
        for number in range(request.count):
            yield self.reply(text=f"{greeting.text} {number}", resource=resource.id)

    async def Collect(
        self,
        requests: AsyncIterable[Any],
        context: grpc.aio.ServicerContext,
        resource: Inject[Resource],
        sign: Inject[Annotated[str, Key("sign")]],
    ) -> Any:
        texts = [request.text async for request in requests]
        return self.reply(text=sign.join(texts), resource=resource.id)

    async def Chat(
        self, requests: AsyncIterable[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        async for request in requests:
            yield self.reply(text=request.text)


def injecting_service(protos: Protos, servicer: type = InjectingServicer) -> Service:
    return Service("probe", modules=[injecting_module(protos, servicer)], requires=["grpc"])


def injecting_module(protos: Protos, servicer: type) -> Module:
    module = Module("probe")
    module.add_singleton(Protos, instance=protos)
    module.add_singleton(Ledger)
    module.add_scoped(Resource, factory=open_resource)
    module.add_scoped(Greeting, factory=open_greeting)
    module.add_singleton(str, instance="+", key="sign")
    module.add_singleton(servicer)
    module.add_singleton(
        GrpcService, instance=GrpcService(protos.pb2_grpc.add_ProbeServicer_to_server, servicer)
    )
    return module


async def test_a_method_receives_its_services_from_each_calls_own_scope(
    tmp_path: Path, protos: Protos
) -> None:
    InjectingServicer.built = 0
    async with serving(host_for(tmp_path, injecting_service(protos)), protos) as app:
        ledger = await app.provider.aget(Ledger)

        first = await app.stub.Echo(app.request("one"))
        second = await app.stub.Echo(app.request("two"))
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await app.stub.Fail(app.request(fail="not_found"))
        plain = await app.stub.Hold(app.request())

    assert (first.text, second.text, plain.text) == ("one", "two", "no services")
    assert first.resource != second.resource
    assert failed.value.code() == grpc.StatusCode.NOT_FOUND  # the errors map as before
    # One resource per call that asked for one, each closed with its call's scope.
    assert ledger.opened == ledger.closed
    assert ledger.opened[:2] == [first.resource, second.resource]
    assert len(ledger.opened) == 3
    assert InjectingServicer.built == 1  # the servicer is a singleton, built once


async def test_streams_receive_services_from_async_factories_and_by_key(
    tmp_path: Path, protos: Protos
) -> None:
    async with serving(host_for(tmp_path, injecting_service(protos)), protos) as app:
        ledger = await app.provider.aget(Ledger)
        counted = [reply async for reply in app.stub.Count(app.request(count=2))]
        collected = await app.stub.Collect(app.request(text) for text in ("a", "b"))
        chatted = [reply async for reply in app.stub.Chat(app.request("x") for _ in range(1))]

    assert [r.text for r in counted] == ["hello 0", "hello 1"]
    assert counted[0].resource == counted[1].resource  # one scope for the whole stream
    assert collected.text == "a+b"
    assert [r.text for r in chatted] == ["x"]
    assert ledger.opened == ledger.closed == [counted[0].resource, collected.resource]


class Unregistered:
    pass


class NeedsUnregistered(InjectingServicer):
    async def Echo(
        self, request: Any, context: grpc.aio.ServicerContext, missing: Inject[Unregistered]
    ) -> Any:
        return self.reply(text="unreachable")


class NeedsUnknownKey(InjectingServicer):
    async def Echo(
        self,
        request: Any,
        context: grpc.aio.ServicerContext,
        sign: Inject[Annotated[str, Key("nope")]],
    ) -> Any:
        return self.reply(text="unreachable")


class UnresolvableAnnotation(InjectingServicer):
    async def Echo(
        self,
        request: Any,
        context: grpc.aio.ServicerContext,
        missing: "Inject[NoSuchName]",  # type: ignore[name-defined]  # noqa: F821
    ) -> Any:
        return self.reply(text="unreachable")


class InjectsPositionally(InjectingServicer):
    async def Echo(
        self, request: Any, context: grpc.aio.ServicerContext, resource: Inject[Resource], /
    ) -> Any:
        return self.reply(text="unreachable")


@pytest.mark.parametrize(
    ("servicer", "problem"),
    [
        (
            NeedsUnregistered,
            "NeedsUnregistered.Echo injects missing: Unregistered is not registered",
        ),
        (
            NeedsUnknownKey,
            "NeedsUnknownKey.Echo injects sign: str with key 'nope' is not registered",
        ),
        (
            UnresolvableAnnotation,
            (
                "the annotations of UnresolvableAnnotation.Echo cannot be read: "
                "name 'NoSuchName' is not defined"
            ),
        ),
        (
            InjectsPositionally,
            "InjectsPositionally.Echo injects resource, which cannot be passed by name",
        ),
    ],
)
async def test_a_method_that_injects_what_the_container_cannot_give_fails_start_up(
    tmp_path: Path, protos: Protos, servicer: type, problem: str
) -> None:
    host = host_for(tmp_path, injecting_service(protos, servicer))
    with pytest.raises(StartError) as failed:
        await host.start()
    assert problem in str(failed.value.__cause__)


async def test_a_method_that_injects_a_context_value_fails_start_up(
    tmp_path: Path, protos: Protos
) -> None:
    modules = [injecting_module(protos, NeedsUnregistered), Module("c").add_context(Unregistered)]
    host = host_for(tmp_path, Service("probe", modules=modules, requires=["grpc"]))
    with pytest.raises(StartError) as failed:
        await host.start()
    assert (
        "NeedsUnregistered.Echo injects missing: Unregistered is a context value, which its "
        "scope is not given (the context values given: none)"
    ) in str(failed.value.__cause__)


async def test_a_servicer_the_container_cannot_build_fails_start_up(
    tmp_path: Path, protos: Protos
) -> None:
    module = Module("probe")
    module.add_singleton(
        GrpcService,
        instance=GrpcService(protos.pb2_grpc.add_ProbeServicer_to_server, InjectingServicer),
    )
    host = host_for(tmp_path, Service("probe", modules=[module], requires=["grpc"]))
    with pytest.raises(StartError) as failed:
        await host.start()
    assert (
        "InjectingServicer serves portside.tests.v1.Probe but is not registered; register it, "
        "e.g. module.add_singleton(InjectingServicer)"
    ) in str(failed.value.__cause__)


def test_inject_marks_the_annotation_and_keeps_the_type() -> None:
    marked = Inject[Resource]
    keyed = Inject[Annotated[str, Key("sign")]]
    assert marked.__origin__ is Resource
    assert keyed.__origin__ is str
    assert Key("sign") in keyed.__metadata__
