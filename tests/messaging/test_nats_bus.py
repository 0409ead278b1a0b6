"""NATS JetStream passes the messaging conformance suite (each test in its own stream)."""

import uuid

import pytest

from portside.messaging.nats import NatsTransport
from portside.testing.messaging import BusContract

from ..conftest import require_server

URL = "nats://127.0.0.1:4222"


@pytest.mark.nats
class TestNats(BusContract):
    @pytest.fixture
    async def new_transport(self):  # type: ignore[no-untyped-def]
        require_server("NATS", "127.0.0.1", 4222)
        namespace = f"t{uuid.uuid4().hex[:12]}"
        made: list[NatsTransport] = []

        async def new() -> NatsTransport:
            transport = NatsTransport(URL, namespace=namespace)
            await transport.start()
            made.append(transport)
            return transport

        yield new
        for transport in made:
            await transport.close()
        cleaner = NatsTransport(URL, namespace=namespace)
        await cleaner.start()
        await cleaner.delete_namespace()
        await cleaner.close()
