"""The gRPC entry adapter: a ``grpc.aio`` server per service, one DI scope per call.

```python
class UserServicer:
    async def GetUser(self, request, context, get_user: Inject[GetUser]):
        return to_message(await get_user(request.id))   # resolved in the call's scope

module.add_singleton(UserServicer)
module.add_singleton(
    GrpcService,
    instance=GrpcService(users_pb2_grpc.add_UserServiceServicer_to_server, UserServicer),
)
service = Service("users", modules=[module], requires=["storage", "grpc"])
```

``[grpc]`` (or ``[services.<name>.grpc]``) sets the address and the limits. Errors map to
status codes as HTTP maps them to responses (invalid input is INVALID_ARGUMENT with
``google.rpc.BadRequest`` details); ``grpc.health.v1`` follows the host's readiness.

The names backed by grpcio are imported on first use, so that loading the provider (the
registry loads every installed one) and declaring services cost nothing and work without
the ``grpc`` extra; using them without it fails with the command that installs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from portside.di import Inject

from ._metadata import CORRELATION_KEY, correlation_id_from
from ._service import GrpcService
from ._settings import GrpcSettings

if TYPE_CHECKING:
    from ._calls import ScopedCalls
    from ._health import HealthService
    from ._server import GrpcServer
    from ._status import failure_status

__all__ = [
    "CORRELATION_KEY",
    "GrpcServer",
    "GrpcService",
    "GrpcSettings",
    "HealthService",
    "Inject",
    "ScopedCalls",
    "correlation_id_from",
    "failure_status",
]

_LAZY = {
    "GrpcServer": "._server",
    "HealthService": "._health",
    "ScopedCalls": "._calls",
    "failure_status": "._status",
}
# The top-level packages of the ``grpc`` extra (google.rpc comes with grpcio-status).
_DRIVERS = frozenset({"grpc", "grpc_health", "grpc_reflection", "grpc_status", "google"})


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name, __name__)
    except ImportError as exc:
        package = (exc.name or "").partition(".")[0]
        if package not in _DRIVERS:
            raise
        raise ImportError(
            f"portside.grpc needs the grpc extra ({package} is not installed): "
            "pip install 'portside[grpc]'",
            name=exc.name,
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value
