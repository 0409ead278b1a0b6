"""``[http]`` settings. This module imports no web framework: the provider registry reads
it to validate the section whether or not the ``http`` extra is installed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HttpSettings"]


class HttpSettings(BaseModel):
    """Where a service listens for HTTP and the limits every request runs under."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    """0 picks a free port (the bound address is logged in the start-up line)."""
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    """Larger request bodies are refused with 413 before the handler runs."""
    request_timeout: float = Field(default=30.0, gt=0)
    """Seconds a request may take; a slower one is cancelled and answered with 504."""
    grace: float = Field(default=10.0, gt=0)
    """Seconds responses in progress may take to finish when the service stops."""
    docs: bool = True
    """Serve ``/docs`` (Swagger UI); ``/openapi.json`` is always served."""
    access_log: bool = False
    telemetry: bool = False
    """FastAPI's own OpenTelemetry instrumentation of each request (a server span, the
    ``http.server`` metrics, validation and error logs), sent to the global OpenTelemetry
    providers. Off unless set: when on, FastAPI looks the three global providers up on
    every request, configured or not (about 32,000 instructions, several microseconds, per
    request; ``benchmarks/http_bench.py`` counts it)."""
    backlog: int = Field(default=2048, ge=1)
