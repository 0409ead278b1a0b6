"""``Inject[T]``: a route parameter resolved from the request's DI scope.

```python
@router.get("/users/{user_id}")
async def get_user(user_id: str, get: Inject[GetUser]) -> UserOut: ...
```

``Inject[T]`` is ``Annotated[T, Depends(resolver)]`` with one resolver per type, made once;
FastAPI reads the signature when the route is declared, and a request only runs
``scope.aget(T)`` on the scope the middleware opened for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends
from starlette.requests import HTTPConnection

from portside.di import Scope

__all__ = ["SCOPE_KEY", "Inject", "request_scope"]

T = TypeVar("T")

#: Where the middleware keeps the request's DI scope in the ASGI scope.
SCOPE_KEY = "portside.scope"


def request_scope(connection: HTTPConnection) -> Scope:
    """The DI scope of the request being served."""
    try:
        scope: Scope = connection.scope[SCOPE_KEY]
    except KeyError:
        raise RuntimeError(
            "no DI scope on this request: the app must be built with portside.http.build_app"
        ) from None
    return scope


_resolvers: dict[Any, Callable[[HTTPConnection], Awaitable[Any]]] = {}


def _resolver(service: Any) -> Callable[[HTTPConnection], Awaitable[Any]]:
    resolver = _resolvers.get(service)
    if resolver is None:

        async def resolve(connection: HTTPConnection) -> Any:
            return await request_scope(connection).aget(service)

        resolve.__name__ = f"inject_{getattr(service, '__name__', 'service')}"
        resolver = _resolvers.setdefault(service, resolve)
    return resolver


if TYPE_CHECKING:
    Inject = Annotated[T, "resolved from the request's DI scope"]
else:

    class Inject:
        """``Inject[T]``: resolve ``T`` from the request's DI scope."""

        __slots__ = ()

        def __class_getitem__(cls, service: Any) -> Any:
            return Annotated[service, Depends(_resolver(service))]
