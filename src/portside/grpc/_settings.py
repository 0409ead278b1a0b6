"""``[grpc]`` settings. This module imports no gRPC package: the provider registry reads it
to validate the section whether or not the ``grpc`` extra is installed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GrpcSettings"]


class GrpcSettings(BaseModel):
    """Where a service listens for gRPC and the limits every call runs under."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=50051, ge=0, le=65535)
    """0 picks a free port (the bound address is logged in the start-up line)."""
    grace: float = Field(default=10.0, ge=0)
    """Seconds calls still running when the server stops may take before they are cancelled
    (the host drains tracked calls before that, within its ``shutdown_timeout``)."""
    reflection: bool = True
    """Serve server reflection, so tools such as grpcurl can list and describe services."""
    max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1)
    """Largest message received or sent; a larger one fails with RESOURCE_EXHAUSTED."""
    call_timeout: float = Field(default=30.0, gt=0)
    """Seconds a call may take on the server; a slower one is cancelled with
    DEADLINE_EXCEEDED whatever deadline the client set."""
