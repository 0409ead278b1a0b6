"""The declaration of a gRPC service a portside service serves. It imports no gRPC package,
so a module can declare its services before the extra is even checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["GrpcService"]


@dataclass(frozen=True)
class GrpcService:
    """A gRPC service, declared in a service's module::

        module.add_singleton(UserServicer)
        module.add_singleton(
            GrpcService,
            instance=GrpcService(users_pb2_grpc.add_UserServiceServicer_to_server, UserServicer),
        )

    ``register`` is the generated ``add_<Name>Servicer_to_server`` function. ``servicer`` is
    the class resolved from each call's DI scope. Its methods receive their ``Inject[T]``
    parameters from that scope, so it can be a singleton; a servicer that takes per-call
    services (a unit of work, say) in ``__init__`` is registered scoped instead. ``name`` is
    the fully-qualified service name (``users.v1.UserService``); when omitted it is read
    from what ``register`` registers.
    """

    register: Callable[[Any, Any], object]
    servicer: type
    name: str | None = None
