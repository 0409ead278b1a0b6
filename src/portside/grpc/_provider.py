"""The ``grpc`` concern's provider, as its entry point names it. This module imports no gRPC
package; the module factory does, when a service requires ``grpc``."""

# No ``from __future__ import annotations``: the factory below is annotated with a class
# imported inside the function, and the container reads those annotations.
from portside.config import Provider
from portside.di import Module

from ._settings import GrpcSettings

__all__ = ["grpc_module", "provider"]


def grpc_module(settings: GrpcSettings) -> Module:
    """The module the provider contributes to a service that requires ``grpc``: its server,
    built when the service starts."""
    from portside.host import Startup

    from ._server import GrpcServer

    def startup(server: GrpcServer) -> Startup:
        return server

    module = Module("grpc.grpcio")
    module.add_singleton(GrpcServer)
    module.add_singleton(Startup, factory=startup)
    return module


provider = Provider(
    "grpc",
    "grpcio",
    grpc_module,
    GrpcSettings,
    extra="grpc",
    requires=("grpc", "grpc_health", "grpc_reflection", "grpc_status"),
    default=True,
    description="grpc.aio server with health and reflection",
)
