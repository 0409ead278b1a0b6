"""RabbitMQ passes the messaging conformance suite (each test on its own exchange)."""

import uuid

import pytest

from portside.messaging.rabbitmq import RabbitTransport
from portside.testing.messaging import BusContract

from ..conftest import require_server

URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.mark.rabbitmq
class TestRabbitMQ(BusContract):
    @pytest.fixture
    async def new_transport(self):  # type: ignore[no-untyped-def]
        require_server("RabbitMQ", "127.0.0.1", 5672)
        exchange = f"t{uuid.uuid4().hex[:12]}"
        made: list[RabbitTransport] = []

        async def new() -> RabbitTransport:
            transport = RabbitTransport(URL, exchange=exchange)
            await transport.start()
            made.append(transport)
            return transport

        yield new
        declared = {name for transport in made for name in transport.declared}
        cleaner = RabbitTransport(URL, exchange=exchange)
        await cleaner.start()
        await cleaner.delete_namespace(sorted(declared))
        await cleaner.close()
        for transport in made:
            await transport.close()
