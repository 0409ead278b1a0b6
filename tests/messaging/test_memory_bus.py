"""The in-memory broker passes the messaging conformance suite."""

import pytest

from portside.messaging.memory import MemoryBroker, MemoryTransport
from portside.testing.messaging import BusContract


class TestMemoryBroker(BusContract):
    @pytest.fixture
    def new_transport(self):  # type: ignore[no-untyped-def]
        broker = MemoryBroker()

        async def new() -> MemoryTransport:
            transport = MemoryTransport(broker)
            await transport.start()
            return transport

        return new
