"""Shared test helpers: servers the integration tests need."""

import os
import socket

import pytest


def require_server(name: str, host: str, port: int) -> None:
    """Skip (or, with PORTSIDE_REQUIRE_SERVICES=1, fail) when the server is unreachable."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        message = f"{name} at {host}:{port} is unreachable ({exc})"
        if os.environ.get("PORTSIDE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} and PORTSIDE_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
