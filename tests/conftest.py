"""Shared test helpers: servers the integration tests need."""

from portside.testing.servers import require_server

__all__ = ["require_server"]
