"""Servers an integration test needs: skip when one is unreachable, or fail when the run
demands every server (``PORTSIDE_REQUIRE_SERVICES=1``, as CI sets it)."""

from __future__ import annotations

import os
import socket

import pytest

__all__ = ["REQUIRE_SERVICES", "require_server"]

#: The environment variable that turns an unreachable server from a skip into a failure.
REQUIRE_SERVICES = "PORTSIDE_REQUIRE_SERVICES"


def require_server(name: str, host: str, port: int) -> None:
    """Skip (or, with ``PORTSIDE_REQUIRE_SERVICES=1``, fail) when the server is unreachable."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        message = f"{name} at {host}:{port} is unreachable ({exc})"
        if os.environ.get(REQUIRE_SERVICES) == "1":
            pytest.fail(f"{message} and {REQUIRE_SERVICES}=1", pytrace=False)
        pytest.skip(message)
