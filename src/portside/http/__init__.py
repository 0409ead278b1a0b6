"""The HTTP entry adapter: FastAPI served by uvicorn, one DI scope per request.

```python
router = APIRouter()

@router.get("/users/{user_id}")
async def get_user(user_id: str, get: Inject[GetUser]) -> UserOut:
    return UserOut.of(await get(user_id))

module.add_singleton(Routes, instance=Routes(router))
service = Service("users", modules=[module], requires=["storage", "http"])
```

``[http]`` (or ``[services.<name>.http]``) sets the address and the limits. Errors are
``application/problem+json``; ``/health/live`` and ``/health/ready`` come from the host.
"""

try:
    import fastapi as _fastapi  # noqa: F401 - only checks that the extra is installed
    import uvicorn as _uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError(
        f"portside.http needs FastAPI and uvicorn ({exc.name} is missing): "
        "pip install 'portside[http]'"
    ) from exc

from ._app import HEALTH_LIVE, HEALTH_READY, build_app
from ._inject import Inject, request_scope
from ._middleware import CORRELATION_HEADER, correlation_id_from
from ._openapi import problem_responses
from ._problems import PROBLEM_JSON, problem
from ._routes import Routes
from ._server import HttpServer
from ._settings import HttpSettings

__all__ = [
    "CORRELATION_HEADER",
    "HEALTH_LIVE",
    "HEALTH_READY",
    "PROBLEM_JSON",
    "HttpServer",
    "HttpSettings",
    "Inject",
    "Routes",
    "build_app",
    "correlation_id_from",
    "problem",
    "problem_responses",
    "request_scope",
]
